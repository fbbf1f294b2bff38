"""Vehicle plans: counts, rows, seats, distractor and document rates, determinism."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from bioexit.documents.mrz import check_digit
from bioexit.lanesim import EASY, HARD, LaneSimParams
from bioexit.lanesim.scene import SEATS, Person, document_number, plan_vehicle
from bioexit.lanesim.sources import split_cast


def cast(people: int = 20, enrolled_every: int = 6) -> list[Person]:
    rng = np.random.default_rng(3)
    out = []
    for i in range(people):
        enrolled = i % enrolled_every != 0
        out.append(
            Person(
                identity=f"id{i}",
                person_id=f"id{i}",
                enrolled=enrolled,
                probes=(2 * i, 2 * i + 1),
                document_number=document_number(rng) if enrolled else None,
                document_kind="passport" if enrolled else None,
                issuing_state="USA" if enrolled else None,
                citizenship="citizen",
            )
        )
    return out


@pytest.mark.parametrize("params", [EASY, HARD], ids=["easy", "hard"])
def test_occupants_rows_seats_cameras_frames_stay_in_range(params: LaneSimParams) -> None:
    people = cast()
    counts: Counter[int] = Counter()
    for index in range(300):
        plan = plan_vehicle(index, 7, params, people, "t")
        counts[len(plan.occupants)] += 1
        assert 1 <= len(plan.occupants) <= 7
        assert all(1 <= o.row <= plan.rows <= 3 for o in plan.occupants)
        seats = [(o.row, o.seat) for o in plan.occupants]
        assert len(set(seats)) == len(seats) and (1, 0) in seats  # someone drives
        assert len({o.person for o in plan.occupants}) == len(plan.occupants)
        assert 1 <= len(plan.cameras) <= 3 and plan.cameras[0].position == "windshield"
        assert len({c.camera_id for c in plan.cameras}) == len(plan.cameras)
        for camera in range(len(plan.cameras)):
            frames = [f for f in plan.frames if f.camera == camera]
            assert params.frames_per_camera[0] <= len(frames) <= params.frames_per_camera[1]
            distances = [f.distance for f in frames]
            assert distances == sorted(distances, reverse=True)  # approaching
    assert set(counts) == set(range(1, 8))  # every size occurs in 300 vehicles


def test_distractors_and_documents_occur_at_the_stated_rates() -> None:
    people = cast()
    n = 600
    kinds: Counter[str] = Counter()
    with_documents = 0
    for index in range(n):
        plan = plan_vehicle(index, 11, HARD, people, "t")
        kinds.update({d.kind for d in plan.distractors})
        with_documents += plan.documents_included
        inside = {o.person for o in plan.occupants}
        enrolled_inside = {p for p in inside if people[p].enrolled}
        assert len(set(plan.documents)) == len(plan.documents)
        assert all(people[p].enrolled for p in plan.documents)
        if plan.documents_included:
            # All enrolled occupants' documents, at most one missing or one extra.
            assert abs(len(plan.documents) - len(enrolled_inside)) <= 1
            assert len(set(plan.documents) - inside) <= 1
        else:
            assert plan.documents == ()
    # Shirt prints need a front-row occupant (always: the driver); dogs need a free seat.
    expected = {
        "shirt_print": HARD.shirt_print_probability,
        "poster": HARD.poster_probability,
        "bystander": HARD.bystander_probability,
    }
    for kind, rate in expected.items():
        assert abs(kinds[kind] / n - rate) < 0.06, (kind, kinds[kind] / n, rate)
    assert 0 < kinds["dog"] / n <= HARD.dog_probability + 0.04
    assert abs(with_documents / n - HARD.documents_probability) < 0.06


def test_a_plan_depends_only_on_seed_and_index() -> None:
    people = cast()
    assert plan_vehicle(5, 1, HARD, people, "t") == plan_vehicle(5, 1, HARD, people, "t")
    assert plan_vehicle(5, 1, HARD, people, "t") != plan_vehicle(5, 2, HARD, people, "t")
    assert plan_vehicle(5, 1, HARD, people, "t") != plan_vehicle(6, 1, HARD, people, "t")


def test_document_numbers_are_format_valid() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        number = document_number(rng)
        assert len(number) == 9 and number.isalnum() and number.upper() == number
        assert int(number[-1]) == check_digit(number[:-1])


def test_rear_seats_are_behind_the_front_ones() -> None:
    for (row, _seat), (_x, depth) in SEATS.items():
        assert depth == pytest.approx(2.2 + 0.9 * (row - 1))


def test_split_sets_aside_one_document_photo_and_leaves_some_people_out() -> None:
    photos = {f"p{i}": [f"p{i}/{k}.jpg" for k in range(1 if i == 0 else 4)] for i in range(20)}
    split = split_cast(photos, np.random.default_rng(0))
    assert "p0" not in split.enrolled  # a single photo can only be a probe
    assert len(split.enrolled) == 17  # 15 % of 20 left out
    for identity, doc in split.documents.items():
        assert doc not in split.probes[identity]
        assert len(split.probes[identity]) == 3
    for identity in set(photos) - split.enrolled:
        assert len(split.probes[identity]) == len(photos[identity])
    again = split_cast(photos, np.random.default_rng(0))
    assert again == split


def test_params_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="hat_probability"):
        replace(EASY, hat_probability=1.5)
    with pytest.raises(ValueError, match="noise_sigma"):
        replace(EASY, noise_sigma=(5.0, 1.0))
    with pytest.raises(ValueError, match="occupant_weights"):
        replace(EASY, occupant_weights=(1.0, 1.0))


@pytest.mark.parametrize("params", [EASY, HARD], ids=["easy", "hard"])
def test_the_windshield_camera_stands_beside_the_lane_above_the_heads_looking_at_the_cabin(
    params: LaneSimParams,
) -> None:
    people = cast()
    for index in range(50):
        plan = plan_vehicle(index, 5, params, people, "t")
        camera = plan.cameras[0]
        x, height, _z = camera.origin
        assert params.windshield_offset_m[0] - 0.05 <= x <= params.windshield_offset_m[1] + 0.05
        assert params.windshield_height_m[0] <= height <= params.windshield_height_m[1]
        assert camera.pitch > 0 and camera.yaw < 0  # tilted down, turned towards the lane
        # A seated head in the middle of the approach lands in the frame, and at the nearest
        # frame a rear passenger's head appears above the head in front of it.
        mid = plan.frames[len([f for f in plan.frames if f.camera == 0]) // 2]
        u, v, _ = camera.project((mid.lateral, 1.2, mid.distance + 2.7))
        assert 0 <= u < 1920 and 0 <= v < 1080
        last = max((f for f in plan.frames if f.camera == 0), key=lambda f: f.index)
        front = camera.project((last.lateral + 0.37, 1.15, last.distance + 2.2))
        rear = camera.project((last.lateral + 0.45, 1.19, last.distance + 3.1))
        assert rear[1] < front[1]


def test_moving_the_windshield_camera_changes_nothing_else_about_a_vehicle() -> None:
    people = cast()
    moved = replace(HARD, windshield_height_m=(2.5, 2.6), windshield_offset_m=(0.0, 0.0))
    for index in range(20):
        a, b = plan_vehicle(index, 9, HARD, people, "t"), plan_vehicle(index, 9, moved, people, "t")
        assert a.occupants == b.occupants and a.distractors == b.distractors and a.frames == b.frames
        assert a.cameras[0].origin != b.cameras[0].origin
        assert a.cameras[1:] == b.cameras[1:]


def test_a_difficulty_is_easy_or_hard() -> None:
    from bioexit.errors import ConfigError
    from bioexit.lanesim.params import difficulty_named

    assert difficulty_named("easy") == "easy" and difficulty_named("hard") == "hard"
    with pytest.raises(ConfigError, match="easy or hard"):
        difficulty_named("Hard")
