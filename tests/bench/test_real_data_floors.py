"""Accuracy floors of the default engine on the shared real photos (not timing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.real_faces import real_faces

from bioexit.bench.faces import FacesBenchOptions, backgrounds_from, detection_recall, verification_accuracy
from bioexit.detection.mtcnn import MtcnnDetector
from bioexit.embedding.dlib_onnx import DlibResnetOnnxEmbedder

pytestmark = pytest.mark.slow


def test_every_labelled_image_has_a_face(faces_dir: Path) -> None:
    data = real_faces(faces_dir)
    missed = [
        str(item.path) for item, box in zip(data.dataset.images, data.boxes, strict=True) if box is None
    ]
    assert missed == []
    assert len(data.boxes) == 130


def test_recall_at_least_95_percent_for_faces_24px_and_wider_in_1080p(faces_dir: Path) -> None:
    data = real_faces(faces_dir)
    faces = [(img, box) for img, box in zip(data.images, data.boxes, strict=True) if box is not None]
    options = FacesBenchOptions(widths=(24, 32, 48), faces_per_frame=8, seed=1)
    detector = MtcnnDetector()
    backgrounds = backgrounds_from(data.groups, detector)
    result = detection_recall({"mtcnn": detector}, faces, backgrounds, options)["mtcnn"]
    for width, recall in result["recall_by_width"].items():
        assert recall >= 0.95, f"recall {recall} at width {width}: {result}"
    assert sum(result["faces_per_width"].values()) == 3 * len(faces)


def test_tar_at_far_1e3_over_all_pairs_is_at_least_098(faces_dir: Path) -> None:
    data = real_faces(faces_dir)
    rows = zip(data.images, data.boxes, data.dataset.images, strict=True)
    kept = [(img, box, item.identity) for img, box, item in rows if box is not None]
    result, pairs = verification_accuracy(
        DlibResnetOnnxEmbedder(), [k[0] for k in kept], [k[1] for k in kept], [k[2] for k in kept]
    )
    assert result["tar_at_far"]["0.001"] >= 0.98, result
    assert len(pairs.genuine) + len(pairs.impostor) == len(kept) * (len(kept) - 1) // 2
    assert np.all(np.diff(pairs.impostor) <= 0)
