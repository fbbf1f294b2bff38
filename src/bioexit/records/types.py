"""What the records store takes in and hands back: plain frozen dataclasses, so the lane pipeline
maps its own types to these and the store knows nothing about lanes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol, runtime_checkable

from bioexit.documents.mrz import DocumentKind
from bioexit.embedding.types import Template

Citizenship = Literal["citizen", "non_citizen", "unknown"]
CITIZENSHIPS: tuple[Citizenship, ...] = ("citizen", "non_citizen", "unknown")
# The values of ``bioexit.documents.DocumentKind`` (passport, passport-card, visa, ...).
DOCUMENT_KINDS: tuple[str, ...] = tuple(kind.value for kind in DocumentKind)
DecisionOutcome = Literal["confirmed", "no_match", "not_captured"]
DECISION_OUTCOMES: tuple[DecisionOutcome, ...] = ("confirmed", "no_match", "not_captured")
ReviewOutcome = Literal["confirmed", "rejected"]


@dataclass(frozen=True, slots=True)
class EncounterRecord:
    """One vehicle at one lane. Ingest is idempotent on ``encounter_id``."""

    encounter_id: str
    port: str
    lane: str
    started_at: datetime
    direction: Literal["outbound", "inbound"] = "outbound"


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """One occupant's best face. ``image`` is the encoded face image (JPEG, PNG or JPEG 2000);
    it is sealed before it touches the disk, or not stored at all (opt-out, past deadline)."""

    capture_key: str  # unique within the encounter, e.g. "occupant-0"
    image: bytes = field(repr=False)
    quality: float
    captured_at: datetime
    template: Template | None = field(default=None, repr=False)
    traveller_id: str | None = None  # who it is, where known before the decisions
    camera_id: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """The lane's decision about one occupant. ``confirmed`` needs ``traveller_id`` and becomes a
    departure; ``no_match`` and ``not_captured`` wait for an officer (``RecordsStore.adjudicate``)."""

    decision_id: str
    outcome: DecisionOutcome
    method: str  # e.g. "1:1-document", "1:N-encounters"
    capture_key: str | None = None
    traveller_id: str | None = None
    score: float | None = None
    reason: str | None = None  # the lane's words, e.g. "no gallery entry matches at the stated FMR"


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Returned only after the encounter is committed: everything named here is durable."""

    encounter_id: str
    departures: tuple[str, ...]
    pending_reviews: tuple[str, ...]
    stored_captures: tuple[str, ...]  # capture keys whose face was kept (sealed)
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Adjudication:
    decision_id: str
    outcome: ReviewOutcome
    departure_id: str | None


@dataclass(frozen=True, slots=True)
class EntryRecord:
    entry_id: str
    traveller_id: str
    port: str
    admitted_on: date
    admit_until: date | None


@runtime_checkable
class GalleryIndex(Protocol):
    """Where non-citizen encounter templates are searched (a gallery backend). ``remove`` must
    accept ids it does not hold, so a sweep that is run again can repeat it."""

    def add(self, entry_id: str, subject_id: str, template: Template) -> None: ...

    def remove(self, ids: Sequence[str]) -> None: ...
