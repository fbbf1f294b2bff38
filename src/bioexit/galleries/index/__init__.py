"""Gallery index backends behind :class:`bioexit.matching.index.VectorIndex`, chosen by config ``kind``.

- ``numpy``: exact, the default; ``.npy`` files reloaded memory-mapped.
- ``faiss``: inverted-file index (flat, 8-bit or PQ codes) re-ranked exactly from a store on disk.
- ``milvus``: a Milvus collection (Milvus Lite locally, or a cluster by URI and token).
"""

from __future__ import annotations

from pathlib import Path

from bioexit.embedding.types import Metric
from bioexit.matching.index import ExactIndex, SearchHits, VectorIndex
from bioexit.settings import FaissIndexConfig, GalleryIndexConfig, MilvusIndexConfig, NumpyIndexConfig

__all__ = ["ExactIndex", "SearchHits", "VectorIndex", "open_index"]


def open_index(
    config: GalleryIndexConfig, directory: Path, name: str, dim: int, metric: Metric
) -> VectorIndex:
    """Open (or create) the index named ``name`` in ``directory``, of the configured backend."""
    if isinstance(config, NumpyIndexConfig):
        from bioexit.galleries.index.numpy_index import NumpyIndex

        return NumpyIndex(directory, dim, metric, config.chunk_rows)
    if isinstance(config, FaissIndexConfig):
        from bioexit.galleries.index.faiss_index import FaissIndex

        return FaissIndex(directory, dim, metric, config)
    if isinstance(config, MilvusIndexConfig):
        from bioexit.galleries.index.milvus_index import MilvusIndex

        return MilvusIndex(name, dim, metric, config, directory)
    raise TypeError(f"unknown index config {type(config).__name__}")
