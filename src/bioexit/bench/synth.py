"""Synthetic lane-like frames: real faces pasted at a chosen width into 1920×1080 real backgrounds.

A face's width is the width of its reference detection box (the default detector on
the full-resolution photo). We cut a square of twice that width around the box
centre, scale it so the box becomes ``width`` pixels wide, and blend it in with a
feathered elliptical mask so that no rectangular seam helps or hinders a detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from bioexit.detection.types import Detection, RGBImage

FRAME_W, FRAME_H = 1920, 1080
CONTEXT = 2.0  # pasted square side, in face widths


@dataclass(frozen=True, slots=True)
class PastedFace:
    source: int  # index of the face in the caller's list
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    def found_by(self, detection: Detection) -> bool:
        """A hit: the detection's centre lies in the face box and its size is within 2× of it.

        Detectors draw boxes differently (dlib's are tight, YuNet's include the
        forehead), so we do not ask for a high IoU.
        """
        cx = (detection.x1 + detection.x2) / 2
        cy = (detection.y1 + detection.y2) / 2
        ratio = detection.width / self.width
        return self.x1 <= cx <= self.x2 and self.y1 <= cy <= self.y2 and 0.5 <= ratio <= 2.0


@dataclass(frozen=True, slots=True)
class SyntheticFrame:
    image: RGBImage
    faces: tuple[PastedFace, ...]


def cover_frame(background: RGBImage) -> RGBImage:
    """Scale to cover 1920×1080 and crop the centre."""
    h, w = background.shape[:2]
    scale = max(FRAME_W / w, FRAME_H / h)
    resized = cv2.resize(background, (round(w * scale) + 1, round(h * scale) + 1), interpolation=cv2.INTER_LINEAR)
    y0 = (resized.shape[0] - FRAME_H) // 2
    x0 = (resized.shape[1] - FRAME_W) // 2
    return np.ascontiguousarray(resized[y0 : y0 + FRAME_H, x0 : x0 + FRAME_W])


def _face_patch(image: RGBImage, box: Detection, width: int) -> RGBImage:
    cx, cy = (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2
    scale = width / box.width
    side = round(CONTEXT * width)
    # Affine map from the source photo to a side×side patch centred on the face.
    matrix = np.array([[scale, 0, side / 2 - scale * cx], [0, scale, side / 2 - scale * cy]])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(image, matrix, (side, side), flags=interpolation, borderMode=cv2.BORDER_REFLECT)


def _mask(side: int) -> np.ndarray:
    mask = np.zeros((side, side), np.float32)
    cv2.ellipse(mask, (side // 2, side // 2), (int(side * 0.42), int(side * 0.47)), 0, 0, 360, 1.0, -1)
    blur = max(1.0, side * 0.04)
    return cv2.GaussianBlur(mask, (0, 0), blur)[..., None]


def compose_frames(
    faces: Sequence[tuple[RGBImage, Detection]],
    backgrounds: Sequence[RGBImage],
    width: int,
    *,
    faces_per_frame: int,
    rng: np.random.Generator,
) -> list[SyntheticFrame]:
    """Paste every face once at ``width``, ``faces_per_frame`` to a frame, in non-overlapping cells."""
    if not backgrounds:
        raise ValueError("expected at least one background image")
    side = round(CONTEXT * width)
    cell = side + 8
    cols, rows = FRAME_W // cell, FRAME_H // cell
    per_frame = max(1, min(faces_per_frame, cols * rows))
    frames: list[SyntheticFrame] = []
    for start in range(0, len(faces), per_frame):
        background = cover_frame(backgrounds[int(rng.integers(len(backgrounds)))])
        frame = background.astype(np.float32)
        pasted: list[PastedFace] = []
        for slot, index in zip(
            rng.choice(cols * rows, size=min(per_frame, len(faces) - start), replace=False),
            range(start, min(start + per_frame, len(faces))),
            strict=True,
        ):
            image, box = faces[index]
            patch = _face_patch(image, box, width).astype(np.float32)
            alpha = _mask(side)
            x0 = int(slot % cols) * cell + int(rng.integers(0, cell - side + 1))
            y0 = int(slot // cols) * cell + int(rng.integers(0, cell - side + 1))
            region = frame[y0 : y0 + side, x0 : x0 + side]
            frame[y0 : y0 + side, x0 : x0 + side] = alpha * patch + (1 - alpha) * region
            scale = width / box.width
            half_h = box.height * scale / 2
            cx, cy = x0 + side / 2, y0 + side / 2
            pasted.append(PastedFace(index, cx - width / 2, cy - half_h, cx + width / 2, cy + half_h))
        frames.append(SyntheticFrame(np.clip(frame, 0, 255).astype(np.uint8), tuple(pasted)))
    return frames
