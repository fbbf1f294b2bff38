"""1:1 verification and 1:N identification at a stated false-match rate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bioexit.embedding.types import ModelInfo, Template, scores
from bioexit.errors import GalleryError
from bioexit.matching.calibration import CalibrationTable, FmrPoint, shipped_table
from bioexit.matching.index import ExactIndex, SearchHits, VectorIndex

__all__ = [
    "CalibrationTable",
    "Candidate",
    "ExactIndex",
    "FmrPoint",
    "Gallery",
    "Identification",
    "Matcher",
    "SearchHits",
    "VectorIndex",
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
    """Templates of one model with their subjects, searched through a vector index.

    The index defaults to exact in-memory search; ``bioexit.galleries.index`` builds
    persistent, approximate (faiss) and distributed (Milvus) ones.
    """

    def __init__(self, model: ModelInfo, index: VectorIndex | None = None) -> None:
        self.model = model
        self.index: VectorIndex = index if index is not None else ExactIndex(model.dim, model.metric)
        if (self.index.dim, self.index.metric) != (model.dim, model.metric):
            raise GalleryError(
                "index does not fit the model",
                expected=f"{model.dim}-D {model.metric}",
                got=f"{self.index.dim}-D {self.index.metric}",
            )
        self._subjects: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.index)

    def has(self, entry_id: str) -> bool:
        return entry_id in self._subjects

    def subject_of(self, entry_id: str) -> str:
        return self._subjects[entry_id]

    def entries(self) -> dict[str, str]:
        """Entry id → subject id."""
        return dict(self._subjects)

    def add(self, entry_id: str, subject_id: str, template: Template) -> None:
        self.add_many([(entry_id, subject_id, template)])

    def add_many(self, entries: Sequence[tuple[str, str, Template]]) -> None:
        for _, _, template in entries:
            template.require_model(self.model.key)
        if not entries:
            return
        self.index.add([e for e, _, _ in entries], np.stack([t.vector for _, _, t in entries]))
        self._subjects.update((e, s) for e, s, _ in entries)

    def restore_subjects(self, subjects: dict[str, str]) -> None:
        """Attach the subject map of a reloaded index (every indexed entry needs one)."""
        missing = [e for e in subjects if not self.index.has(e)]
        if len(subjects) != len(self.index) or missing:
            raise GalleryError(
                "subject map does not match the index",
                expected=f"{len(self.index)} indexed entries",
                got=f"{len(subjects)} subjects, {len(missing)} not indexed",
            )
        self._subjects = dict(subjects)

    def remove(self, entry_id: str) -> None:
        self.remove_many([entry_id])

    def remove_many(self, entry_ids: Sequence[str]) -> None:
        self.index.remove(entry_ids)
        for entry_id in entry_ids:
            del self._subjects[entry_id]

    def search(self, probe: Template, k: int) -> list[tuple[str, str, float]]:
        """Top-k entries by score: (entry id, subject id, score), best first."""
        return self.search_many([probe], k)[0]

    def search_many(self, probes: Sequence[Template], k: int) -> list[list[tuple[str, str, float]]]:
        """Top-k per probe, searched as one batch."""
        for probe in probes:
            probe.require_model(self.model.key)
        if not len(self.index):
            raise GalleryError(
                "cannot search an empty gallery", expected="at least one entry", got="0 entries"
            )
        hits = self.index.search(np.stack([p.vector for p in probes]), k)
        return [
            [(e, self._subjects[e], float(s)) for e, s in zip(ids, row, strict=False)]
            for ids, row in zip(hits.ids, hits.scores, strict=True)
        ]


class Matcher:
    """Decides matches at one false-match rate, with the threshold from a calibration table."""

    def __init__(self, table: CalibrationTable, fmr: float, threshold: float | None = None) -> None:
        """``threshold``: one already derived from ``table`` at ``fmr`` (a gallery's FPIR-calibrated
        one, for example); by default the table's own, which refuses unsupported FMRs up front."""
        self.table = table
        self.fmr = fmr
        self.threshold = table.threshold(fmr) if threshold is None else threshold

    def _check(self, template: Template) -> None:
        template.require_model(f"{self.table.model_id}@{self.table.model_version}")

    def verify(self, probe: Template, reference: Template) -> Verification:
        self._check(probe)
        self._check(reference)
        score = float(scores(probe.metric, probe.vector, reference.vector[None, :])[0])
        return Verification(score, self.threshold, self.fmr, score >= self.threshold)

    def identify(self, probe: Template, gallery: Gallery, k: int = 5) -> Identification:
        self._check(probe)
        return self.candidates(gallery.search(probe, k), len(gallery))

    def candidates(self, found: Sequence[tuple[str, str, float]], gallery_size: int) -> Identification:
        """Ranked search hits (entry, subject, score), best first, judged at this threshold."""
        ranked = tuple(
            Candidate(entry, subject, score, rank, score >= self.threshold)
            for rank, (entry, subject, score) in enumerate(found, start=1)
        )
        return Identification(ranked, self.threshold, self.fmr, gallery_size)
