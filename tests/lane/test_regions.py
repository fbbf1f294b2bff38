"""Moving regions: where the vehicle changes between frames, and the whole frame otherwise."""

from __future__ import annotations

import numpy as np

from bioexit.lane.regions import CABIN_FRACTION, moving_regions


def _frames(boxes: list[tuple[int, int, int, int]]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    frames = []
    for x1, y1, x2, y2 in boxes:
        frame = np.full((1080, 1920, 3), 120, np.uint8)
        frame += rng.integers(0, 6, frame.shape, dtype=np.uint8)  # sensor noise
        frame[y1:y2, x1:x2] = (40, 40, 200)  # the vehicle
        frames.append(frame)
    return frames


def test_regions_follow_the_vehicle_and_keep_the_cabin() -> None:
    boxes = [(900, 500, 1100, 640), (860, 480, 1140, 680), (800, 450, 1200, 730)]
    regions = moving_regions(_frames(boxes))
    for (x1, y1, x2, y2), region in zip(boxes, regions, strict=True):
        assert region is not None
        rx1, ry1, rx2, ry2 = region
        assert rx1 <= x1 and ry1 <= y1 and rx2 >= x2  # the vehicle's top, left and right are inside
        assert ry2 >= y1 + CABIN_FRACTION * (y2 - y1) - 8
        assert (rx2 - rx1) * (ry2 - ry1) < 0.25 * 1920 * 1080  # far less than the frame


def test_whole_frame_when_nothing_to_compare() -> None:
    (single,) = _frames([(900, 500, 1100, 640)])
    assert moving_regions([single]) == [None]
    still = _frames([(900, 500, 1100, 640)] * 2)
    assert moving_regions(still) == [None, None]
    # Everything changes (a lighting change): not worth cropping.
    dark = (still[1] // 3).astype(np.uint8)
    assert moving_regions([still[0], dark]) == [None, None]
