"""Verification accuracy from genuine and impostor scores: TAR at FAR, EER, DET curve."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bioexit.matching.calibration import threshold_at_fmr

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PairScores:
    genuine: FloatArray
    impostor: FloatArray  # sorted, highest first

    @classmethod
    def from_matrix(cls, similarity: npt.ArrayLike, identities: list[str]) -> PairScores:
        matrix = np.asarray(similarity, dtype=np.float64)
        ids = np.asarray(identities)
        upper = np.triu_indices(len(ids), 1)
        same = (ids[:, None] == ids[None, :])[upper]
        values = matrix[upper]
        return cls(genuine=values[same], impostor=np.sort(values[~same])[::-1])

    def tar_at_far(self, far: float) -> float:
        threshold = threshold_at_fmr(self.impostor, far)
        return float(np.mean(self.genuine >= threshold))

    def eer(self) -> float:
        """Equal error rate, as the midpoint of the interval where the two error curves cross.

        With finite samples the curves step past each other; the interval runs from the
        largest ``min(FMR, FNMR)`` to the smallest ``max(FMR, FNMR)`` over all thresholds
        (after ISO/IEC 19795-1).
        """
        values = np.unique(np.concatenate([self.genuine, self.impostor]))
        thresholds = np.concatenate([values, [np.nextafter(values[-1], np.inf)]])
        fnmr, fmr = self.error_rates(thresholds)
        low = float(np.max(np.minimum(fnmr, fmr)))
        high = float(np.min(np.maximum(fnmr, fmr)))
        return (low + high) / 2

    def error_rates(self, thresholds: FloatArray) -> tuple[FloatArray, FloatArray]:
        genuine = np.sort(self.genuine)
        impostor = np.sort(self.impostor)
        fnmr = np.searchsorted(genuine, thresholds, side="left") / max(len(genuine), 1)
        fmr = 1.0 - np.searchsorted(impostor, thresholds, side="left") / max(len(impostor), 1)
        return fnmr, fmr


def plot_det(curves: dict[str, PairScores], path: Path) -> Path:
    """Write a DET plot (FNMR against FMR, log-log) of each named score set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 5))
    for name, pairs in curves.items():
        thresholds = np.unique(np.concatenate([pairs.genuine, pairs.impostor]))
        fnmr, fmr = pairs.error_rates(thresholds)
        floor = 0.5 / max(len(pairs.impostor), 1)
        axes.plot(np.maximum(fmr, floor), np.maximum(fnmr, 0.5 / max(len(pairs.genuine), 1)), label=name)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("false-match rate (FMR; zero drawn at ½ / impostor pairs)")
    axes.set_ylabel("false non-match rate (FNMR; zero drawn at ½ / genuine pairs)")
    axes.set_title("DET curve, all pairs of labels.csv")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path
