"""A gallery's threshold comes from the FPIR it is held to and its size.

A non-mated search returns a false candidate if any of the N comparisons reaches the
threshold, so ``FPIR ≤ N × FMR`` (the union bound; it needs no independence and is close
to exact while N × FMR is small). A gallery of N entries held to FPIR p therefore sets its
threshold at FMR p / N. When the calibration table cannot back that FMR (the shipped dlib
table backs 1e-3 at best, and FPIR 0.003 over 420 entries needs 7e-6), the threshold is
extrapolated from the fitted impostor tail and marked ``extrapolated``; below ``min_fmr``
it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bioexit.errors import UnsupportedFMRError
from bioexit.matching.calibration import FMR_MAX, MIN_EVENTS, CalibrationTable, threshold_at_fmr


@dataclass(frozen=True, slots=True)
class GalleryThreshold:
    gallery_size: int
    fpir_target: float
    fmr: float  # per-comparison FMR the threshold is set at
    threshold: float
    extrapolated: bool
    fpir_bound: float  # N × FMR at the threshold, from the table (or its fitted tail)

    def as_dict(self) -> dict[str, Any]:
        return {
            "gallery_size": self.gallery_size,
            "fpir_target": self.fpir_target,
            "fmr": self.fmr,
            "threshold": round(self.threshold, 6),
            "extrapolated": self.extrapolated,
            "fpir_bound": self.fpir_bound,
        }


def fpir_threshold(
    table: CalibrationTable, fpir: float, gallery_size: int, min_fmr: float
) -> GalleryThreshold:
    """Threshold that holds a gallery of ``gallery_size`` entries to ``fpir``."""
    size = max(1, gallery_size)
    fmr = min(fpir / size, FMR_MAX)
    if table.impostor_pairs * fmr >= MIN_EVENTS:  # enough impostor scores reach it: observed
        threshold, extrapolated = threshold_at_fmr(table.tail, fmr, table.impostor_pairs), False
    elif fmr >= min_fmr:
        threshold, extrapolated = table.extrapolated_threshold(fmr), True
    else:
        raise UnsupportedFMRError(
            f"FPIR {fpir:g} over {size:,} entries needs FMR {fmr:.2g}, below what bioexit extrapolates to",
            expected=f"FMR ≥ {min_fmr:g} (a smaller gallery, a higher FPIR, or galleries.min_fmr)",
            got=f"{fmr:.2g}",
        )
    fmr_there = table.modelled_fmr_at(threshold) if extrapolated else table.fmr_at(threshold)
    bound = min(1.0, size * fmr_there)
    return GalleryThreshold(size, fpir, fmr, threshold, extrapolated, bound)


def fpir_of(table: CalibrationTable, threshold: float, gallery_size: int) -> float:
    """FPIR bound at a threshold: N × FMR(threshold)."""
    return min(1.0, max(1, gallery_size) * table.modelled_fmr_at(threshold))


__all__ = ["GalleryThreshold", "fpir_of", "fpir_threshold"]
