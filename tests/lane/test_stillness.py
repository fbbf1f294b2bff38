"""Stillness: a face found again at its size near its place in other frames is not on the vehicle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
from tests.lane.fakes import observation

from bioexit.encounters import FrameRef
from bioexit.lane.frames import FrameInput
from bioexit.lane.pipeline import _stillness


def _texture(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 255, (4, 4, 3), dtype=np.uint8)  # face-scale structure, not pixel noise
    return np.asarray(cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC), np.uint8)


Place = tuple[float, float, float]


def _scene(steps: int) -> tuple[list[FrameInput], list[Place], list[Place], Place]:
    """A bystander that sways a few pixels, a face on a vehicle that grows 15 % a frame, and a
    poster that does not move (at a box with fractional corners, as a detector gives)."""
    rng = np.random.default_rng(1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    frames, bystander, occupant = [], [], []
    for step in range(steps):
        image = np.full((600, 900, 3), 110, np.uint8)
        sway = round(4 * np.sin(step * 1.3))
        image[100 : 100 + 50, 100 + sway : 150 + sway] = _texture(50, 7)
        image[400:487, 150:237] = _texture(87, 9)
        bystander.append((125.0 + sway, 125.0, 50.0))
        size = round(50 * 1.15**step)
        x, y = 450 + 30 * step, 300 + 10 * step
        image[y : y + size, x : x + size] = _texture(size, 8)
        occupant.append((x + size / 2, y + size / 2, float(size)))
        noisy = np.clip(image.astype(np.int16) + rng.integers(-4, 5, image.shape), 0, 255).astype(np.uint8)
        ref = FrameRef(
            camera_id="cam", file=f"f{step}.jpg", captured_at=start + timedelta(seconds=0.2 * step)
        )
        frames.append(FrameInput(step, ref, noisy, None))
    return frames, bystander, occupant, (193.4, 443.6, 86.3)


def test_a_swaying_bystander_is_still_and_a_face_on_the_approaching_vehicle_is_not() -> None:
    frames, bystander, occupant, poster = _scene(5)
    still = _stillness({"cam": frames})
    for step in range(5):
        assert (s := still(observation(step, *bystander[step]))) is not None and s >= 0.85
        assert (s := still(observation(step, *occupant[step]))) is not None and s < 0.85
        # What does not move is found again unchanged: every frame is sampled on one grid.
        assert (s := still(observation(step, *poster))) is not None and s >= 0.97
    # Unknown camera, or no frame two steps away: nothing to say.
    assert still(observation(0, *bystander[0], camera="other")) is None
    two = _stillness({"cam": frames[:2]})
    assert two(observation(0, *bystander[0])) is None


def test_a_frame_of_another_size_is_passed_over() -> None:
    frames, bystander, _, poster = _scene(5)
    small = frames[3]
    # Cut just right of the poster's left edge: its window there is narrower than its template.
    frames[3] = FrameInput(small.index, small.ref, np.ascontiguousarray(small.image[:, :181]), None)
    still = _stillness({"cam": frames})
    assert (s := still(observation(0, *poster))) is not None and s >= 0.97
    assert still(observation(1, *bystander[1])) is not None
