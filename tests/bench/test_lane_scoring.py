"""Scoring of the lane benchmark on a hand-made vehicle: captures, false confirmations, distractors."""

from __future__ import annotations

from tests.lane.fakes import gallery, template

from bioexit.bench.lane import Predicted, SystemRun, Tally, VehicleTruth, face_under


def _truth() -> VehicleTruth:
    face = {"visible": 1.0, "truncated": False, "landmarks": None}
    frames = {
        0: [
            {**face, "kind": "occupant", "ref": 0, "box": [100, 100, 150, 160]},
            {**face, "kind": "occupant", "ref": 1, "box": [300, 100, 350, 160]},
            {**face, "kind": "shirt_print", "ref": 0, "box": [110, 250, 135, 280]},
            {**face, "kind": "poster", "ref": 1, "box": [800, 50, 860, 120]},
        ]
    }
    occupants = [
        {"index": 0, "person_id": "person-0", "row": 1},
        {"index": 1, "person_id": "person-1", "row": 2},
    ]
    distractors = [{"index": 0, "kind": "shirt_print"}, {"index": 1, "kind": "poster"}]
    return VehicleTruth("veh", occupants, distractors, frames, {0: {"none"}, 1: {"hat"}})


def test_tally_counts_captures_confirmations_and_distractors() -> None:
    refs = gallery(3)
    documents = {subject: entry for entry, subject in refs.subjects.items()}
    run = SystemRun(
        predicted=[
            # Occupant 0, captured and rightly confirmed.
            Predicted(
                [(0, (102, 102, 148, 158))], [(0, (102, 102, 148, 158))], "confirmed", "person-0", template(0)
            ),
            # Occupant 1, seen but never captured.
            Predicted([(0, (301, 99, 349, 161))], [], "not_captured", None, None),
            # The poster taken for an occupant and confirmed as person 2: a false confirmation.
            Predicted(
                [(0, (805, 55, 855, 115))], [(0, (805, 55, 855, 115))], "confirmed", "person-2", template(2)
            ),
        ],
        seconds=0.5,
        occupant_count=3,
    )
    tally = Tally()
    tally.add(_truth(), run, refs, documents)
    report = tally.report(threshold_1e3=0.5)
    assert report["vehicles"] == 1
    assert report["all_occupants_captured_rate"] == 0.0
    assert report["occupant_fta_rate"] == 0.5
    assert report["occupant_count_accuracy"] == 0.0
    assert report["false_confirmations"] == 1 and report["correct_confirmations"] == 1
    assert report["distractors"] == {"poster": [1, 1], "shirt_print": [0, 1]}
    assert report["distractors_accepted_rate"] == 0.5
    assert report["by_row"] == {
        "1": {"occupants": 1, "captured_rate": 1.0},
        "2": {"occupants": 1, "captured_rate": 0.0},
    }
    assert report["by_degradation"]["hat"] == {"occupants": 1, "captured_rate": 0.0}
    assert report["fnmr_at_fmr_0.001"] == 0.0  # occupant 0's template matches its own document
    assert report["seconds_per_vehicle"] == {"p50": 0.5, "p95": 0.5}
    assert report["seconds_per_vehicle_by_frames"] == {"1-6": {"vehicles": 1, "p50": 0.5, "p95": 0.5}}
    assert report["all_occupants_confirmed_rate"] == 0.0
    assert report["eyes_visible"] == {"vehicles": 1, "all_occupants_captured_rate": 0.0}


def test_a_vehicle_is_cleared_only_with_every_occupant_right_and_nothing_else_found() -> None:
    refs = gallery(3)
    documents = {subject: entry for entry, subject in refs.subjects.items()}
    boxes = [("person-0", (102, 102, 148, 158)), ("person-1", (301, 99, 349, 161))]
    right = [Predicted([(0, b)], [(0, b)], "confirmed", who, template(k)) for k, (who, b) in enumerate(boxes)]
    on_poster = (805, 55, 855, 115)
    poster = Predicted([(0, on_poster)], [(0, on_poster)], "confirmed", "person-2", template(2))
    tally = Tally()
    tally.add(_truth(), SystemRun(right, 0.2, 2), refs, documents)
    tally.add(_truth(), SystemRun([*right, poster], 0.4, 3), refs, documents)  # one false confirmation
    tally.add(_truth(), SystemRun(right[:1], 0.3, 1), refs, documents)  # occupant 1 missed
    duplicate = Predicted([(0, (103, 101, 147, 157))], [], "not_captured", None, None)
    tally.add(_truth(), SystemRun([*right, duplicate], 0.3, 3), refs, documents)  # left for an officer
    shades = _truth()
    shades.occupants[1]["sunglasses"] = True
    tally.add(shades, SystemRun(right[:1], 0.3, 1), refs, documents)  # not counted under eyes_visible
    report = tally.report(threshold_1e3=0.5)
    assert report["all_occupants_confirmed_rate"] == 0.2
    assert report["all_occupants_captured_rate"] == 0.6
    assert report["eyes_visible"] == {"vehicles": 4, "all_occupants_captured_rate": 0.75}


def test_a_box_shows_the_visible_face_not_one_hidden_behind_it() -> None:
    # A dog's head wholly behind the driver's head has nearly the same box, and a closer centre.
    driver = {"kind": "occupant", "ref": 0, "box": [1257, 766, 1374, 931], "visible": 0.878}
    dog = {"kind": "dog", "ref": 0, "box": [1272, 807, 1362, 914], "visible": 0.0}
    truth = VehicleTruth("veh", [], [], {3: [dog, driver]}, {})
    assert face_under(truth, 3, (1255, 777, 1372, 933)) == ("occupant", 0)
    # Alone under the box, a hidden face is still what the box is nearest to.
    alone = VehicleTruth("veh", [], [], {3: [dog]}, {})
    assert face_under(alone, 3, (1255, 777, 1372, 933)) == ("dog", 0)
    assert face_under(alone, 3, (100, 100, 150, 150)) is None
