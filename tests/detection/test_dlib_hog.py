"""dlib HOG detector with 5-point landmarks, on real photos."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bioexit.detection.dlib_hog import DlibHogDetector, landmarks_from_five_points
from bioexit.detection.types import Detection
from bioexit.errors import UnsupportedImageError
from bioexit.settings import DlibHogDetectorConfig


def _load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.fixture(scope="module")
def detector() -> DlibHogDetector:
    return DlibHogDetector(DlibHogDetectorConfig(upsample=1))


@pytest.fixture(scope="module")
def first_photos(faces_dir: Path) -> list[Path]:
    with (faces_dir / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [faces_dir / row["path"] for row in rows[:4]]


def _assert_sane(d: Detection) -> None:
    eye_left, eye_right, nose, mouth_left, mouth_right = d.landmarks
    assert eye_left[0] < nose[0] < eye_right[0]
    assert mouth_left[0] < mouth_right[0]
    assert max(eye_left[1], eye_right[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    # Eyes and nose are measured and must lie in the box; the mouth is estimated.
    for x, y in d.landmarks[:3]:
        assert d.x1 <= x <= d.x2
        assert d.y1 <= y <= d.y2
    margin = 0.1 * d.width
    for x, y in d.landmarks[3:]:
        assert d.x1 - margin <= x <= d.x2 + margin
        assert d.y1 - margin <= y <= d.y2 + margin


def test_mouth_estimate_follows_the_eyes() -> None:
    # dlib order: right-hand eye (outer, inner), left-hand eye (outer, inner), nose base.
    points = np.array([[11, 0], [9, 0], [-1, 0], [1, 0], [5, 7]], np.float32)
    marks = landmarks_from_five_points(points)
    np.testing.assert_allclose(marks[0], [0, 0])
    np.testing.assert_allclose(marks[1], [10, 0])
    np.testing.assert_allclose(marks[2], [5, 7])
    np.testing.assert_allclose(marks[3], [0.3, 10.3], atol=1e-5)
    np.testing.assert_allclose(marks[4], [9.7, 10.3], atol=1e-5)
    # A face turned 90° (eyes stacked vertically) gets its mouth turned with it.
    turned = landmarks_from_five_points(points[:, ::-1].copy() * np.float32([-1, 1]))
    assert turned[3][0] < turned[0][0]


def test_lazy_and_named() -> None:
    det = DlibHogDetector()
    assert det.name == "dlib-hog"
    assert det.config.upsample == 1
    assert det._models is None


def test_rejects_non_rgb_arrays() -> None:
    with pytest.raises(UnsupportedImageError):
        DlibHogDetector().detect(np.zeros((32, 32, 4), np.uint8))


def test_blank_image_has_no_face(detector: DlibHogDetector) -> None:
    assert detector.detect(np.full((200, 200, 3), 128, np.uint8)) == []


@pytest.mark.slow
def test_finds_the_face_in_labelled_photos(detector: DlibHogDetector, first_photos: list[Path]) -> None:
    for path in first_photos:
        found = detector.detect(_load_rgb(path))
        assert len(found) == 1, (path, found)
        assert found[0].score > 0.0
        assert found[0].width > 40
        _assert_sane(found[0])
    models = detector._models
    detector.detect(np.zeros((50, 50, 3), np.uint8))
    assert detector._models is models  # loaded once


@pytest.mark.slow
def test_several_faces_sorted_and_sane(detector: DlibHogDetector, faces_dir: Path) -> None:
    path = faces_dir / "groups" / "two_people.jpg"
    if not path.is_file():
        pytest.skip(f"group photo absent: {path}")
    found = detector.detect(_load_rgb(path))
    assert len(found) == 2
    assert found[0].score >= found[1].score
    for d in found:
        _assert_sane(d)
