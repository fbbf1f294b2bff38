"""Approximate search on one machine: a faiss inverted-file index, re-ranked exactly.

faiss proposes ``rerank`` candidates per query from compressed codes (PQ or 8-bit scalar)
or raw vectors (IVF-flat); bioexit then scores them exactly against the float32 vectors,
kept in a memory-mapped store on disk (``store.f32``), so only the codes need RAM.

Each vector sits in a slot of the store; the slot number is its faiss id. Removal deletes
the id from faiss (``remove_ids``) and zeroes the slot, so neither the index nor the store
keeps it. Slots are not reused. Until ``train_min`` vectors arrive, nothing is trained and
searches scan the store exactly.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bioexit.embedding.types import Metric
from bioexit.errors import GalleryError
from bioexit.galleries.index._files import (
    commit_generation,
    current_generation,
    new_generation,
    read_ids,
    read_meta,
    write_ids,
    write_json,
)
from bioexit.matching.index import (
    Matrix,
    SearchHits,
    as_queries,
    check_new,
    exact_top_k,
    normalise,
    unknown_ids,
)
from bioexit.settings import FaissIndexConfig

ADD_CHUNK = 100_000


def _subquantizers(config: FaissIndexConfig) -> int:
    """8-bit codes: one sub-quantizer per byte; fast-scan's 4-bit codes: two per byte."""
    return config.pq_bytes * (2 if config.structure == "ivf-pq-fastscan" else 1)


def _faiss() -> Any:
    import faiss

    return faiss


class FaissIndex:
    def __init__(self, directory: Path, dim: int, metric: Metric, config: FaissIndexConfig) -> None:
        if config.structure.startswith("ivf-pq") and dim % _subquantizers(config):
            raise GalleryError(
                "PQ code size must divide the dimension", expected=f"a divisor of {dim}", got=config.pq_bytes
            )
        self.directory = directory
        self.config = config
        self._dim = dim
        self._metric: Metric = metric
        self._slot_ids: list[str] = []  # "" marks a freed slot
        self._pos: dict[str, int] = {}
        self._index: Any = None  # trained faiss index, or None
        self._store: np.memmap[Any, np.dtype[np.float32]] | None = None
        _faiss().omp_set_num_threads(config.threads)
        directory.mkdir(parents=True, exist_ok=True)
        generation = current_generation(directory)
        if generation is not None:
            self._load(generation)

    # --- protocol --------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def metric(self) -> Metric:
        return self._metric

    def __len__(self) -> int:
        return len(self._pos)

    def has(self, entry_id: str) -> bool:
        return entry_id in self._pos

    @property
    def trained(self) -> bool:
        return self._index is not None

    @property
    def nbytes(self) -> int:
        """Bytes the faiss index takes in memory (its codes, ids and centroids); the store is on disk."""
        if self._index is None:
            return 0
        return int(_faiss().serialize_index(self._index).nbytes)

    def add(self, ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        matrix = check_new(self, ids, vectors)
        if self._metric == "cosine":
            matrix = normalise(matrix)
        first = len(self._slot_ids)
        store = self._reserve(first + len(ids))
        store[first : first + len(ids)] = matrix
        self._slot_ids.extend(ids)
        self._pos.update((entry_id, first + i) for i, entry_id in enumerate(ids))
        if self._index is not None:
            self._index_slots(np.arange(first, first + len(ids), dtype=np.int64))
        elif len(self) >= self.config.train_min:
            self._train()

    def remove(self, ids: Sequence[str]) -> None:
        unknown_ids(self, ids)
        slots = np.array([self._pos.pop(entry_id) for entry_id in ids], dtype=np.int64)
        if self._index is not None:
            self._index.remove_ids(slots)
        assert self._store is not None
        self._store[slots] = 0.0
        for slot in slots:
            self._slot_ids[slot] = ""

    def search(self, queries: npt.ArrayLike, k: int) -> SearchHits:
        matrix = as_queries(queries, self._dim)
        if not self._pos:
            raise GalleryError(
                "cannot search an empty gallery", expected="at least one entry", got="0 entries"
            )
        if self._metric == "cosine":
            matrix = normalise(matrix)
        if self._index is None:
            slots, scores = self._exact(matrix, k)
        else:
            _, candidates = self._index.search(matrix, max(k, self.config.rerank))
            slots, scores = self._rerank(matrix, candidates.astype(np.int64), k)
        return SearchHits(tuple(tuple(self._slot_ids[s] for s in row if s >= 0) for row in slots), scores)

    def save(self) -> None:
        staged = new_generation(self.directory)
        if self._store is not None:
            self._store.flush()
        if self._index is not None:
            _faiss().write_index(self._index, str(staged / "faiss.index"))
        write_ids(staged / "ids.txt", self._slot_ids)
        meta = {
            "kind": "faiss",
            "dim": self._dim,
            "metric": self._metric,
            "structure": self.config.structure,
            "trained": self._index is not None,
            "count": len(self),
            "slots": len(self._slot_ids),
        }
        write_json(staged / "meta.json", meta)
        commit_generation(self.directory, staged)

    def set_nprobe(self, nprobe: int) -> None:
        """Lists visited per query from now on (no rebuild)."""
        self.config = self.config.model_copy(update={"nprobe": nprobe})
        self._apply_nprobe()

    def _apply_nprobe(self) -> None:
        if self._index is None:
            return
        self._index.nprobe = self.config.nprobe
        quantizer = _faiss().downcast_index(self._index.quantizer)
        if hasattr(quantizer, "hnsw"):  # the graph must return at least nprobe lists
            quantizer.hnsw.efSearch = max(64, 2 * self.config.nprobe)

    def drop(self) -> None:
        if self._store is not None:
            self._store[:] = 0.0
            self._store.flush()
        self._store, self._index, self._slot_ids, self._pos = None, None, [], {}
        shutil.rmtree(self.directory, ignore_errors=True)

    # --- internals -------------------------------------------------------------------------

    def _load(self, generation: Path) -> None:
        meta = read_meta(generation, self._dim, self._metric, "faiss")
        if meta["structure"] != self.config.structure:
            raise GalleryError(
                "index on disk has another structure", expected=self.config.structure, got=meta["structure"]
            )
        self._slot_ids = read_ids(generation / "ids.txt")
        self._pos = {entry_id: slot for slot, entry_id in enumerate(self._slot_ids) if entry_id}
        if len(self._slot_ids) != meta["slots"] or len(self._pos) != meta["count"]:
            raise GalleryError(
                "index files disagree", expected=f"{meta['count']} entries", got=len(self._pos)
            )
        self._open_store()
        # Slots zeroed or written after this generation was saved are zeroed or dropped here.
        if self._store is not None and self._store.shape[0] > len(self._slot_ids):
            self._store[len(self._slot_ids) :] = 0.0
        self._index = _faiss().read_index(str(generation / "faiss.index")) if meta["trained"] else None
        self._apply_nprobe()
        # A removal zeroes its slot at once; if the process stopped before the next save, the
        # saved generation still lists the entry. A zero row is never a template: finish the removal.
        if self._store is not None and self._pos:
            live = self._live_slots()
            zeroed: list[int] = []
            for start in range(0, len(live), ADD_CHUNK):
                chunk = live[start : start + ADD_CHUNK]
                zeroed.extend(int(s) for s in chunk[~self._store[chunk].any(axis=1)])
            if zeroed:
                self.remove([self._slot_ids[s] for s in zeroed])

    def _store_path(self) -> Path:
        return self.directory / "store.f32"

    def _open_store(self) -> None:
        path = self._store_path()
        rows = path.stat().st_size // (4 * self._dim) if path.exists() else 0
        self._store = np.memmap(path, dtype=np.float32, mode="r+", shape=(rows, self._dim)) if rows else None

    def _reserve(self, total: int) -> np.memmap[Any, np.dtype[np.float32]]:
        if self._store is None or self._store.shape[0] < total:
            capacity = max(total, 2 * (0 if self._store is None else self._store.shape[0]), 1024)
            if self._store is not None:
                self._store.flush()
            self._store = None
            with self._store_path().open("ab") as handle:
                handle.truncate(capacity * 4 * self._dim)
            self._open_store()
        assert self._store is not None
        return self._store

    def _live_slots(self) -> npt.NDArray[np.int64]:
        return np.fromiter(sorted(self._pos.values()), dtype=np.int64, count=len(self._pos))

    def _train(self) -> None:
        faiss = _faiss()
        assert self._store is not None
        live = self._live_slots()
        nlist = self.config.nlist or int(np.clip(round(4 * math.sqrt(len(live))), 16, 4096))
        nlist = max(1, min(nlist, len(live) // 39))
        faiss_metric = faiss.METRIC_L2 if self._metric == "euclidean" else faiss.METRIC_INNER_PRODUCT
        if self.config.coarse == "hnsw":  # assigning millions of vectors to lists: a graph, not a scan
            quantizer = faiss.IndexHNSWFlat(self._dim, 32, faiss_metric)
        elif self._metric == "euclidean":
            quantizer = faiss.IndexFlatL2(self._dim)
        else:
            quantizer = faiss.IndexFlatIP(self._dim)
        if self.config.structure == "ivf-flat":
            index = faiss.IndexIVFFlat(quantizer, self._dim, nlist, faiss_metric)
        elif self.config.structure == "ivf-sq8":
            index = faiss.IndexIVFScalarQuantizer(
                quantizer, self._dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss_metric
            )
        elif self.config.structure == "ivf-pq-fastscan":  # 4-bit codes scanned with SIMD lookups
            index = faiss.IndexIVFPQFastScan(
                quantizer, self._dim, nlist, _subquantizers(self.config), 4, faiss_metric
            )
        else:
            index = faiss.IndexIVFPQ(quantizer, self._dim, nlist, self.config.pq_bytes, 8, faiss_metric)
        if self.config.coarse == "hnsw":
            index.quantizer_trains_alone = 2  # k-means on a flat index, then the centroids go into the graph
        index.cp.niter = 10
        rng = np.random.default_rng(0)
        sample_size = min(len(live), max(32 * nlist, 10_000), 300_000)
        sample = np.sort(rng.choice(live, size=sample_size, replace=False))
        index.train(np.ascontiguousarray(self._store[sample]))
        self._index = index
        self._apply_nprobe()
        self._index_slots(live)

    def _index_slots(self, slots: npt.NDArray[np.int64]) -> None:
        assert self._store is not None
        for start in range(0, len(slots), ADD_CHUNK):
            chunk = slots[start : start + ADD_CHUNK]
            self._index.add_with_ids(np.ascontiguousarray(self._store[chunk]), chunk)

    def _exact(self, queries: Matrix, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        assert self._store is not None
        rows = np.asarray(self._store[: len(self._slot_ids)])
        live = np.array([bool(i) for i in self._slot_ids], dtype=np.bool_)
        return exact_top_k(self._metric, rows, np.einsum("ij,ij->i", rows, rows), queries, k, live)

    def _rerank(
        self, queries: Matrix, candidates: npt.NDArray[np.int64], k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        assert self._store is not None
        valid = candidates >= 0
        rows = self._store[np.where(valid, candidates, 0)]  # (m, r, d): only candidates are read
        if self._metric == "euclidean":
            score = 1.0 - np.linalg.norm(rows - queries[:, None, :], axis=2)
        else:
            score = np.einsum("mrd,md->mr", rows, queries)
        score = np.where(valid, score, -np.inf).astype(np.float32)
        order = np.argsort(-score, axis=1, kind="stable")[:, :k]
        best = np.take_along_axis(score, order, axis=1)
        slots = np.where(np.isfinite(best), np.take_along_axis(candidates, order, axis=1), -1)
        return slots, best
