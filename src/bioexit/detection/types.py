"""What every detector returns: boxes, scores and five landmarks, in frame pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

RGBImage = npt.NDArray[np.uint8]
"""An H×W×3 uint8 array in RGB order, as produced by :mod:`bioexit.imaging`."""

LANDMARK_NAMES = ("eye_left", "eye_right", "nose", "mouth_left", "mouth_right")
"""Landmark order: left and right as seen in the image (not the subject's own left)."""


@dataclass(frozen=True, slots=True)
class Detection:
    """One face in one image.

    ``landmarks`` is a read-only 5×2 float32 array in :data:`LANDMARK_NAMES` order.
    """

    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    landmarks: npt.NDArray[np.float32]

    def __post_init__(self) -> None:
        marks = np.array(self.landmarks, dtype=np.float32).reshape(5, 2)
        marks.setflags(write=False)
        object.__setattr__(self, "landmarks", marks)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def eye_distance(self) -> float:
        left, right = self.landmarks[0], self.landmarks[1]
        return float(np.hypot(*(right - left)))


class Detector(Protocol):
    """Finds faces in an RGB image. Implementations load their model lazily, once."""

    @property
    def name(self) -> str: ...

    def detect(self, image: RGBImage) -> list[Detection]:
        """Return every face found, highest score first."""
        ...
