from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bioexit.detection.dlib_hog import DlibHogDetector
from bioexit.detection.mtcnn import MtcnnDetector
from bioexit.detection.yunet import YunetOnnxDetector
from bioexit.embedding.arcface_onnx import ArcfaceOnnxEmbedder
from bioexit.embedding.dlib_onnx import DlibResnetOnnxEmbedder
from bioexit.embedding.dlib_resnet import DLIB_RESNET_INFO, DlibResnetEmbedder
from bioexit.engine import FaceEngine, build_matcher, calibration_table
from bioexit.errors import CalibrationError, ConfigError, UnsupportedFMRError
from bioexit.matching import CalibrationTable
from bioexit.settings import load_settings
from tests.embedding.test_embedders import tiny_arcface


def test_backends_are_chosen_by_kind_and_load_nothing_up_front(tmp_path: Path) -> None:
    default = FaceEngine.from_settings(load_settings())
    assert isinstance(default.detector, MtcnnDetector)
    assert isinstance(default.embedder, DlibResnetOnnxEmbedder)
    assert default.detector._sessions is None and default.embedder._session is None  # lazy
    dlib_runtime = FaceEngine.from_settings(
        load_settings(embedder={"kind": "dlib-resnet", "runtime": "dlib"})
    )
    assert isinstance(dlib_runtime.embedder, DlibResnetEmbedder)
    assert dlib_runtime.embedder.info == default.embedder.info  # same model: templates compare
    with pytest.raises(ConfigError, match="expected runtime 'dlib' with jitter 2"):
        load_settings(embedder={"kind": "dlib-resnet", "jitter": 2})
    hog = FaceEngine.from_settings(load_settings(detector={"kind": "dlib-hog"}))
    assert isinstance(hog.detector, DlibHogDetector)
    # A YuNet path that does not exist is fine until the first detection.
    yunet = load_settings(
        detector={"kind": "yunet-onnx", "path": str(tmp_path / "y.onnx"), "sha256": "0" * 64}
    )
    assert isinstance(FaceEngine.from_settings(yunet).detector, YunetOnnxDetector)


def test_default_matcher_uses_the_shipped_table_and_refuses_unbacked_fmrs() -> None:
    settings = load_settings()
    matcher = build_matcher(settings, DLIB_RESNET_INFO)
    assert matcher.fmr == 1e-3
    with pytest.raises(UnsupportedFMRError, match="impostor pairs"):
        build_matcher(settings, DLIB_RESNET_INFO, fmr=1e-5)


def test_an_onnx_embedder_uses_its_configured_calibration_table(tmp_path: Path) -> None:
    model = tmp_path / "tiny.onnx"
    sha = tiny_arcface(model)
    settings = load_settings(
        embedder={"kind": "arcface-onnx", "path": str(model), "sha256": sha, "model_id": "tiny"}
    )
    embedder = FaceEngine.from_settings(settings).embedder
    assert isinstance(embedder, ArcfaceOnnxEmbedder)
    with pytest.raises(CalibrationError, match="no calibration table ships for tiny@1"):
        calibration_table(settings.embedder, embedder.info)

    table_path = tmp_path / "tiny.json"
    scores = np.random.default_rng(0).uniform(-1, 1, 20_000)
    table_path.write_text(CalibrationTable.from_scores(embedder.info, scores).to_json())
    calibrated = load_settings(
        embedder={**settings.embedder.model_dump(mode="json"), "calibration": str(table_path)},
        matching={"fmr": 1e-3},
    )
    matcher = build_matcher(calibrated, embedder.info)
    assert matcher.threshold == pytest.approx(np.sort(scores)[::-1][20], abs=1e-6)

    other = tmp_path / "other.json"
    other.write_text(CalibrationTable.from_scores(DLIB_RESNET_INFO, scores).to_json())
    wrong = load_settings(embedder={**settings.embedder.model_dump(mode="json"), "calibration": str(other)})
    with pytest.raises(CalibrationError, match="expected tiny@1, got dlib-resnet-v1@1"):
        build_matcher(wrong, embedder.info)
