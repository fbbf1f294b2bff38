"""Thresholds from impostor scores: the user states a false-match rate, never a distance.

A table keeps the highest impostor scores of a calibration run (all the others sit
below every threshold we can serve). The threshold for FMR ``f`` is the lowest score
that at most ``f × n`` impostor pairs reach. An FMR is served only if the table has
``n ≥ MIN_EVENTS / f`` pairs, so that at least MIN_EVENTS impostor scores sit at the
threshold's tail; otherwise the threshold would be a guess, and we refuse it.

Large galleries need FMRs far below what any table of a few thousand pairs backs (FPIR
0.003 over 420 entries needs FMR 7e-6). ``extrapolated_threshold`` serves those from an
exponential fit to the stored tail (peaks over threshold). It says so (``extrapolated``):
such a threshold was never observed, only modelled. An exponential tail is heavier than a
Gaussian one, so for light-tailed impostor scores it errs towards higher thresholds
(fewer false matches, lower TIR).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from bioexit.embedding.types import Metric, ModelInfo
from bioexit.errors import CalibrationError, UnsupportedFMRError

FMR_MIN, FMR_MAX = 1e-5, 1e-2
MIN_EVENTS = 5
MIN_TAIL_FIT = 20  # stored tail scores needed to fit the exponential tail
STANDARD_FMRS = (1e-2, 1e-3, 1e-4, 1e-5)


def threshold_at_fmr(impostors_descending: npt.ArrayLike, fmr: float, total: int | None = None) -> float:
    """Lowest score that at most ``floor(fmr × total)`` impostor scores reach.

    ``impostors_descending`` holds the highest impostor scores, best first (all of
    them, or at least the top ``floor(fmr × total) + 1``); ``total`` is the number of
    impostor pairs they were taken from (default: their count).
    """
    tail = np.asarray(impostors_descending, dtype=np.float64)
    allowed = math.floor(fmr * (tail.size if total is None else total))
    if allowed >= tail.size:
        return float(tail[-1])
    return float(np.nextafter(tail[allowed], np.inf))


@dataclass(frozen=True, slots=True)
class FmrPoint:
    fmr: float
    threshold: float | None
    impostor_pairs: int
    impostors_at_or_above: int | None
    supported: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "fmr": self.fmr,
            "threshold": self.threshold,
            "impostor_pairs": self.impostor_pairs,
            "impostors_at_or_above": self.impostors_at_or_above,
            "supported": self.supported,
        }


@dataclass(frozen=True, slots=True)
class CalibrationTable:
    model_id: str
    model_version: str
    metric: Metric
    impostor_pairs: int
    tail: tuple[float, ...]  # highest impostor scores, descending
    genuine_pairs: int = 0
    source: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_scores(
        cls,
        info: ModelInfo,
        impostor_scores: npt.ArrayLike,
        *,
        genuine_pairs: int = 0,
        source: str = "",
        extra: Mapping[str, Any] | None = None,
    ) -> CalibrationTable:
        impostors = np.sort(np.asarray(impostor_scores, dtype=np.float64).ravel())[::-1]
        if impostors.size == 0:
            raise CalibrationError("no impostor scores", expected="at least one impostor pair", got="0")
        keep = min(impostors.size, math.ceil(FMR_MAX * impostors.size) + 1)
        return cls(
            model_id=info.model_id,
            model_version=info.version,
            metric=info.metric,
            impostor_pairs=int(impostors.size),
            tail=tuple(float(s) for s in impostors[:keep]),
            genuine_pairs=genuine_pairs,
            source=source,
            extra=dict(extra or {}),
        )

    def point(self, fmr: float) -> FmrPoint:
        if not FMR_MIN <= fmr <= FMR_MAX:
            return FmrPoint(fmr, None, self.impostor_pairs, None, False)
        if self.impostor_pairs * fmr < MIN_EVENTS:
            return FmrPoint(fmr, None, self.impostor_pairs, None, False)
        threshold = threshold_at_fmr(self.tail, fmr, self.impostor_pairs)
        reached = sum(1 for s in self.tail if s >= threshold)
        return FmrPoint(fmr, threshold, self.impostor_pairs, reached, True)

    def threshold(self, fmr: float) -> float:
        """Score threshold for ``fmr``; UnsupportedFMRError where the table cannot back it."""
        if not FMR_MIN <= fmr <= FMR_MAX:
            raise UnsupportedFMRError(
                "false-match rate out of range", expected=f"{FMR_MIN:g} … {FMR_MAX:g}", got=fmr
            )
        point = self.point(fmr)
        if point.threshold is None:
            needed = math.ceil(MIN_EVENTS / fmr)
            raise UnsupportedFMRError(
                f"the {self.model_id}@{self.model_version} calibration table cannot back FMR {fmr:g}",
                expected=f"at least {needed:,} impostor pairs (`bioexit bench calibrate` on more data)",
                got=f"{self.impostor_pairs:,}",
            )
        return point.threshold

    def _tail_fit(self) -> tuple[float, float, int]:
        """(u, scale, k): P(score ≥ t) ≈ k/n · exp(-(t - u)/scale) for t ≥ u."""
        k = len(self.tail) - 1
        if k < MIN_TAIL_FIT:
            raise UnsupportedFMRError(
                "too few stored impostor scores to extrapolate the tail",
                expected=f"at least {MIN_TAIL_FIT + 1}",
                got=len(self.tail),
            )
        u = self.tail[k]
        scale = max(float(np.mean(np.asarray(self.tail[:k]) - u)), 1e-9)
        return u, scale, k

    def extrapolated_threshold(self, fmr: float) -> float:
        """Threshold for an FMR below the table's support, from the fitted exponential tail."""
        if not 0.0 < fmr < 1.0:
            raise UnsupportedFMRError("false-match rate out of range", expected="0 < fmr < 1", got=fmr)
        u, scale, k = self._tail_fit()
        fitted = u + scale * math.log(k / (self.impostor_pairs * fmr))
        # Never below what the observed scores allow: no more than fmr·n of them may reach it.
        return float(max(fitted, threshold_at_fmr(self.tail, fmr, self.impostor_pairs)))

    def modelled_fmr_at(self, score: float) -> float:
        """FMR at a score: empirical inside the stored tail, the fitted tail above its top score."""
        observed = self.fmr_at(score)
        if len(self.tail) > MIN_TAIL_FIT and score > self.tail[-1]:
            u, scale, k = self._tail_fit()
            return max(observed, min(1.0, k / self.impostor_pairs * math.exp(-(score - u) / scale)))
        return observed

    def fmr_at(self, score: float) -> float:
        """Empirical false-match rate at a score threshold (a lower bound below the stored tail)."""
        return sum(1 for s in self.tail if s >= score) / self.impostor_pairs

    def points(self, fmrs: Iterable[float] = STANDARD_FMRS) -> list[FmrPoint]:
        return [self.point(f) for f in fmrs]

    def require_model(self, info: ModelInfo) -> None:
        if (info.model_id, info.version) != (self.model_id, self.model_version):
            raise CalibrationError(
                "calibration table is for another model",
                expected=info.key,
                got=f"{self.model_id}@{self.model_version}",
            )

    def to_json(self) -> str:
        body = {
            "model_id": self.model_id,
            "model_version": self.model_version,
            "metric": self.metric,
            "impostor_pairs": self.impostor_pairs,
            "genuine_pairs": self.genuine_pairs,
            "source": self.source,
            "extra": dict(self.extra),
            "points": [p.as_dict() for p in self.points()],
            "tail": list(self.tail),
        }
        return json.dumps(body, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> CalibrationTable:
        try:
            body = json.loads(text)
            return cls(
                model_id=str(body["model_id"]),
                model_version=str(body["model_version"]),
                metric=body["metric"],
                impostor_pairs=int(body["impostor_pairs"]),
                tail=tuple(float(s) for s in body["tail"]),
                genuine_pairs=int(body.get("genuine_pairs", 0)),
                source=str(body.get("source", "")),
                extra=dict(body.get("extra", {})),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CalibrationError(f"malformed calibration table: {exc}") from exc


def shipped_table(info: ModelInfo) -> CalibrationTable:
    """The calibration table that ships with bioexit for a model."""
    name = f"{info.model_id}@{info.version}.json"
    try:
        text = resources.files("bioexit.matching").joinpath("calibrations", name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CalibrationError(
            f"no calibration table ships for {info.key}",
            expected=f"bioexit/matching/calibrations/{name}, or a table from `bioexit bench calibrate`",
            got="none",
        ) from exc
    table = CalibrationTable.from_json(text)
    table.require_model(info)
    return table
