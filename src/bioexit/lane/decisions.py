"""Occupants → decisions: ``confirmed``, ``no_match`` (an officer decides) or ``not_captured``.

* **Documents read**: occupants with a passing capture are assigned one-to-one to the
  presented documents' photos by an optimal assignment over the 1:1 scores of their fused
  templates (:func:`bioexit.lane.assignment.assign`): first as many pairs as possible, then
  the highest total score, and only pairs at or above the threshold of the stated false-match
  rate. Occupants left without a document go to an officer.
* **No documents**: 1:N against the gallery (document and earlier encounter photos). The
  same assignment runs over occupants × subjects (each subject's best entry), so one person
  is never confirmed twice in a vehicle; an occupant for whom a second subject also passes the
  threshold is ambiguous and goes to an officer.
* In both, a pair is only allowed when the fused template reaches the threshold *and* each
  fused capture on its own reaches the (lower) score at :data:`CAPTURE_AGREEMENT_FMR`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bioexit.embedding.types import Template, similarity
from bioexit.encounters import DocumentRead
from bioexit.lane.assignment import assign
from bioexit.lane.gallery import LaneGallery
from bioexit.lane.occupants import OccupantTrack
from bioexit.lane.result import OccupantStatus
from bioexit.matching import Matcher

CAPTURE_AGREEMENT_FMR = 1e-2
"""Each fused capture alone must reach the score at this FMR against the confirmed reference."""


@dataclass(frozen=True, slots=True)
class Decision:
    status: OccupantStatus
    reason: str
    identity: str | None = None
    entry_id: str | None = None
    document: int | None = None
    score: float | None = None


def _captures_agree(occupant: OccupantTrack, reference: Template, floor: float) -> bool:
    """Every fused capture must look like the reference on its own (score ≥ ``floor``), so that a
    capture of someone else (a box that slipped to a neighbour) cannot lift a blend over the line."""
    return all(c.template is None or similarity(c.template, reference) >= floor for c in occupant.captures)


def _not_captured(occupant: OccupantTrack) -> Decision:
    if occupant.best_attempt is None:
        return Decision("not_captured", "no face could be assessed")
    failed = ", ".join(occupant.best_attempt.validation.failed_components)
    return Decision("not_captured", f"no capture passed the quality profile (best one failed: {failed})")


def decide_with_documents(
    occupants: Sequence[OccupantTrack],
    documents: Sequence[DocumentRead],
    gallery: LaneGallery,
    matcher: Matcher,
) -> tuple[list[Decision], list[int]]:
    """Decisions per occupant, and the indexes of documents no occupant matched."""
    known = [(k, gallery.by_document(d.document_number)) for k, d in enumerate(documents)]
    references = [(k, entry) for k, entry in known if entry is not None]
    captured = [i for i, o in enumerate(occupants) if o.template is not None]
    scores = np.full((len(captured), len(references)), -np.inf)
    for r, i in enumerate(captured):
        probe = occupants[i].template
        assert probe is not None
        for c, (_, entry) in enumerate(references):
            scores[r, c] = similarity(probe, gallery.templates[entry])
    allowed = scores >= matcher.threshold
    floor = matcher.table.threshold(CAPTURE_AGREEMENT_FMR)
    for r, i in enumerate(captured):
        for c, (_, entry) in enumerate(references):
            if allowed[r, c] and not _captures_agree(occupants[i], gallery.templates[entry], floor):
                allowed[r, c] = False
    pairs = dict(assign(np.where(allowed, scores, 0.0), allowed))
    decisions = []
    used = set()
    for i, occupant in enumerate(occupants):
        if occupant.template is None:
            decisions.append(_not_captured(occupant))
            continue
        r = captured.index(i)
        best = float(scores[r].max()) if references else None
        if r in pairs:
            k, entry = references[pairs[r]]
            used.add(k)
            decisions.append(
                Decision(
                    "confirmed",
                    "matched a presented document's photo in the optimal one-to-one assignment",
                    gallery.subjects[entry],
                    entry,
                    k,
                    float(scores[r, pairs[r]]),
                )
            )
        elif not references:
            decisions.append(Decision("no_match", "no presented document has a photo in the gallery"))
        elif allowed[r].any():
            decisions.append(
                Decision(
                    "no_match",
                    "the documents this face matches went to better-matching occupants",
                    score=best,
                )
            )
        else:
            decisions.append(
                Decision("no_match", "no presented document's photo matches at the stated FMR", score=best)
            )
    unmatched = [k for k in range(len(documents)) if k not in used]
    return decisions, unmatched


def decide_with_gallery(
    occupants: Sequence[OccupantTrack], gallery: LaneGallery, matcher: Matcher, k: int = 10
) -> list[Decision]:
    captured = [i for i, o in enumerate(occupants) if o.template is not None]
    best_entry: list[dict[str, tuple[str, float]]] = []
    for i in captured:
        template = occupants[i].template
        assert template is not None
        found: dict[str, tuple[str, float]] = {}
        if len(gallery):
            for candidate in matcher.identify(template, gallery.search, k).candidates:
                if candidate.subject_id not in found:
                    found[candidate.subject_id] = (candidate.entry_id, candidate.score)
        best_entry.append(found)
    subjects = sorted({s for found in best_entry for s in found})
    scores = np.full((len(captured), len(subjects)), -np.inf)
    for r, found in enumerate(best_entry):
        for c, subject in enumerate(subjects):
            if subject in found:
                scores[r, c] = found[subject][1]
    allowed = scores >= matcher.threshold
    floor = matcher.table.threshold(CAPTURE_AGREEMENT_FMR)
    for r, i in enumerate(captured):
        for c, subject in enumerate(subjects):
            entry = best_entry[r].get(subject)
            if (
                allowed[r, c]
                and entry
                and not _captures_agree(occupants[i], gallery.templates[entry[0]], floor)
            ):
                allowed[r, c] = False
    ambiguous = allowed.sum(axis=1) > 1
    usable = allowed & ~ambiguous[:, None]
    pairs = dict(assign(np.where(usable, scores, 0.0), usable))
    decisions = []
    for i, occupant in enumerate(occupants):
        if occupant.template is None:
            decisions.append(_not_captured(occupant))
            continue
        r = captured.index(i)
        best = float(scores[r].max()) if subjects else None
        if not len(gallery):
            decisions.append(Decision("no_match", "the gallery is empty"))
        elif ambiguous[r]:
            decisions.append(
                Decision("no_match", "more than one gallery subject matches at the stated FMR", score=best)
            )
        elif r in pairs:
            subject = subjects[pairs[r]]
            entry_id, score = best_entry[r][subject]
            decisions.append(
                Decision("confirmed", "identified in the gallery", subject, entry_id, None, score)
            )
        elif allowed[r].any():
            decisions.append(
                Decision("no_match", "its match was taken by a better-matching occupant", score=best)
            )
        else:
            decisions.append(Decision("no_match", "no gallery entry matches at the stated FMR", score=best))
    return decisions
