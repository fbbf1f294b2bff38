from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from bioexit.alignment import ARCFACE_112
from bioexit.detection.types import Detection
from bioexit.embedding.arcface_onnx import ArcfaceOnnxEmbedder
from bioexit.embedding.dlib_resnet import DlibResnetEmbedder
from bioexit.engine import FaceEngine
from bioexit.errors import ModelFileError, ModelMismatchError, UnsupportedImageError
from bioexit.fakes import FakeDetector, FakeEmbedder
from bioexit.settings import ArcfaceOnnxEmbedderConfig


def tiny_arcface(path: Path, batch: int | str = "n", size: int = 112) -> str:
    """An ArcFace-shaped ONNX model (n×3×112×112 → n×16): a fixed random projection of pooled pixels."""
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(0).normal(size=(3 * 8 * 8, 16)).astype(np.float32)
    nodes = [
        helper.make_node(
            "AveragePool",
            ["input"],
            ["pooled"],
            kernel_shape=[size // 8, size // 8],
            strides=[size // 8, size // 8],
        ),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "w"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, 16])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return hashlib.sha256(path.read_bytes()).hexdigest()


def chips(n: int, size: int = 112) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(n)]


@pytest.mark.parametrize("batch", ["n", 1])
def test_arcface_onnx_embeds_batches_and_normalises(tmp_path: Path, batch: int | str) -> None:
    path = tmp_path / "tiny.onnx"
    sha = tiny_arcface(path, batch)
    embedder = ArcfaceOnnxEmbedder(ArcfaceOnnxEmbedderConfig(path=path, sha256=sha, model_id="tiny"))
    crops = chips(3)
    templates = embedder.embed(crops)
    assert [t.model_key for t in templates] == ["tiny@1"] * 3
    assert embedder.info.dim == 16 and embedder.info.crop == ARCFACE_112
    for t in templates:
        assert np.linalg.norm(t.vector) == pytest.approx(1.0, abs=1e-5)
    again = embedder.embed(crops[1:2])[0]
    np.testing.assert_allclose(again.vector, templates[1].vector, atol=1e-6)


def test_arcface_onnx_refuses_wrong_pin_missing_file_and_wrong_shapes(tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    sha = tiny_arcface(path)
    wrong = ArcfaceOnnxEmbedder(ArcfaceOnnxEmbedderConfig(path=path, sha256="0" * 64, model_id="tiny"))
    with pytest.raises(ModelFileError, match=f"got {sha}"):
        wrong.embed(chips(1))
    missing = ArcfaceOnnxEmbedder(
        ArcfaceOnnxEmbedderConfig(path=tmp_path / "no.onnx", sha256=sha, model_id="x")
    )
    with pytest.raises(ModelFileError, match="not found"):
        missing.embed(chips(1))
    small = tmp_path / "small.onnx"
    small_sha = tiny_arcface(small, size=64)
    with pytest.raises(ModelFileError, match=r"expected input \(n, 3, 112, 112\)"):
        ArcfaceOnnxEmbedder(ArcfaceOnnxEmbedderConfig(path=small, sha256=small_sha, model_id="s")).embed(
            chips(1)
        )
    good = ArcfaceOnnxEmbedder(ArcfaceOnnxEmbedderConfig(path=path, sha256=sha, model_id="tiny"))
    with pytest.raises(UnsupportedImageError, match=r"expected \(112, 112, 3\) uint8"):
        good.embed(chips(1, size=150))


def test_dlib_embedder_gives_128d_templates_tagged_with_its_model() -> None:
    embedder = DlibResnetEmbedder()
    templates = embedder.embed(chips(2, size=150))
    assert [t.vector.shape for t in templates] == [(128,), (128,)]
    assert templates[0].model_key == "dlib-resnet-v1@1"
    with pytest.raises(UnsupportedImageError):
        embedder.embed(chips(1, size=112))


def test_engine_runs_detector_aligner_embedder_in_order() -> None:
    face = Detection(10, 10, 60, 60, 0.9, [[25, 30], [45, 30], [35, 40], [27, 50], [43, 50]])
    detector = FakeDetector(lambda _image: [face])
    engine = FaceEngine(detector, FakeEmbedder())
    image = np.zeros((100, 100, 3), np.uint8)
    image[20:40, 20:50] = 255
    faces = engine.faces(image)
    assert len(faces) == 1 and faces[0].detection is face
    assert faces[0].template.model_key == "fake@1"
    assert engine.largest_face(image) is not None and detector.calls == 2
    empty = FaceEngine(FakeDetector(), FakeEmbedder())
    assert empty.faces(image) == [] and empty.largest_face(image) is None


def test_fake_templates_of_different_models_are_refused_by_similarity() -> None:
    from bioexit.embedding import similarity

    crop = chips(1)[0]
    a = FakeEmbedder("a").embed([crop])[0]
    b = FakeEmbedder("b").embed([crop])[0]
    with pytest.raises(ModelMismatchError, match="expected a@1, got b@1"):
        similarity(a, b)
