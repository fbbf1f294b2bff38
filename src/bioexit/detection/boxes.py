"""Helpers shared by the detectors: input checks and non-maximum suppression."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from bioexit.detection.types import RGBImage
from bioexit.errors import EmptyImageError, UnsupportedImageError

FloatArray = npt.NDArray[np.float32]


def require_rgb(image: RGBImage) -> None:
    """Raise a typed error unless ``image`` is a non-empty H×W×3 uint8 array."""
    if not isinstance(image, np.ndarray):
        raise UnsupportedImageError(
            "detect needs a NumPy array", expected="ndarray", got=type(image).__name__
        )
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise UnsupportedImageError(
            "detect needs an RGB image",
            expected="an H×W×3 uint8 array",
            got=f"shape {image.shape}, dtype {image.dtype}",
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise EmptyImageError(
            "detect got an image without pixels", expected="H, W > 0", got=f"shape {image.shape}"
        )


def nms(
    boxes: FloatArray, scores: FloatArray, threshold: float, containment: float = 1.0
) -> npt.NDArray[np.int64]:
    """Indices kept by greedy non-maximum suppression, highest score first.

    A box is suppressed by a better one when their IoU exceeds ``threshold``, or when more
    than ``containment`` of the smaller box's area lies inside the other: a face-sized
    part of a large face (an eye, a cheek) found on a fine level is dropped that way.
    Plain IoU suppression (``containment >= 1``) runs in OpenCV, since detectors hand it
    thousands of boxes per frame.
    """
    if len(boxes) == 0:
        return np.empty(0, dtype=np.int64)
    if containment >= 1.0:
        xywh = np.column_stack([boxes[:, :2], boxes[:, 2:4] - boxes[:, :2]]).astype(np.float64)
        kept = cv2.dnn.NMSBoxes(xywh.tolist(), scores.astype(np.float64).tolist(), 0.0, threshold)
        return np.asarray(kept, dtype=np.int64).reshape(-1)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = np.maximum(0.0, x2 - x1) * np.maximum(0.0, y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        union = area[i] + area[rest] - inter
        smaller = np.minimum(area[i], area[rest])
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        inside = np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)
        order = rest[(iou <= threshold) & (inside <= containment)]
    return np.asarray(keep, dtype=np.int64)
