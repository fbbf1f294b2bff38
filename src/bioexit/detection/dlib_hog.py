"""dlib's HOG + linear SVM frontal face detector, with landmarks from dlib's 5-point predictor.

The detector ships inside dlib; the 5-point shape predictor ships in the
``face_recognition_models`` wheel. That predictor marks the two corners of each eye and
the base of the nose (not its tip). In image coordinates, for the frontal faces the
detector finds, its points are:

    0, 1  outer and inner corner of the eye on the image's right
    2, 3  outer and inner corner of the eye on the image's left
    4     the nose base (subnasale)

(checked on real photos; the tests assert it). Our five landmarks are the two eye centres
(mean of each eye's corners), the nose point as given, and two mouth corners estimated
from the eyes: see :func:`landmarks_from_five_points`.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from bioexit.detection.boxes import require_rgb
from bioexit.detection.types import Detection, RGBImage
from bioexit.errors import ModelFileError
from bioexit.modelfiles import dlib_model_file
from bioexit.settings import DlibHogDetectorConfig

FloatArray = npt.NDArray[np.float32]

# Mouth corners in the eye frame: with M the midpoint of the eye centres, e = eye_right −
# eye_left, and n = e rotated 90° towards the chin (same length), a mouth corner sits at
# M ∓ 0.47·e + 1.03·n. The constants are the means of dlib's 68-point mouth corners
# (points 48 and 54) over the 130 faces of the project's labelled photo set, expressed in
# that frame; the spread is about 0.06–0.09 eye distances. Also using the nose point (for
# pitch or yaw) did not reduce the error, so the estimate rests on the eyes alone. These
# two points are estimates: good enough for similarity alignment and quality checks, not
# for measuring the mouth.
_MOUTH_ACROSS = 0.47
_MOUTH_DOWN = 1.03


def landmarks_from_five_points(points: FloatArray) -> FloatArray:
    """Our 5×2 landmarks (eye_left, eye_right, nose, mouth_left, mouth_right) from dlib's."""
    eye_left = points[2:4].mean(axis=0)
    eye_right = points[0:2].mean(axis=0)
    nose = points[4]
    across = eye_right - eye_left
    down = np.array([-across[1], across[0]], dtype=np.float32)  # +90° in image axes (y down)
    middle = (eye_left + eye_right) / 2.0
    mouth_left = middle - _MOUTH_ACROSS * across + _MOUTH_DOWN * down
    mouth_right = middle + _MOUTH_ACROSS * across + _MOUTH_DOWN * down
    return np.stack([eye_left, eye_right, nose, mouth_left, mouth_right]).astype(np.float32)


class DlibHogDetector:
    """dlib HOG frontal face detector. Loads on first use, once.

    ``Detection.score`` is dlib's SVM margin (``detector.run(..., adjust_threshold=0)``):
    0 or more, larger is surer, not a probability.
    """

    def __init__(self, config: DlibHogDetectorConfig | None = None) -> None:
        self.config = config or DlibHogDetectorConfig()
        self._models: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "dlib-hog"

    def load(self) -> tuple[Any, Any]:
        """The detector and the 5-point shape predictor (built by the first detect anyway)."""
        with self._lock:
            if self._models is None:
                import dlib

                location = str(dlib_model_file("shape_predictor_5_face_landmarks.dat"))
                try:
                    predictor = dlib.shape_predictor(location)
                except RuntimeError as exc:
                    raise ModelFileError(
                        "dlib cannot load its 5-point shape predictor",
                        expected=f"a readable model at {location}",
                        got=str(exc),
                    ) from exc
                self._models = (dlib.get_frontal_face_detector(), predictor)
            return self._models

    def detect(self, image: RGBImage) -> list[Detection]:
        require_rgb(image)
        detector, predictor = self.load()
        pixels = np.ascontiguousarray(image)
        height, width = pixels.shape[:2]
        rects, scores, _ = detector.run(pixels, self.config.upsample, 0.0)
        found = []
        for rect, score in zip(rects, scores, strict=True):
            shape = predictor(pixels, rect)
            points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
            # dlib's right and bottom are inclusive; boxes are clipped to the frame.
            x1 = max(0.0, float(rect.left()))
            y1 = max(0.0, float(rect.top()))
            x2 = min(float(width), float(rect.right() + 1))
            y2 = min(float(height), float(rect.bottom() + 1))
            if x2 <= x1 or y2 <= y1:
                continue
            found.append(
                Detection(
                    x1=x1,
                    y1=y1,
                    x2=x2,
                    y2=y2,
                    score=float(score),
                    landmarks=landmarks_from_five_points(points),
                )
            )
        found.sort(key=lambda d: -d.score)
        return found
