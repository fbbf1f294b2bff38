"""Exact NumPy index with persistence: rows saved as ``.npy``, reloaded memory-mapped."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

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
from bioexit.matching.index import CHUNK_ROWS, ExactIndex


class NumpyIndex(ExactIndex):
    """:class:`ExactIndex` kept in ``directory``. Reloaded rows stay memory-mapped (read-only)
    until the first change, so a large gallery opens at once and pages in as it is searched."""

    def __init__(self, directory: Path, dim: int, metric: Metric, chunk_rows: int = CHUNK_ROWS) -> None:
        super().__init__(dim, metric, chunk_rows)
        self.directory = directory
        generation = current_generation(directory)
        if generation is not None:
            self._load(generation)

    def _load(self, generation: Path) -> None:
        meta = read_meta(generation, self.dim, self.metric, "numpy")
        rows = np.load(generation / "vectors.npy", mmap_mode="r")
        sqnorms = np.load(generation / "sqnorms.npy", mmap_mode="r")
        ids = read_ids(generation / "ids.txt")
        if not (rows.shape == (len(ids), self.dim) and sqnorms.shape == (len(ids),) == (meta["count"],)):
            raise GalleryError("index files disagree", expected=f"{meta['count']} rows", got=str(rows.shape))
        self._rows, self._sqnorms, self._ids = rows, sqnorms, ids
        self._pos = {entry_id: i for i, entry_id in enumerate(ids)}

    def save(self) -> None:
        staged = new_generation(self.directory)
        np.save(staged / "vectors.npy", np.ascontiguousarray(self.vectors()))
        np.save(staged / "sqnorms.npy", np.ascontiguousarray(self._sqnorms[: len(self)]))
        write_ids(staged / "ids.txt", self.ids())
        write_json(
            staged / "meta.json",
            {"kind": "numpy", "dim": self.dim, "metric": self.metric, "count": len(self)},
        )
        commit_generation(self.directory, staged)
        self._load(current_generation(self.directory) or staged)

    def drop(self) -> None:
        super().drop()
        shutil.rmtree(self.directory, ignore_errors=True)
