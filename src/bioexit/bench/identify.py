"""``bioexit bench identify``: TIR at FPIR 0.003 with real probes and real document photos.

Each labelled person's first photo (``labels.csv`` order) is their document photo; their
other photos are the probes (mated searches). The gallery is padded to the asked size with
**synthetic distractor templates**: draws from a Gaussian fitted to the real templates of
the same folder (population mean, spread of identity centres, spread within an identity;
see ``bench.gallery_synth``). They are not faces. If real strangers sit closer to the
probes than these draws do (look-alikes, same age, same camera), the real FPIR at a
threshold is higher and a TIR at equal FPIR lower than here; the JSON reports how the
real-vs-synthetic impostor scores compare so the reader can judge.

Two thresholds per size:

- ``calibrated``: the gallery's own FPIR threshold (``galleries.fpir_threshold``: FMR =
  FPIR / N from the model's calibration table, extrapolated where the table stops);
- ``synthetic_fpir``: the score that 0.3 % of non-mated searches reach when synthetic
  people (not enrolled) search the padded gallery.

FPIR is also counted on real non-mated searches: each person's probes against the gallery
without their document photo (few searches, so a coarse figure).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from bioexit.bench.gallery_synth import ClusterFit, GalleryShape, SyntheticGallery
from bioexit.galleries.thresholds import fpir_threshold
from bioexit.matching.calibration import CalibrationTable
from bioexit.matching.index import ExactIndex

Progress = Callable[[str, int, int], None]
Matrix = npt.NDArray[np.float32]


def _search_top(index: ExactIndex, probes: Matrix, k: int = 1) -> tuple[list[str], npt.NDArray[np.float32]]:
    hits = index.search(probes, k)
    return [row[0] for row in hits.ids], hits.scores[:, 0]


def run_identify_bench(
    vectors: Matrix,
    identities: list[str],
    sizes: list[int],
    table: CalibrationTable,
    fit: ClusterFit,
    fpir: float = 0.003,
    nonmated_synthetic: int = 5000,
    min_fmr: float = 1e-9,
    progress: Progress | None = None,
) -> dict[str, Any]:
    first: dict[str, int] = {}
    for i, who in enumerate(identities):
        first.setdefault(who, i)
    doc_rows = sorted(first.values())
    probe_rows = [i for i in range(len(identities)) if i not in set(doc_rows)]
    probe_ids = [identities[i] for i in probe_rows]
    probes = vectors[probe_rows]
    dim = vectors.shape[1]

    # How synthetic distractors compare with real strangers, as impostor scores against real probes.
    synth_ref = SyntheticGallery(GalleryShape(size=2000, dim=dim, seed=1), fit)
    fake_people = synth_ref.distractors(2000, seed=5)
    real_impostor = np.concatenate(
        [
            1.0 - np.linalg.norm(vectors[[d for d in doc_rows if identities[d] != who]] - p, axis=1)
            for p, who in zip(probes, probe_ids, strict=True)
        ]
    )
    synthetic_impostor = (1.0 - np.linalg.norm(probes[:, None, :] - fake_people[None, :, :], axis=2)).ravel()
    comparison = {
        "real_impostor_pairs": int(real_impostor.size),
        "synthetic_impostor_pairs": int(synthetic_impostor.size),
        "mean_score": {
            "real": round(float(real_impostor.mean()), 4),
            "synthetic": round(float(synthetic_impostor.mean()), 4),
        },
        "p99_score": {
            "real": round(float(np.percentile(real_impostor, 99)), 4),
            "synthetic": round(float(np.percentile(synthetic_impostor, 99)), 4),
        },
        "max_score": {
            "real": round(float(real_impostor.max()), 4),
            "synthetic": round(float(synthetic_impostor.max()), 4),
        },
    }

    results = []
    for step, size in enumerate(sizes):
        pad = max(0, size - len(doc_rows))
        synth = SyntheticGallery(GalleryShape(size=max(pad, 1), dim=dim, seed=100 + size), fit)
        distractors = synth.distractors(pad, seed=11) if pad else np.zeros((0, dim), np.float32)
        index = ExactIndex(dim, "euclidean")
        index.add([f"doc:{identities[d]}" for d in doc_rows], vectors[doc_rows])
        if pad:
            index.add([f"distractor:{i}" for i in range(pad)], distractors)
        n = len(index)
        threshold = fpir_threshold(table, fpir, n, min_fmr)

        top, score = _search_top(index, probes)
        right = np.array([t == f"doc:{who}" for t, who in zip(top, probe_ids, strict=True)])

        # Non-mated: synthetic people, and each real person without their document photo.
        strangers = synth.distractors(nonmated_synthetic, seed=13)
        _, stranger_top = _search_top(index, strangers)
        synth_threshold = float(np.quantile(stranger_top, 1.0 - fpir)) if nonmated_synthetic else float("nan")
        real_nonmated: list[float] = []
        for who in sorted(first):
            index.remove([f"doc:{who}"])
            mine = probes[[i for i, p in enumerate(probe_ids) if p == who]]
            if len(mine):
                real_nonmated.extend(_search_top(index, mine)[1].tolist())
            index.add([f"doc:{who}"], vectors[first[who] : first[who] + 1])
        nonmated = np.array(real_nonmated)

        def at(
            t: float, right: npt.NDArray[np.bool_] = right, score: npt.NDArray[np.float32] = score
        ) -> float:
            return round(float(np.mean(right & (score >= t))), 4)

        results.append(
            {
                "gallery_size": n,
                "real_documents": len(doc_rows),
                "synthetic_distractors": pad,
                "mated_searches": len(probes),
                "rank1_rate": round(float(right.mean()), 4),
                "calibrated": {
                    **threshold.as_dict(),
                    "tir": at(threshold.threshold),
                    "fpir_synthetic_nonmated": round(float(np.mean(stranger_top >= threshold.threshold)), 5),
                    "fpir_real_nonmated": {
                        "searches": len(nonmated),
                        "false_positives": int(np.sum(nonmated >= threshold.threshold)),
                    },
                },
                "synthetic_fpir": {
                    "nonmated_searches": nonmated_synthetic,
                    "threshold": round(synth_threshold, 6),
                    "tir": at(synth_threshold),
                    "fpir_real_nonmated": {
                        "searches": len(nonmated),
                        "false_positives": int(np.sum(nonmated >= synth_threshold)),
                    },
                },
                "mated_score": {
                    "p1": round(float(np.percentile(score[right], 1)), 4) if right.any() else None,
                    "median": round(float(np.median(score[right])), 4) if right.any() else None,
                },
            }
        )
        if progress:
            progress("gallery sizes", step + 1, len(sizes))
    return {
        "fpir": fpir,
        "people": len(doc_rows),
        "distractors": "synthetic: Gaussian draws fitted to the real templates (not faces)",
        "impostor_scores_real_vs_synthetic": comparison,
        "fit": fit.as_dict(),
        "sizes": results,
    }
