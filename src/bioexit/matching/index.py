"""The vector-index protocol behind every gallery, and the exact in-memory NumPy index.

Scores follow the model's metric, higher is more alike: cosine similarity, or ``1 - distance``
for euclidean templates. Exact search needs no normalisation for euclidean vectors:
``|q - x|² = |q|² - 2 q·x + |x|²``, so one matrix product ranks a whole batch of probes.
Persistence and the approximate and distributed backends live in ``bioexit.galleries.index``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from bioexit.embedding.types import Metric
from bioexit.errors import GalleryError

Matrix = npt.NDArray[np.float32]
CHUNK_ROWS = 1 << 18  # rows scored at once: bounds the temporary (queries × rows) matrix


@dataclass(frozen=True, slots=True)
class SearchHits:
    """Top-k of each query, best first: ``ids[q][r]`` with ``scores[q, r]`` (``-inf`` pads short rows)."""

    ids: tuple[tuple[str, ...], ...]
    scores: npt.NDArray[np.float32]


class VectorIndex(Protocol):
    """Entry ids → vectors, searched by score. Every backend of a gallery implements this."""

    @property
    def dim(self) -> int: ...

    @property
    def metric(self) -> Metric: ...

    def __len__(self) -> int: ...

    def has(self, entry_id: str) -> bool: ...

    def add(self, ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        """Add entries; GalleryError on a duplicate id or a wrong shape, and then nothing is added."""

    def remove(self, ids: Sequence[str]) -> None:
        """Remove entries so that no copy of their vectors stays; GalleryError on an unknown id."""

    def search(self, queries: npt.ArrayLike, k: int) -> SearchHits:
        """Top-k entries for each row of ``queries`` (one vector or a batch)."""

    def save(self) -> None:
        """Persist what the index holds (a no-op for in-memory indexes)."""

    def drop(self) -> None:
        """Delete every entry and whatever the index persisted; the index is empty afterwards."""


def as_queries(queries: npt.ArrayLike, dim: int) -> Matrix:
    matrix = np.asarray(queries, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2 or matrix.shape[1] != dim or not np.isfinite(matrix).all():
        raise GalleryError("bad query vectors", expected=f"finite (m, {dim}) floats", got=str(matrix.shape))
    return np.ascontiguousarray(matrix)


def check_new(
    index: VectorIndex,
    ids: Sequence[str],
    vectors: npt.ArrayLike,
    present: Callable[[Sequence[str]], Collection[str]] | None = None,
) -> Matrix:
    """Validate an add before anything changes: shapes, finite values, new and unique ids.

    ``present`` finds which of the ids are indexed in one call (remote backends)."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1 and len(ids) == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2 or matrix.shape != (len(ids), index.dim) or not np.isfinite(matrix).all():
        raise GalleryError(
            "bad vectors to add", expected=f"finite ({len(ids)}, {index.dim}) floats", got=str(matrix.shape)
        )
    if len(set(ids)) != len(ids):
        raise GalleryError(
            "duplicate ids in one add", expected="unique entry ids", got=len(ids) - len(set(ids))
        )
    for entry_id in ids:
        if not isinstance(entry_id, str) or not entry_id or "\n" in entry_id:
            raise GalleryError("bad entry id", expected="a non-empty one-line string", got=entry_id)
    taken = present(ids) if present is not None else [i for i in ids if index.has(i)]
    if taken:
        raise GalleryError("duplicate gallery entry", expected="a new entry id", got=next(iter(taken)))
    return np.ascontiguousarray(matrix)


def unknown_ids(index: VectorIndex, ids: Sequence[str]) -> None:
    missing = [i for i in ids if not index.has(i)]
    if missing:
        raise GalleryError("unknown gallery entry", expected="enrolled entry ids", got=", ".join(missing[:5]))


def normalise(matrix: Matrix) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


def _smallest(key: Matrix, k: int) -> npt.NDArray[np.int64]:
    """Column positions of the k smallest per row (any order). Overwrites ``key`` for small k:
    k passes of argmin beat argpartition's selection by far for the k of a gallery search."""
    if k >= key.shape[1]:
        return np.broadcast_to(np.arange(key.shape[1], dtype=np.int64), key.shape).copy()
    if k > 32:
        return np.argpartition(key, k - 1, axis=1)[:, :k].astype(np.int64)
    rows = np.arange(key.shape[0])
    picked = np.empty((key.shape[0], k), dtype=np.int64)
    saved = np.empty((key.shape[0], k), dtype=key.dtype)
    for j in range(k):
        picked[:, j] = key.argmin(axis=1)
        saved[:, j] = key[rows, picked[:, j]]
        key[rows, picked[:, j]] = np.inf
    key[rows[:, None], picked] = saved  # callers read the picked keys back
    return picked


def exact_top_k(
    metric: Metric,
    rows: Matrix,
    sqnorms: npt.NDArray[np.float32] | None,
    queries: Matrix,
    k: int,
    live: npt.NDArray[np.bool_] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Positions and scores of the k best rows per query, best first; rows scored in chunks.

    cosine: ``rows`` and ``queries`` are already unit length. euclidean: ``sqnorms`` holds
    ``|x|²`` per row. ``live`` masks out free rows. Positions are -1 where fewer rows exist.
    """
    m, n = queries.shape[0], rows.shape[0]
    k = max(1, k)
    scaled = (-2.0 if metric == "euclidean" else -1.0) * queries.T  # (d, m): rows @ scaled is one gemm
    best_pos = np.full((m, 0), -1, dtype=np.int64)
    best_key = np.empty((m, 0), dtype=np.float32)  # smaller is better
    for start in range(0, n, chunk_rows):
        block = np.asarray(rows[start : start + chunk_rows], dtype=np.float32)
        product = block @ scaled  # (rows, m)
        if metric == "euclidean":
            assert sqnorms is not None
            product += np.asarray(sqnorms[start : start + block.shape[0]])[:, None]
        key = np.ascontiguousarray(product.T)
        if live is not None:
            key[:, ~live[start : start + block.shape[0]]] = np.inf
        part = _smallest(key, min(k, key.shape[1]))
        best_key = np.concatenate([best_key, np.take_along_axis(key, part, axis=1)], axis=1)
        best_pos = np.concatenate([best_pos, part + start], axis=1)
        if best_key.shape[1] > k:
            keep = _smallest(best_key.copy(), k)
            best_key = np.take_along_axis(best_key, keep, axis=1)
            best_pos = np.take_along_axis(best_pos, keep, axis=1)
    order = np.argsort(best_key, axis=1, kind="stable")
    best_key = np.take_along_axis(best_key, order, axis=1)
    best_pos = np.take_along_axis(best_pos, order, axis=1)
    missing = ~np.isfinite(best_key)
    best_pos[missing] = -1
    # Re-score the k winners directly: the expanded form loses digits to cancellation.
    winners = np.asarray(rows[np.where(missing, 0, best_pos)], dtype=np.float32)  # (m, k, d)
    if metric == "euclidean":
        score = 1.0 - np.linalg.norm(winners - queries[:, None, :], axis=2)
    else:
        score = np.einsum("mkd,md->mk", winners, queries)
    score = np.where(missing, -np.inf, score).astype(np.float32)
    return best_pos, score


class ExactIndex:
    """Exact search over a float32 matrix in memory. Removal moves the last row into the hole
    and zeroes the freed row, so no removed vector stays in the matrix."""

    def __init__(self, dim: int, metric: Metric, chunk_rows: int = CHUNK_ROWS) -> None:
        if dim < 1:
            raise GalleryError("bad index dimension", expected="≥ 1", got=dim)
        self._dim = dim
        self._metric: Metric = metric
        self._chunk_rows = chunk_rows
        self._rows: Matrix = np.zeros((0, dim), dtype=np.float32)
        self._sqnorms: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def metric(self) -> Metric:
        return self._metric

    def __len__(self) -> int:
        return len(self._ids)

    def has(self, entry_id: str) -> bool:
        return entry_id in self._pos

    @property
    def nbytes(self) -> int:
        return int(self._rows.nbytes + self._sqnorms.nbytes)

    def _writable(self) -> None:
        """Rows loaded memory-mapped and read-only become an in-memory copy before a change."""
        if not self._rows.flags.writeable:
            self._rows = np.array(self._rows, dtype=np.float32)
            self._sqnorms = np.array(self._sqnorms, dtype=np.float32)

    def reserve(self, total: int) -> None:
        """Make room for ``total`` rows at once (no doubling copies while a large gallery loads)."""
        self._writable()
        self._reserve(total)

    def _reserve(self, total: int) -> None:
        if total <= self._rows.shape[0]:
            return
        capacity = max(total, 2 * self._rows.shape[0], 64)
        rows = np.zeros((capacity, self._dim), dtype=np.float32)
        rows[: len(self)] = self._rows[: len(self)]
        sqnorms = np.zeros(capacity, dtype=np.float32)
        sqnorms[: len(self)] = self._sqnorms[: len(self)]
        self._rows[:] = 0.0  # the old buffer holds no copy once replaced
        self._rows, self._sqnorms = rows, sqnorms

    def add(self, ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        matrix = check_new(self, ids, vectors)
        if self._metric == "cosine":
            matrix = normalise(matrix)
        self._writable()
        n = len(self)
        self._reserve(n + len(ids))
        self._rows[n : n + len(ids)] = matrix
        self._sqnorms[n : n + len(ids)] = np.einsum("ij,ij->i", matrix, matrix)
        for offset, entry_id in enumerate(ids):
            self._pos[entry_id] = n + offset
        self._ids.extend(ids)

    def remove(self, ids: Sequence[str]) -> None:
        unknown_ids(self, ids)
        self._writable()
        for entry_id in ids:
            hole, last = self._pos.pop(entry_id), len(self._ids) - 1
            if hole != last:
                moved = self._ids[last]
                self._rows[hole] = self._rows[last]
                self._sqnorms[hole] = self._sqnorms[last]
                self._ids[hole] = moved
                self._pos[moved] = hole
            self._rows[last] = 0.0
            self._sqnorms[last] = 0.0
            self._ids.pop()

    def search(self, queries: npt.ArrayLike, k: int) -> SearchHits:
        matrix = as_queries(queries, self._dim)
        if not self._ids:
            raise GalleryError(
                "cannot search an empty gallery", expected="at least one entry", got="0 entries"
            )
        if self._metric == "cosine":
            matrix = normalise(matrix)
        n = len(self)
        positions, scores = exact_top_k(
            self._metric, self._rows[:n], self._sqnorms[:n], matrix, k, chunk_rows=self._chunk_rows
        )
        return SearchHits(tuple(tuple(self._ids[p] for p in row if p >= 0) for row in positions), scores)

    def vectors(self) -> Matrix:
        """The stored rows (unit length for cosine), in entry order; for persistence and tests."""
        return self._rows[: len(self)]

    def ids(self) -> list[str]:
        return list(self._ids)

    def save(self) -> None:
        """Nothing to do: this index lives in memory."""

    def drop(self) -> None:
        self._writable()
        self._rows[:] = 0.0
        self._rows = np.zeros((0, self._dim), dtype=np.float32)
        self._sqnorms = np.zeros(0, dtype=np.float32)
        self._ids, self._pos = [], {}
