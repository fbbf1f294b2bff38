"""YuNet via ONNX Runtime: the pin, lazy loading, and detection on real photos.

Uses the three shared YuNet graphs (``../shared/models/yunet``); skips where absent.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from bioexit.detection import yunet
from bioexit.detection.types import Detection
from bioexit.detection.yunet import YunetOnnxDetector, tile_starts
from bioexit.errors import ModelFileError, UnsupportedImageError
from bioexit.modelfiles import sha256_of
from bioexit.settings import YunetOnnxDetectorConfig

FILES = (
    "face_detection_yunet_2023mar.onnx",  # fixed 640×640 input: tiled
    "yunet_s_dynamic.onnx",
    "yunet_n_dynamic.onnx",
)
FRAME_H, FRAME_W = 1080, 1920
_SHA_CACHE: dict[Path, str] = {}


def _config(path: Path, **overrides: object) -> YunetOnnxDetectorConfig:
    if path not in _SHA_CACHE:
        _SHA_CACHE[path] = sha256_of(path)
    values: dict[str, object] = {"path": path, "sha256": _SHA_CACHE[path], **overrides}
    return YunetOnnxDetectorConfig.model_validate(values)


def _load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _box(d: Detection) -> tuple[float, float, float, float]:
    return (d.x1, d.y1, d.x2, d.y2)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def _assert_sane(d: Detection) -> None:
    marks = d.landmarks
    assert marks.shape == (5, 2)
    inside_x = (marks[:, 0] >= d.x1) & (marks[:, 0] <= d.x2)
    inside_y = (marks[:, 1] >= d.y1) & (marks[:, 1] <= d.y2)
    assert np.all(inside_x & inside_y), (_box(d), marks)
    eye_left, eye_right, nose, mouth_left, mouth_right = marks
    assert eye_left[0] < eye_right[0]
    assert mouth_left[0] < mouth_right[0]
    assert max(eye_left[1], eye_right[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


@pytest.fixture(scope="module", params=FILES)
def model_path(request: pytest.FixtureRequest, shared_models: Path) -> Path:
    path = shared_models / "yunet" / request.param
    if not path.is_file():
        pytest.skip(f"shared YuNet file absent: {path}")
    return path


@pytest.fixture(scope="module")
def detector(model_path: Path) -> YunetOnnxDetector:
    return YunetOnnxDetector(_config(model_path, upscale=2.0))


@pytest.fixture(scope="module")
def first_photos(faces_dir: Path) -> list[Path]:
    with (faces_dir / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [faces_dir / row["path"] for row in rows[:4]]


@pytest.fixture(scope="module")
def face_crop(first_photos: list[Path], detector: YunetOnnxDetector) -> tuple[np.ndarray, float, float]:
    """A real face centred in a crop twice its larger side; the face box's width and height."""
    image = _load_rgb(first_photos[1])
    face = detector.detect(image)[0]
    side = round(max(face.width, face.height))
    padded = np.pad(image, ((side, side), (side, side), (0, 0)), constant_values=128)
    cx, cy = round((face.x1 + face.x2) / 2) + side, round((face.y1 + face.y2) / 2) + side
    crop = padded[cy - side : cy + side, cx - side : cx + side]
    return crop, face.width, face.height


def _paste(
    frame: np.ndarray,
    face_crop: tuple[np.ndarray, float, float],
    width: float,
    centre: tuple[int, int],
) -> tuple[float, float, float, float]:
    """Paste the crop scaled so the face is ``width`` px wide at ``centre``; its expected box."""
    crop, face_w, face_h = face_crop
    k = width / face_w
    small = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    x0, y0 = centre[0] - w // 2, centre[1] - h // 2
    frame[y0 : y0 + h, x0 : x0 + w] = small
    cx, cy = x0 + w / 2, y0 + h / 2
    return (cx - width / 2, cy - face_h * k / 2, cx + width / 2, cy + face_h * k / 2)


# --- no model needed -----------------------------------------------------------------------


def test_name_uses_file_stem(tmp_path: Path) -> None:
    det = YunetOnnxDetector(_config_fake(tmp_path / "yunet_s_dynamic.onnx"))
    assert det.name == "yunet-onnx:yunet_s_dynamic"


def _config_fake(path: Path) -> YunetOnnxDetectorConfig:
    return YunetOnnxDetectorConfig(path=path, sha256="0" * 64)


def test_missing_file_raises_on_first_use_not_before(tmp_path: Path) -> None:
    det = YunetOnnxDetector(_config_fake(tmp_path / "absent.onnx"))  # lazy: no error yet
    with pytest.raises(ModelFileError, match="not found"):
        det.detect(np.zeros((64, 64, 3), np.uint8))


def test_not_an_onnx_graph(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"this is not a protobuf")
    det = YunetOnnxDetector(_config(path))
    with pytest.raises(ModelFileError, match="cannot load"):
        det.load()


def test_rejects_non_rgb_arrays(tmp_path: Path) -> None:
    det = YunetOnnxDetector(_config_fake(tmp_path / "absent.onnx"))
    with pytest.raises(UnsupportedImageError):
        det.detect(np.zeros((64, 64), np.uint8))
    with pytest.raises(UnsupportedImageError):
        det.detect(np.zeros((64, 64, 3), np.float32))


def test_tiles_cover_with_overlap() -> None:
    assert tile_starts(500, 640, 160) == [0]
    starts = tile_starts(3840, 640, 160)
    assert starts[0] == 0
    assert starts[-1] == 3840 - 640
    assert all(b - a <= 640 - 160 for a, b in itertools.pairwise(starts))


# --- the shared graphs ---------------------------------------------------------------------


def test_wrong_sha256_names_both_hashes(model_path: Path) -> None:
    wrong = "0" * 64
    det = YunetOnnxDetector(_config(model_path, sha256=wrong))
    with pytest.raises(ModelFileError) as info:
        det.detect(np.zeros((64, 64, 3), np.uint8))
    assert wrong in str(info.value)
    assert sha256_of(model_path) in str(info.value)


def test_loads_once(model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    real = yunet.pinned_file

    def counting(path: Path, sha256: str) -> Path:
        calls.append(path)
        return real(path, sha256)

    monkeypatch.setattr(yunet, "pinned_file", counting)
    det = YunetOnnxDetector(_config(model_path, upscale=1.0))
    assert calls == []
    blank = np.full((120, 160, 3), 128, np.uint8)
    assert det.detect(blank) == []
    assert det.detect(blank) == []
    assert calls == [model_path]


def test_fixed_or_dynamic_input(model_path: Path) -> None:
    det = YunetOnnxDetector(_config(model_path))
    expected = (640, 640) if "2023mar" in model_path.name else None
    assert det.fixed_input_size == expected


@pytest.mark.slow
def test_one_dominant_face_in_labelled_photos(detector: YunetOnnxDetector, first_photos: list[Path]) -> None:
    for path in first_photos:
        found = detector.detect(_load_rgb(path))
        assert found, f"no face in {path}"
        top = found[0]
        assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
        assert top.score > 0.8
        others = [d.width * d.height for d in found[1:]]
        assert all(area < 0.25 * top.width * top.height for area in others), (path, found)
        _assert_sane(top)


@pytest.mark.slow
def test_small_faces_anywhere_in_full_hd_frame(
    detector: YunetOnnxDetector, face_crop: tuple[np.ndarray, float, float]
) -> None:
    """~32 px faces all over a grey 1920×1080 frame, several across tile borders."""
    frame = np.full((FRAME_H, FRAME_W, 3), 128, np.uint8)
    centres = [(x, y) for x in (60, 320, 700, 1000, 1372, 1860) for y in (60, 320, 570, 1020)]
    expected = [_paste(frame, face_crop, 32.0, centre) for centre in centres]
    found = detector.detect(frame)
    assert len(found) == len(centres)
    for want in expected:
        best = max(found, key=lambda d, w=want: _iou(_box(d), w))
        assert _iou(_box(best), want) > 0.5, (want, _box(best))
        _assert_sane(best)


@pytest.mark.slow
def test_32px_face_found_with_upscale_2(model_path: Path, face_crop: tuple[np.ndarray, float, float]) -> None:
    frame = np.full((FRAME_H, FRAME_W, 3), 128, np.uint8)
    want = _paste(frame, face_crop, 32.0, (900, 500))
    found = YunetOnnxDetector(_config(model_path, upscale=2.0)).detect(frame)
    assert len(found) == 1
    assert _iou(_box(found[0]), want) > 0.5
    _assert_sane(found[0])


@pytest.mark.slow
def test_large_face_found_once(
    detector: YunetOnnxDetector, face_crop: tuple[np.ndarray, float, float]
) -> None:
    """A face beyond YuNet's range at upscale 2 is found whole, once, on a coarser level."""
    frame = np.full((FRAME_H, FRAME_W, 3), 128, np.uint8)
    want = _paste(frame, face_crop, 360.0, (960, 540))
    found = detector.detect(frame)
    assert len(found) == 1, [_box(d) for d in found]
    assert _iou(_box(found[0]), want) > 0.5
    _assert_sane(found[0])
