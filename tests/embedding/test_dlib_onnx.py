"""dlib's face ResNet rebuilt in ONNX from its .dat file gives dlib's own descriptors."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from tests.real_faces import real_faces

from bioexit.alignment import DLIB_CHIP_150, align
from bioexit.detection.types import RGBImage
from bioexit.embedding.dlib_onnx import DlibResnetOnnxEmbedder, load_dlib_resnet_onnx
from bioexit.embedding.dlib_resnet import DLIB_RESNET_INFO, DlibResnetEmbedder
from bioexit.embedding.types import Template
from bioexit.errors import ModelFileError

pytest.importorskip("dlib")
face_recognition_models = pytest.importorskip("face_recognition_models")


@pytest.fixture(scope="module")
def onnx_embedder() -> DlibResnetOnnxEmbedder:
    return DlibResnetOnnxEmbedder()


@pytest.fixture(scope="module")
def dlib_embedder() -> DlibResnetEmbedder:
    return DlibResnetEmbedder()


def _assert_same(ours: Sequence[Template], theirs: Sequence[Template]) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert (a.model_id, a.model_version, a.metric) == (b.model_id, b.model_version, b.metric)
        cosine = float(np.dot(a.vector, b.vector) / (np.linalg.norm(a.vector) * np.linalg.norm(b.vector)))
        assert cosine >= 0.9999
        assert float(np.abs(a.vector - b.vector).max()) <= 1e-3


def test_matches_dlib_on_noise(
    onnx_embedder: DlibResnetOnnxEmbedder, dlib_embedder: DlibResnetEmbedder
) -> None:
    rng = np.random.default_rng(7)
    chips = [rng.integers(0, 256, (150, 150, 3), dtype=np.uint8) for _ in range(3)]
    assert onnx_embedder.info == DLIB_RESNET_INFO
    _assert_same(onnx_embedder.embed(chips), dlib_embedder.embed(chips))
    assert onnx_embedder.embed([]) == []


def _ms_per_face(embed: Callable[[list[RGBImage]], object], chips: list[RGBImage], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        embed(chips)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times) / len(chips)


def test_matches_dlib_on_real_faces(
    faces_dir: Path, onnx_embedder: DlibResnetOnnxEmbedder, dlib_embedder: DlibResnetEmbedder
) -> None:
    data = real_faces(faces_dir)
    chips = [
        align(image, box.landmarks, DLIB_CHIP_150)
        for image, box in zip(data.images, data.boxes, strict=True)
        if box is not None
    ][:20]
    assert len(chips) == 20
    ours, theirs = onnx_embedder.embed(chips), dlib_embedder.embed(chips)
    _assert_same(ours, theirs)
    worst = min(
        float(np.dot(a.vector, b.vector) / (np.linalg.norm(a.vector) * np.linalg.norm(b.vector)))
        for a, b in zip(ours, theirs, strict=True)
    )
    diff = max(float(np.abs(a.vector - b.vector).max()) for a, b in zip(ours, theirs, strict=True))
    print(f"\n20 real chips: worst cosine {worst:.8f}, max abs difference {diff:.2e}")
    for name, embedder in (("dlib", dlib_embedder), ("onnx", onnx_embedder)):
        single = _ms_per_face(embedder.embed, chips[:1], runs=7)
        batch = _ms_per_face(embedder.embed, chips[:8], runs=5)
        print(f"{name}: {single:.1f} ms/face single, {batch:.1f} ms/face in a batch of 8")


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    data = Path(face_recognition_models.face_recognition_model_location()).read_bytes()
    for cut in (0, 10, 300, len(data) // 2, len(data) - 1):
        path = tmp_path / "cut.dat"
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="expected"):
            load_dlib_resnet_onnx(path)


def test_trailing_bytes_and_missing_file_are_refused(tmp_path: Path) -> None:
    data = Path(face_recognition_models.face_recognition_model_location()).read_bytes()
    path = tmp_path / "long.dat"
    path.write_bytes(data + b"\x00")
    with pytest.raises(ModelFileError, match="1 bytes more"):
        load_dlib_resnet_onnx(path)
    with pytest.raises(ModelFileError):
        load_dlib_resnet_onnx(tmp_path / "absent.dat")
