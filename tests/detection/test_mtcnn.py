from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from bioexit.bench.dataset import load_dataset, read_dataset_image
from bioexit.detection.mtcnn import MtcnnDetector
from bioexit.settings import ImageLimits, MtcnnDetectorConfig


def test_pyramid_starts_where_the_smallest_face_fills_the_12px_cell() -> None:
    detector = MtcnnDetector(MtcnnDetectorConfig(min_face_px=24))
    scales = detector.scales(1080, 1920)
    assert scales[0] == pytest.approx(0.5)
    assert all(b == pytest.approx(a * 0.709) for a, b in itertools.pairwise(scales))
    assert 1080 * scales[-1] >= 12 > 1080 * scales[-1] * 0.709


def test_blank_frame_has_no_faces() -> None:
    assert MtcnnDetector().detect(np.full((540, 960, 3), 127, np.uint8)) == []


def test_finds_each_face_with_ordered_landmarks(faces_dir: Path) -> None:
    dataset = load_dataset(faces_dir)
    detector = MtcnnDetector()
    for item in dataset.images[:5]:
        image = read_dataset_image(item.path, ImageLimits())
        found = detector.detect(image)
        assert found, item.path
        face = max(found, key=lambda d: d.width)
        left, right, nose, mouth_left, mouth_right = face.landmarks
        assert left[0] < right[0] and mouth_left[0] < mouth_right[0]
        assert max(left[1], right[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
        assert face.x1 <= nose[0] <= face.x2 and face.y1 <= nose[1] <= face.y2
        assert 0.9 < face.score <= 1.0


def test_every_portrait_of_a_collage(faces_dir: Path) -> None:
    # 24 portraits, plus a blurred photographer in one background that some pyramids catch.
    image = read_dataset_image(faces_dir / "groups" / "bald_guys.jpg", ImageLimits())
    found = MtcnnDetector().detect(image)
    assert 24 <= len(found) <= 25
    assert sum(d.width > 60 for d in found) == 24
