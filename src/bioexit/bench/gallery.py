"""``bioexit bench gallery``: build time, memory, latency and recall@1 of each index backend.

The gallery is synthetic but shaped like a real one (``bench.gallery_synth``): identities
with several templates each, clustered as real dlib templates are, plus distractors. Probes
are held-out templates of enrolled identities. Recall@1 is against exact search: the share
of probes whose top entry is the exact search's top entry. Exact top-1 is computed while
the gallery is generated, so it never needs the whole gallery in memory.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bioexit.bench.gallery_synth import ClusterFit, GalleryShape, SyntheticGallery
from bioexit.galleries.index import VectorIndex, open_index
from bioexit.matching.index import ExactIndex
from bioexit.settings import GalleryIndexConfig

Progress = Callable[[str, int, int], None]


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory of this process (``VmHWM``: its peak), from /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _dir_mb(path: Path) -> float:
    if not path.exists():
        return 0.0
    # Allocated blocks, not apparent size: the faiss store file is sparse beyond its rows.
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file()) / 2**20


def _percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.array(samples) * 1000
    return {
        "p50": round(float(np.median(ms)), 3),
        "p99": round(float(np.percentile(ms, 99)), 3),
        "n": len(samples),
    }


@dataclass(frozen=True, slots=True)
class BackendRun:
    label: str
    config: GalleryIndexConfig
    nprobes: Sequence[int] = ()  # faiss: search settings measured on one build


@dataclass(frozen=True, slots=True)
class GalleryBenchOptions:
    shape: GalleryShape
    recall_queries: int = 1000
    timed_queries: int = 200
    batch: int = 8
    work_dir: Path = Path("/tmp/bioexit-bench-gallery")


def exact_top1(
    synth: SyntheticGallery, probes: npt.NDArray[np.float32], progress: Progress | None
) -> list[str]:
    """Exact nearest entry of each probe, streamed over the generated gallery."""
    best = np.full(len(probes), np.inf, dtype=np.float64)
    where = np.full(len(probes), -1, dtype=np.int64)
    pn = np.einsum("ij,ij->i", probes, probes)
    for first, rows in synth.chunks():
        d = pn[:, None] - 2.0 * (probes @ rows.T) + np.einsum("ij,ij->i", rows, rows)[None, :]
        arg = d.argmin(axis=1)
        val = d[np.arange(len(probes)), arg]
        better = val < best
        best[better], where[better] = val[better], arg[better] + first
        if progress:
            progress("exact top-1", min(first + len(rows), synth.shape.size), synth.shape.size)
    return [f"e{i}" for i in where]


def _build(
    run: BackendRun, synth: SyntheticGallery, directory: Path, progress: Progress | None
) -> tuple[VectorIndex, float, float]:
    shape = synth.shape
    index = open_index(run.config, directory, "bench_gallery", shape.dim, "euclidean")
    if isinstance(index, ExactIndex):
        index.reserve(shape.size)
    started = time.perf_counter()
    for first, rows in synth.chunks():
        index.add([f"e{i}" for i in range(first, first + len(rows))], rows)
        if progress:
            progress(f"build {run.label}", min(first + len(rows), shape.size), shape.size)
    built = time.perf_counter() - started
    index.save()
    return index, built, time.perf_counter() - started - built


def _measure(
    index: VectorIndex,
    probes: npt.NDArray[np.float32],
    truth: list[str],
    options: GalleryBenchOptions,
) -> dict[str, Any]:
    found: list[str] = []
    # Exact search is its own reference; above a million rows, check it on 64 probes only.
    checked = len(probes) if not isinstance(index, ExactIndex) or len(index) <= 1_000_000 else 64
    for start in range(0, checked, 256):
        found.extend(row[0] for row in index.search(probes[start : min(checked, start + 256)], 1).ids)
    recall = float(np.mean([f == t for f, t in zip(found, truth[:checked], strict=True)]))
    timed = probes[: options.timed_queries]
    index.search(timed[:2], 1)  # warm-up
    singles = []
    for probe in timed:
        started = time.perf_counter()
        index.search(probe, 1)
        singles.append(time.perf_counter() - started)
    batches = []
    for start in range(0, len(timed) - options.batch + 1, options.batch):
        started = time.perf_counter()
        index.search(timed[start : start + options.batch], 1)
        batches.append(time.perf_counter() - started)
    batch = _percentiles(batches)
    return {
        "recall_at_1": round(recall, 4),
        "recall_probes": checked,
        "single_ms": _percentiles(singles),
        f"batch{options.batch}_ms": batch,
        f"batch{options.batch}_ms_per_query_p50": round(batch["p50"] / options.batch, 3),
    }


def run_gallery_bench(
    runs: Sequence[BackendRun],
    fit: ClusterFit,
    options: GalleryBenchOptions,
    progress: Progress | None = None,
) -> dict[str, Any]:
    synth = SyntheticGallery(options.shape, fit)
    probes, _ = synth.probes(options.recall_queries)
    truth = exact_top1(synth, probes, progress)
    results = []
    for run in runs:
        directory = options.work_dir / run.label
        shutil.rmtree(directory, ignore_errors=True)
        before = rss_mb()
        index, build_s, save_s = _build(run, synth, directory, progress)
        entry: dict[str, Any] = {
            "backend": run.label,
            "config": run.config.model_dump(mode="json", exclude={"token"}),
            "build_s": round(build_s, 2),
            "save_s": round(save_s, 2),
            "rss_delta_mb": round(rss_mb() - before, 1),
            "index_mb": round(getattr(index, "nbytes", 0) / 2**20, 1),
            "disk_mb": round(_dir_mb(directory), 1),
        }
        settings: list[int | None] = list(run.nprobes) or [None]
        searches = []
        for nprobe in settings:
            if nprobe is not None and hasattr(index, "set_nprobe"):
                index.set_nprobe(nprobe)
            measured = _measure(index, probes, truth, options)
            searches.append({"nprobe": nprobe, **measured} if nprobe is not None else measured)
        entry["searches"] = searches
        results.append(entry)
        index.drop()
        if hasattr(index, "close"):
            index.close()
        del index
        shutil.rmtree(directory, ignore_errors=True)
    return {
        "size": options.shape.size,
        "dim": options.shape.dim,
        "gallery": {
            "identities": options.shape.identities,
            "templates_per_identity": options.shape.per_identity,
            "distractors": options.shape.size - options.shape.enrolled_rows,
        },
        "fit": fit.as_dict(),
        "recall_queries": options.recall_queries,
        "timed_queries": options.timed_queries,
        "backends": results,
        "peak_rss_mb": round(rss_mb("VmHWM"), 1),
        "timing_note": "wall time per search call on a shared 2-core machine; p50/p99 over the timed queries",
    }
