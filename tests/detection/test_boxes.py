from __future__ import annotations

import numpy as np
import pytest

from bioexit.detection.boxes import nms, require_rgb
from bioexit.errors import EmptyImageError, UnsupportedImageError


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.5, 0.9, 0.7], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms(boxes[:0], scores[:0], 0.5).size == 0


def test_nms_drops_overlaps_and_face_parts() -> None:
    boxes = np.array([[0, 0, 100, 100], [5, 5, 105, 105], [20, 20, 50, 50], [200, 0, 300, 100]], np.float32)
    scores = np.array([0.9, 0.8, 0.95, 0.7], np.float32)
    assert nms(boxes, scores, 0.3).tolist() == [2, 0, 3]
    assert nms(boxes, scores, 0.3, containment=0.65).tolist() == [2, 3]


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (np.zeros((10, 10), np.uint8), UnsupportedImageError),
        (np.zeros((10, 10, 3), np.float32), UnsupportedImageError),
        (np.zeros((0, 10, 3), np.uint8), EmptyImageError),
        ([[0, 0, 0]], UnsupportedImageError),
    ],
)
def test_require_rgb_refuses_what_detectors_cannot_use(image: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="expected"):
        require_rgb(image)  # type: ignore[arg-type]
