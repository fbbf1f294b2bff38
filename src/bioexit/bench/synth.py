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
class Background:
    """A 1920×1080 background and the boxes (x1, y1, x2, y2) of the faces it already shows."""

    image: RGBImage
    faces: tuple[tuple[float, float, float, float], ...]

    def free_cells(self, cell: int, cols: int, rows: int) -> list[int]:
        free = []
        for slot in range(cols * rows):
            x0, y0 = (slot % cols) * cell, (slot // cols) * cell
            if not any(
                x0 < x2 and x1 < x0 + cell and y0 < y2 and y1 < y0 + cell for x1, y1, x2, y2 in self.faces
            ):
                free.append(slot)
        return free


def prepare_background(frame: RGBImage, faces: Sequence[Detection]) -> Background:
    """A 1920×1080 frame and the faces found on it; a 25 % margin around each stays free."""
    margin = 0.25
    return Background(
        frame,
        tuple(
            (
                d.x1 - margin * d.width,
                d.y1 - margin * d.height,
                d.x2 + margin * d.width,
                d.y2 + margin * d.height,
            )
            for d in faces
        ),
    )


@dataclass(frozen=True, slots=True)
class SyntheticFrame:
    image: RGBImage
    faces: tuple[PastedFace, ...]


def cover_frame(background: RGBImage) -> RGBImage:
    """Scale to cover 1920×1080 and crop the centre."""
    h, w = background.shape[:2]
    scale = max(FRAME_W / w, FRAME_H / h)
    resized = cv2.resize(
        background, (round(w * scale) + 1, round(h * scale) + 1), interpolation=cv2.INTER_LINEAR
    )
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
    patch = cv2.warpAffine(image, matrix, (side, side), flags=interpolation, borderMode=cv2.BORDER_REFLECT)
    return np.asarray(patch, dtype=np.uint8)


def _mask(side: int) -> np.ndarray:
    mask = np.zeros((side, side), np.float32)
    cv2.ellipse(mask, (side // 2, side // 2), (int(side * 0.42), int(side * 0.47)), 0, 0, 360, 1.0, -1)
    blur = max(1.0, side * 0.04)
    return cv2.GaussianBlur(mask, (0, 0), blur)[..., None]


def compose_frames(
    faces: Sequence[tuple[RGBImage, Detection]],
    backgrounds: Sequence[Background],
    width: int,
    *,
    faces_per_frame: int,
    rng: np.random.Generator,
) -> list[SyntheticFrame]:
    """Paste every face once at ``width``, up to ``faces_per_frame`` to a frame, in free cells."""
    side = round(CONTEXT * width)
    cell = side + 8
    cols, rows = FRAME_W // cell, FRAME_H // cell
    usable = [(bg, bg.free_cells(cell, cols, rows)) for bg in backgrounds]
    usable = [(bg, free) for bg, free in usable if free]
    if not usable:
        raise ValueError(f"no background has a free {cell}×{cell} cell for {width}px faces")
    frames: list[SyntheticFrame] = []
    start = 0
    while start < len(faces):
        background, free = usable[int(rng.integers(len(usable)))]
        count = min(faces_per_frame, len(free), len(faces) - start)
        frame = background.image.astype(np.float32)
        pasted: list[PastedFace] = []
        for slot, index in zip(
            rng.choice(free, size=count, replace=False), range(start, start + count), strict=True
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
        start += count
    return frames
