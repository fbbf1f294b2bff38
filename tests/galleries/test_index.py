"""Every index backend: add, remove, reload, search (single and batched), and deletions leave nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bioexit.embedding.types import Metric
from bioexit.errors import GalleryError
from bioexit.galleries.index import VectorIndex, open_index
from bioexit.matching.index import ExactIndex
from bioexit.settings import FaissIndexConfig, GalleryIndexConfig, MilvusIndexConfig, NumpyIndexConfig

DIM = 16

CONFIGS: dict[str, GalleryIndexConfig] = {
    "numpy": NumpyIndexConfig(),
    "faiss-ivf-pq": FaissIndexConfig(structure="ivf-pq", pq_bytes=8, train_min=500, nprobe=8),
    "faiss-ivf-flat": FaissIndexConfig(structure="ivf-flat", train_min=500, nprobe=8),
    "faiss-ivf-sq8": FaissIndexConfig(structure="ivf-sq8", train_min=500, nprobe=8),
    "faiss-ivf-pq-fastscan": FaissIndexConfig(
        structure="ivf-pq-fastscan", pq_bytes=4, train_min=500, nprobe=8
    ),
    "milvus-lite": MilvusIndexConfig(),
}

Opener = Callable[[], VectorIndex]


def clustered(n: int, seed: int, spread: float = 0.05) -> np.ndarray:
    """Vectors in identity-like clusters: 4 per centre."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 4 + 1, DIM)).astype(np.float32)
    return (np.repeat(centres, 4, axis=0)[:n] + spread * rng.normal(size=(n, DIM))).astype(np.float32)


def all_file_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


@pytest.fixture(params=list(CONFIGS), ids=list(CONFIGS))
def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[str, Callable[[Metric], VectorIndex], Path]:
    config = CONFIGS[request.param]

    def opener(metric: Metric = "euclidean") -> VectorIndex:
        return open_index(config, tmp_path / "index", "test_gallery", DIM, metric)

    return request.param, opener, tmp_path / "index"


@pytest.mark.parametrize("n", [40, 2000])  # below and above faiss's training size
def test_search_finds_the_same_top_k_as_exact_search(
    backend: tuple[str, Callable[..., VectorIndex], Path], n: int
) -> None:
    _, opener, _ = backend
    vectors = clustered(n, seed=1)
    ids = [f"e{i}" for i in range(n)]
    index = opener()
    index.add(ids, vectors)
    exact = ExactIndex(DIM, "euclidean")
    exact.add(ids, vectors)
    queries = vectors[::17] + 0.01 * np.random.default_rng(2).normal(size=(len(vectors[::17]), DIM)).astype(
        np.float32
    )
    got, want = index.search(queries, 3), exact.search(queries, 3)
    top1 = np.mean([g[0] == w[0] for g, w in zip(got.ids, want.ids, strict=True)])
    assert top1 >= 0.95
    assert np.allclose(got.scores[:, 0], want.scores[:, 0], atol=1e-4) or top1 < 1
    single = index.search(queries[0], 3)
    assert single.ids[0][0] == got.ids[0][0] and len(single.ids) == 1
    assert len(index) == n


def test_add_remove_reload_and_the_removed_vector_is_gone(
    backend: tuple[str, Callable[..., VectorIndex], Path],
) -> None:
    name, opener, directory = backend
    vectors = clustered(1200, seed=3)
    ids = [f"e{i}" for i in range(len(vectors))]
    index = opener()
    index.add(ids[:1000], vectors[:1000])
    index.add(ids[1000:], vectors[1000:])
    victim = vectors[123].copy()
    assert index.search(victim, 1).ids[0][0] == "e123"

    index.remove(["e123", "e7"])
    index.save()
    assert len(index) == 1198 and not index.has("e123")
    assert "e123" not in index.search(victim, 5).ids[0]
    if hasattr(index, "close"):
        index.close()

    again = opener()
    assert len(again) == 1198 and again.has("e999") and not again.has("e123")
    assert "e123" not in again.search(victim, 5).ids[0]
    assert again.search(vectors[999], 1).ids[0][0] == "e999"
    again.add(["late"], vectors[123:124] + 1.0)
    assert again.search(vectors[123] + 1.0, 1).ids[0][0] == "late"
    if not name.startswith("milvus"):
        # Neither the index files nor the re-rank store hold the deleted template's bytes.
        again.save()
        raw = all_file_bytes(directory)
        assert vectors[500].tobytes() in raw  # the check can see a kept vector
        assert victim.tobytes() not in raw


def test_milvus_removal_leaves_no_row_in_the_collection(tmp_path: Path) -> None:
    index = open_index(MilvusIndexConfig(), tmp_path / "m", "retention_test", DIM, "euclidean")
    vectors = clustered(300, seed=5)
    index.add([f"e{i}" for i in range(300)], vectors)
    index.remove(["e42"])
    client = index._client  # type: ignore[attr-defined]
    rows = client.query("retention_test", filter='id == "e42"', output_fields=["id", "vector"])
    assert rows == []
    near = client.search("retention_test", data=[vectors[42].tolist()], limit=300, output_fields=["id"])
    assert "e42" not in {h["id"] for h in near[0]} and len(near[0]) == 299
    index.save()
    index.close()  # type: ignore[attr-defined]
    raw = all_file_bytes(tmp_path / "m")
    assert vectors[41].tobytes() in raw  # the check can see a kept vector
    assert vectors[42].tobytes() not in raw


def test_faiss_removal_before_a_crash_is_finished_on_reload(tmp_path: Path) -> None:
    config = FaissIndexConfig(structure="ivf-flat", train_min=500, nprobe=8)
    index = open_index(config, tmp_path / "f", "g", DIM, "euclidean")
    vectors = clustered(800, seed=6)
    index.add([f"e{i}" for i in range(800)], vectors)
    index.save()
    index.remove(["e5"])  # no save: the process stops here
    again = open_index(config, tmp_path / "f", "g", DIM, "euclidean")
    assert not again.has("e5") and len(again) == 799
    assert vectors[5].tobytes() not in (tmp_path / "f" / "store.f32").read_bytes()


def test_bad_input_is_refused_and_nothing_changes(
    backend: tuple[str, Callable[..., VectorIndex], Path],
) -> None:
    _, opener, _ = backend
    index = opener()
    index.add(["a", "b"], clustered(2, seed=7))
    with pytest.raises(GalleryError, match="duplicate gallery entry"):
        index.add(["c", "a"], clustered(2, seed=8))
    with pytest.raises(GalleryError, match="bad vectors"):
        index.add(["c"], np.zeros((1, DIM + 1)))
    with pytest.raises(GalleryError, match="bad vectors"):
        index.add(["c"], np.full((1, DIM), np.nan))
    with pytest.raises(GalleryError, match="unknown gallery entry"):
        index.remove(["zzz"])
    with pytest.raises(GalleryError, match="bad query"):
        index.search(np.zeros(DIM + 2), 1)
    assert len(index) == 2 and not index.has("c")


def test_cosine_indexes_score_by_cosine(backend: tuple[str, Callable[..., VectorIndex], Path]) -> None:
    _, opener, _ = backend
    index = opener("cosine")
    index.add(["x", "y"], np.eye(2, DIM, dtype=np.float32) * 5)
    hits = index.search(np.eye(1, DIM, dtype=np.float32)[0] * 0.1, 2)
    assert hits.ids[0] == ("x", "y")
    assert hits.scores[0, 0] == pytest.approx(1.0, abs=1e-5) and hits.scores[0, 1] == pytest.approx(
        0.0, abs=1e-5
    )


def test_drop_deletes_everything(backend: tuple[str, Callable[..., VectorIndex], Path]) -> None:
    name, opener, directory = backend
    index = opener()
    index.add(["a", "b"], clustered(2, seed=9))
    index.save()
    index.drop()
    if not name.startswith("milvus"):
        assert not directory.exists()
        assert len(opener()) == 0
