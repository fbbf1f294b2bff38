"""1:1 verification and 1:N identification at a stated false-match rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bioexit.embedding.types import ModelInfo, Template, scores
from bioexit.errors import GalleryError
from bioexit.matching.calibration import CalibrationTable, FmrPoint, shipped_table

__all__ = [
    "CalibrationTable",
    "Candidate",
    "FmrPoint",
    "Gallery",
    "Identification",
    "Matcher",
    "Verification",
    "shipped_table",
]


@dataclass(frozen=True, slots=True)
class Verification:
    score: float
    threshold: float
    fmr: float
    match: bool


@dataclass(frozen=True, slots=True)
class Candidate:
    entry_id: str
    subject_id: str
    score: float
    rank: int
    above_threshold: bool


@dataclass(frozen=True, slots=True)
class Identification:
    candidates: tuple[Candidate, ...]
    threshold: float
    fmr: float
    gallery_size: int

    @property
    def matches(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c.above_threshold)

    @property
    def fpir_bound(self) -> float:
        """Chance that a non-enrolled probe returns any candidate: at most N × FMR."""
        return min(1.0, self.gallery_size * self.fmr)


class Gallery:
    """An in-memory gallery of templates of one model; exact search."""

    def __init__(self, model: ModelInfo) -> None:
        self.model = model
        self._ids: list[str] = []
        self._subjects: list[str] = []
        self._rows: list[npt.NDArray[np.float32]] = []
        self._matrix: npt.NDArray[np.float32] | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, entry_id: str, subject_id: str, template: Template) -> None:
        template.require_model(self.model.key)
        if entry_id in self._ids:
            raise GalleryError("duplicate gallery entry", expected="a new entry id", got=entry_id)
        self._ids.append(entry_id)
        self._subjects.append(subject_id)
        self._rows.append(template.vector)
        self._matrix = None

    def remove(self, entry_id: str) -> None:
        try:
            index = self._ids.index(entry_id)
        except ValueError as exc:
            raise GalleryError(
                "unknown gallery entry", expected="an enrolled entry id", got=entry_id
            ) from exc
        del self._ids[index], self._subjects[index], self._rows[index]
        self._matrix = None

    def search(self, probe: Template, k: int) -> list[tuple[str, str, float]]:
        """Top-k entries by score: (entry id, subject id, score), best first."""
        probe.require_model(self.model.key)
        if not self._ids:
            raise GalleryError(
                "cannot search an empty gallery", expected="at least one entry", got="0 entries"
            )
        if self._matrix is None:
            self._matrix = np.stack(self._rows)
        all_scores = scores(self.model.metric, probe.vector, self._matrix)
        k = min(k, len(all_scores))
        top = np.argpartition(-all_scores, k - 1)[:k]
        top = top[np.argsort(-all_scores[top], kind="stable")]
        return [(self._ids[i], self._subjects[i], float(all_scores[i])) for i in top]


class Matcher:
    """Decides matches at one false-match rate, with the threshold from a calibration table."""

    def __init__(self, table: CalibrationTable, fmr: float) -> None:
        self.table = table
        self.fmr = fmr
        self.threshold = table.threshold(fmr)  # refuses unsupported FMRs up front

    def _check(self, template: Template) -> None:
        template.require_model(f"{self.table.model_id}@{self.table.model_version}")

    def verify(self, probe: Template, reference: Template) -> Verification:
        self._check(probe)
        self._check(reference)
        score = float(scores(probe.metric, probe.vector, reference.vector[None, :])[0])
        return Verification(score, self.threshold, self.fmr, score >= self.threshold)

    def identify(self, probe: Template, gallery: Gallery, k: int = 5) -> Identification:
        self._check(probe)
        found = gallery.search(probe, k)
        candidates = tuple(
            Candidate(entry, subject, score, rank, score >= self.threshold)
            for rank, (entry, subject, score) in enumerate(found, start=1)
        )
        return Identification(candidates, self.threshold, self.fmr, len(gallery))
