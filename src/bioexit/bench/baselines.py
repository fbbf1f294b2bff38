"""Baselines for the lane benchmark: the ``face_recognition`` package with its defaults.

``face_recognition`` (ageitgey, MIT) is installed by ``scripts/_venv.sh`` with ``--no-deps``:
its declared ``dlib`` requirement would build dlib from source, while the ``dlib-bin`` wheel
bioexit already depends on provides the same ``dlib`` module, and ``face-recognition-models``
is a bioexit dependency. Its ``Click`` requirement serves only its command-line tools.

Defaults, as the package's README uses them: ``face_locations`` with the HOG detector and one
upsampling, ``face_encodings`` (5-point landmarks, one jitter), and ``compare_faces`` with
tolerance 0.6 on the Euclidean distance. Among the gallery entries within tolerance the
nearest wins; none within tolerance is "unknown". Importing the package loads every dlib
model it has, so it is imported on first use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bioexit.detection.types import RGBImage
from bioexit.errors import ConfigError

DEFAULT_TOLERANCE = 0.6


@dataclass(frozen=True, slots=True)
class BaselineFace:
    """One face found by the baseline: its box (x1, y1, x2, y2) and who it says it is (None: unknown)."""

    box: tuple[float, float, float, float]
    identity: str | None
    distance: float | None  # to the nearest gallery entry, None with an empty gallery


def _package() -> Any:
    try:
        import face_recognition
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "the face_recognition baseline is not installed",
            expected="face_recognition 1.3 (scripts/_venv.sh installs it with --no-deps)",
            got=str(exc),
        ) from exc
    return face_recognition


class FaceRecognitionBaseline:
    """``face_recognition`` with its defaults, enrolled with one photo per identity."""

    name = "face_recognition"

    def __init__(self, gallery: Mapping[str, RGBImage], tolerance: float = DEFAULT_TOLERANCE) -> None:
        fr = _package()
        self.tolerance = tolerance
        ids: list[str] = []
        encodings: list[npt.NDArray[np.float64]] = []
        self.not_enrolled: list[str] = []
        for identity, photo in gallery.items():
            found = fr.face_encodings(np.ascontiguousarray(photo))
            if found:
                ids.append(identity)
                encodings.append(np.asarray(found[0], np.float64))
            else:
                self.not_enrolled.append(identity)
        self.ids = tuple(ids)
        self._known = encodings

    def identify(self, frame: RGBImage) -> list[BaselineFace]:
        """Every face the baseline finds in ``frame`` and its identity (nearest within tolerance)."""
        fr = _package()
        image = np.ascontiguousarray(frame)
        locations = fr.face_locations(image)
        encodings = fr.face_encodings(image, locations)
        faces: list[BaselineFace] = []
        for (top, right, bottom, left), encoding in zip(locations, encodings, strict=True):
            identity: str | None = None
            distance: float | None = None
            if self._known:
                matches = fr.compare_faces(self._known, encoding, tolerance=self.tolerance)
                distances = fr.face_distance(self._known, encoding)
                best = int(np.argmin(distances))
                distance = float(distances[best])
                if matches[best]:
                    identity = self.ids[best]
            faces.append(
                BaselineFace((float(left), float(top), float(right), float(bottom)), identity, distance)
            )
        return faces

    def identify_all(self, frames: Sequence[RGBImage]) -> list[list[BaselineFace]]:
        return [self.identify(frame) for frame in frames]
