"""A Milvus collection as a gallery index, through pymilvus.

The same client speaks to Milvus Lite (a local folder, used by the tests) and to a Milvus
cluster (``uri="http://host:19530"``, ``token="user:password"``). Milvus keeps the vectors;
entry ids are the VARCHAR primary key.

A Milvus delete only marks rows; the vectors stay in sealed segment files until compaction
rewrites them and garbage collection removes the old files. So the index is an alias over a
physical collection ``<name>__<n>``. ``purge="rewrite"`` (the default for Milvus Lite, whose
compaction does not rewrite) copies the live rows into ``<name>__<n+1>``, moves the alias and
drops the old collection with its files: O(N) per removal batch, so batch retention removals.
``purge="compact"`` (the default for a cluster) deletes, flushes and compacts; the cluster's
garbage collector then removes the old segment files after ``dataCoord.gc.dropTolerance``,
which must be shorter than the retention deadline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bioexit.embedding.types import Metric
from bioexit.errors import ConfigError, GalleryError
from bioexit.matching.index import SearchHits, as_queries, check_new, normalise
from bioexit.settings import MilvusIndexConfig

BATCH = 5_000
MAX_ID = 512


class MilvusIndex:
    def __init__(
        self, collection: str, dim: int, metric: Metric, config: MilvusIndexConfig, lite_dir: Path
    ) -> None:
        from pymilvus import MilvusClient

        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", collection):
            raise ConfigError(
                "bad Milvus collection name", expected="letters, digits, underscores", got=collection
            )
        self.collection = collection
        self.config = config
        self._dim = dim
        self._metric: Metric = metric
        if config.uri:
            uri = config.uri
        else:
            lite_dir.mkdir(parents=True, exist_ok=True)
            uri = str(lite_dir / "milvus.db")
        token = config.token.get_secret_value() if config.token else ""
        try:
            self._client: Any = MilvusClient(uri=uri, token=token)
        except Exception as exc:  # pymilvus raises its own MilvusException for unreachable servers
            raise ConfigError(
                "cannot reach Milvus", expected="a running server or a Milvus Lite path", got=uri
            ) from exc
        self._milvus_metric = "L2" if metric == "euclidean" else "IP"
        self._purge = (
            config.purge
            if config.purge != "auto"
            else ("compact" if config.uri.startswith("http") else "rewrite")
        )
        if self._physical() is None:
            self._create(f"{collection}__1")
            self._client.create_alias(f"{collection}__1", collection)
        self._drop_orphans()
        self._client.load_collection(collection)

    def _physical(self) -> str | None:
        try:
            return str(self._client.describe_alias(self.collection)["collection_name"])
        except Exception:  # pymilvus raises MilvusException for an unknown alias
            return None

    def _generations(self) -> list[str]:
        prefix = self.collection + "__"
        return [
            c for c in self._client.list_collections() if c.startswith(prefix) and c[len(prefix) :].isdigit()
        ]

    def _drop_orphans(self) -> None:
        """Collections a crash left behind: a half-made copy, or an old one still holding removed rows."""
        current = self._physical()
        for name in self._generations():
            if name != current:
                self._client.drop_collection(name)

    def _create(self, physical: str) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self._dim)
        params = self._client.prepare_index_params()
        params.add_index(
            field_name="vector",
            index_type=self.config.index_type,
            metric_type=self._milvus_metric,
            params=dict(self.config.index_params),
        )
        self._client.create_collection(physical, schema=schema, index_params=params)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def metric(self) -> Metric:
        return self._metric

    def __len__(self) -> int:
        rows = self._client.query(
            self.collection, filter="", output_fields=["count(*)"], consistency_level="Strong"
        )
        return int(rows[0]["count(*)"])

    def has(self, entry_id: str) -> bool:
        return bool(self._get([entry_id]))

    def _get(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), BATCH):
            rows = self._client.get(
                self.collection, ids=list(ids[start : start + BATCH]), output_fields=["id"]
            )
            found.update(str(r["id"]) for r in rows)
        return found

    def add(self, ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        if any(len(i.encode()) > MAX_ID for i in ids):
            raise GalleryError("entry id too long", expected=f"at most {MAX_ID} bytes", got=max(ids, key=len))
        matrix = check_new(self, ids, vectors, present=self._get)
        if self._metric == "cosine":
            matrix = normalise(matrix)
        for start in range(0, len(ids), BATCH):
            rows = [
                {"id": entry_id, "vector": vector.tolist()}
                for entry_id, vector in zip(
                    ids[start : start + BATCH], matrix[start : start + BATCH], strict=True
                )
            ]
            self._client.insert(self.collection, rows)

    def remove(self, ids: Sequence[str]) -> None:
        missing = set(ids) - self._get(ids)
        if missing:
            raise GalleryError(
                "unknown gallery entry", expected="enrolled entry ids", got=", ".join(sorted(missing)[:5])
            )
        for start in range(0, len(ids), BATCH):
            self._client.delete(self.collection, ids=list(ids[start : start + BATCH]))
        self._client.flush(self.collection)
        if self._purge == "rewrite":
            self._rewrite()
        else:
            self._client.compact(self.collection)

    def _rewrite(self) -> None:
        old = self._physical()
        assert old is not None
        new = f"{self.collection}__{int(old.rsplit('__', 1)[1]) + 1}"
        self._create(new)
        rows = self._client.query_iterator(old, batch_size=BATCH, filter="", output_fields=["id", "vector"])
        while batch := rows.next():
            self._client.insert(new, [{"id": r["id"], "vector": r["vector"]} for r in batch])
        rows.close()
        self._client.flush(new)
        self._client.load_collection(new)
        self._client.alter_alias(new, self.collection)
        self._client.drop_collection(old)

    def search(self, queries: npt.ArrayLike, k: int) -> SearchHits:
        matrix = as_queries(queries, self._dim)
        if self._metric == "cosine":
            matrix = normalise(matrix)
        results = self._client.search(
            self.collection,
            data=matrix.tolist(),
            limit=max(1, k),
            search_params={"metric_type": self._milvus_metric, "params": dict(self.config.search_params)},
            consistency_level="Strong",
        )
        if all(len(hits) == 0 for hits in results):
            raise GalleryError(
                "cannot search an empty gallery", expected="at least one entry", got="0 entries"
            )
        ids = tuple(tuple(str(h["id"]) for h in hits) for hits in results)
        width = max(1, min(k, max(len(h) for h in results)))
        scores = np.full((len(results), width), -np.inf, dtype=np.float32)
        for q, hits in enumerate(results):
            distance = np.array([h["distance"] for h in hits], dtype=np.float64)
            # Milvus L2 is the squared distance.
            row = 1.0 - np.sqrt(np.maximum(distance, 0.0)) if self._metric == "euclidean" else distance
            scores[q, : len(row)] = row
        return SearchHits(ids, scores)

    def save(self) -> None:
        self._client.flush(self.collection)

    def drop(self) -> None:
        """Delete the whole collection (a closed manifest gallery, for example)."""
        self._client.drop_alias(self.collection)
        for name in self._generations():
            self._client.drop_collection(name)

    def close(self) -> None:
        self._client.close()
