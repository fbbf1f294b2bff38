"""Where to look for faces: the moving vehicle, found by comparing a camera's frames.

Lane cameras are fixed and the vehicle moves, so the pixels that change between a camera's
frames are the vehicle's (plus sensor noise, which the downscaling averages away, and glare on
its glass, which is on the vehicle anyway). Each frame's *region* is the bounding box of the
pixels where it differs from the camera's next frame (the last frame: from the one before), at
1/8 scale, after a morphological opening, grown by a margin. Faces are only
looked for in the upper part of that box (:data:`CABIN_FRACTION`), where a vehicle's cabin is.

This is what makes detection affordable: MTCNN's cost grows with the pixels searched for the
smallest faces. It also means that faces which do not move with the vehicle (a poster, a
bystander) are usually never even detected. A camera with one usable frame, or whose changes
cover most of the frame (camera shake, a lighting change), is searched whole.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from bioexit.detection.types import RGBImage

Region = tuple[int, int, int, int]  # x1, y1, x2, y2 in frame pixels

SCALE = 8
"""Frames are compared at 1/SCALE size (240×135 for 1080p)."""

CHANGE_LEVEL = 20.0
"""Grey-level difference (0–255) that counts as a change at 1/8 scale."""

MARGIN = 0.04
"""The region grows by this fraction of the frame's larger side on every side."""

CABIN_FRACTION = 0.8
"""Faces are looked for in the top part of the moving region (the cabin), not the bumper."""

MAX_COVER = 0.7
"""Above this share of the frame, the region is not worth cropping: search the whole frame."""


def _small_grey(image: RGBImage) -> npt.NDArray[np.float32]:
    height, width = image.shape[:2]
    size = (max(width // SCALE, 1), max(height // SCALE, 1))
    # Bilinear, not area averaging: 8× cheaper, and the opening below removes the noise it keeps.
    grey = cv2.cvtColor(cv2.resize(image, size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_RGB2GRAY)
    return np.asarray(grey, dtype=np.float32)


def moving_regions(images: Sequence[RGBImage]) -> list[Region | None]:
    """Per frame of one camera (same size, time order), the region to search, or None for all of it."""
    if len(images) < 2 or len({im.shape for im in images}) != 1:
        return [None] * len(images)
    height, width = images[0].shape[:2]
    small = [_small_grey(im) for im in images]
    kernel = np.ones((3, 3), np.uint8)
    margin = int(MARGIN * max(width, height))
    regions: list[Region | None] = []
    for k in range(len(images)):
        # The next frame (the previous for the last): the vehicle barely moved, so the union of
        # its two positions is only a little larger than where it is now.
        other = small[k + 1] if k + 1 < len(small) else small[k - 1]
        changed = (np.abs(small[k] - other) > CHANGE_LEVEL).astype(np.uint8)
        changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, kernel)
        ys, xs = np.nonzero(changed)
        if len(xs) == 0:
            regions.append(None)
            continue
        x1, x2 = int(xs.min()) * SCALE, int(xs.max() + 1) * SCALE
        y1, y2 = int(ys.min()) * SCALE, int(ys.max() + 1) * SCALE
        y2 = y1 + int(CABIN_FRACTION * (y2 - y1))
        x1, y1 = max(x1 - margin, 0), max(y1 - margin, 0)
        x2, y2 = min(x2 + margin, width), min(y2 + margin, height)
        if (x2 - x1) * (y2 - y1) > MAX_COVER * width * height:
            regions.append(None)
        else:
            regions.append((x1, y1, x2, y2))
    return regions
