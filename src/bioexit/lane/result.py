"""The result of processing one vehicle: pydantic, frozen, unknown keys refused, with a published schema.

A result names occupants (``occ-1``…), never raw images or templates. Document reads are
referred to by their index in ``encounter.json``'s ``documents``: the result does not repeat
document numbers.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bioexit.errors import StoredResultError

RESULT_SCHEMA_ID: Final = "bioexit.vehicle-result/1"

OccupantStatus = Literal["confirmed", "no_match", "not_captured"]
DecisionMode = Literal["documents", "gallery"]
RejectReason = Literal["static", "outside_vehicle", "on_clothing", "not_a_face", "unlinked_view"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Box(_Strict):
    camera_id: str
    frame: int = Field(ge=0, description="index of the frame in encounter.json's frames")
    x1: float
    y1: float
    x2: float
    y2: float


class Capture(_Strict):
    """A face image of an occupant in one frame that the quality profile was applied to."""

    box: Box
    detection_score: float
    quality: float = Field(description="unified quality score, 0–100")
    passed: bool
    failures: tuple[str, ...] = Field(default=(), description="quality components outside the profile")


class Occupant(_Strict):
    occupant_id: str
    status: OccupantStatus
    identity: str | None = Field(None, description="subject id, only when confirmed")
    gallery_entry: str | None = Field(None, description="the gallery entry matched, only when confirmed")
    document: int | None = Field(None, description="index of the assigned document read, when confirmed")
    score: float | None = Field(None, description="1:1 or best 1:N score of the fused template")
    threshold: float | None = None
    fmr: float | None = None
    reason: str = Field(description="why this status, in words")
    cameras: tuple[str, ...]
    frames_seen: int = Field(ge=1)
    track: tuple[Box, ...] = Field(description="every box of this occupant, in frame order")
    captures: tuple[Capture, ...] = Field(description="captures that passed, best first; fused for matching")
    best_attempt: Capture | None = Field(None, description="the best capture that failed, when none passed")

    @model_validator(mode="after")
    def _status_fields(self) -> Occupant:
        confirmed = self.status == "confirmed"
        if confirmed != (self.identity is not None):
            raise ValueError("identity is set exactly when status is confirmed")
        if self.status == "not_captured" and self.captures:
            raise ValueError("a not_captured occupant has no passing capture")
        if self.status != "not_captured" and not self.captures:
            raise ValueError(f"a {self.status} occupant needs a passing capture")
        return self


class RejectedFace(_Strict):
    """A face track that is not an occupant (poster, print on clothing, passer-by, not a face)."""

    reason: RejectReason
    detail: str
    boxes: tuple[Box, ...]


class FrameError(_Strict):
    """A frame that could not be used; the rest of the vehicle was processed without it."""

    frame: int
    camera_id: str
    file: str
    error: str = Field(description="the bioexit error class, e.g. MissingFrameError")
    message: str


class Departure(_Strict):
    occupant_id: str
    identity: str


class VehicleResult(_Strict):
    schema_: Literal["bioexit.vehicle-result/1"] = Field(RESULT_SCHEMA_ID, alias="schema")
    encounter_id: str
    port: str
    lane: str
    direction: Literal["outbound", "inbound"]
    mode: DecisionMode = Field(description="documents: 1:1 assignment to the documents read; gallery: 1:N")
    model: str = Field(description="embedding model id@version")
    quality_profile: str
    fmr: float
    occupant_count: int = Field(ge=0)
    all_confirmed: bool = Field(description="every occupant confirmed (and at least one occupant)")
    occupants: tuple[Occupant, ...]
    departures: tuple[Departure, ...] = Field(description="one per confirmed occupant; nobody else departs")
    unmatched_documents: tuple[int, ...] = Field(description="indexes of document reads no occupant matched")
    rejected: tuple[RejectedFace, ...]
    frame_errors: tuple[FrameError, ...]
    frames_used: int = Field(ge=0)
    seconds: float = Field(ge=0, description="processing time, frames decoded included")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _consistent(self) -> VehicleResult:
        if self.occupant_count != len(self.occupants):
            raise ValueError("occupant_count must equal the number of occupants")
        confirmed = [o for o in self.occupants if o.status == "confirmed"]
        if self.all_confirmed != (bool(self.occupants) and len(confirmed) == len(self.occupants)):
            raise ValueError("all_confirmed must say whether every occupant is confirmed")
        expected = [(o.occupant_id, o.identity) for o in confirmed]
        if [(d.occupant_id, d.identity) for d in self.departures] != expected:
            raise ValueError("departures must list exactly the confirmed occupants")
        return self

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


def parse_result(data: str | bytes) -> VehicleResult:
    """Validate a stored result; raise StoredResultError naming the problems."""
    try:
        return VehicleResult.model_validate_json(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise StoredResultError(f"stored result is not a valid {RESULT_SCHEMA_ID}: {problems}") from None


def result_json_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of a vehicle result."""
    schema = VehicleResult.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = RESULT_SCHEMA_ID
    return schema
