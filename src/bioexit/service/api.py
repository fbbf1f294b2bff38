"""The /v1 routes over the records: lane submissions, vehicles, captures, reviews, departures, audit.

Every route declares its roles (``allow``); every record read is also checked against the
caller's ports (``require_port``), so an officer of one port cannot see another port's vehicles.
Biometric reads (capture images) are audited with the caller's stated purpose.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from bioexit.audit.chain import AuditAction
from bioexit.encounters import Encounter, FrameRef, parse_encounter
from bioexit.errors import EncounterFormatError, RecordConflictError, RecordNotFoundError
from bioexit.lane.frames import decode_frames
from bioexit.lane.recording import gallery_from_records
from bioexit.records import views
from bioexit.records.store import RecordsStore
from bioexit.service.access import allow, require_port
from bioexit.service.auth import Principal, Role
from bioexit.service.params import IsoDate, PurposeQuery
from bioexit.service.runtime import Runtime

V1 = "/v1"
ADJUDICATION = "adjudication of a lane no-match"
OFFICERS = (Role.OFFICER, Role.SUPERVISOR)
ENCOUNTER_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["encounter", "frames"],
                    "properties": {
                        "encounter": {
                            "type": "string",
                            "description": "encounter.json (bioexit.encounter/1)",
                        },
                        "frames": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "frame files; each file name as encounter.json names it",
                        },
                    },
                }
            }
        },
    }
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReviewDecision(_Body):
    outcome: Literal["confirmed", "rejected"]
    reason: str = Field(min_length=3, max_length=500)
    traveller_id: str | None = Field(None, max_length=64, description="who it is; needed to confirm")


def _ports(principal: Principal) -> frozenset[str] | None:
    return None if principal.all_ports else principal.ports


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


class _MemoryMultiPartParser(MultiPartParser):
    """Keeps every uploaded part in memory (the body size limit bounds it): frames are biometric
    and must never be spooled to a temporary file in plain form."""

    spool_max_size = 1 << 62


async def _read_form(request: Request, max_bytes: int) -> FormData:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise EncounterFormatError(
            "wrong content type", expected="multipart/form-data", got=content_type or "none"
        )
    try:
        parser = _MemoryMultiPartParser(
            request.headers, request.stream(), max_files=64, max_fields=8, max_part_size=max_bytes
        )
        return await parser.parse()
    except MultiPartException as exc:
        raise EncounterFormatError(f"the upload is not valid multipart: {exc}") from None


async def _submission(form: FormData) -> tuple[Encounter, dict[str, bytes]]:
    part = form.get("encounter")
    if part is None:
        raise EncounterFormatError(
            "no encounter part", expected="a part named 'encounter'", got=sorted(form.keys())
        )
    raw = await part.read() if isinstance(part, UploadFile) else part.encode()
    encounter = parse_encounter(raw)
    files: dict[str, bytes] = {}
    for upload in form.getlist("frames"):
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise EncounterFormatError("a frame part has no file name", expected="file parts named 'frames'")
        files[upload.filename] = await upload.read()
    return encounter, files


def add_api_routes(app: FastAPI) -> None:
    @app.post(
        f"{V1}/lanes/{{port}}/{{lane}}/encounters",
        tags=["lane"],
        openapi_extra=ENCOUNTER_BODY,
        responses={
            409: {"description": "Idempotency-Key already used for another encounter"},
            503: {"description": "processing queue full; retry after Retry-After seconds"},
        },
    )
    async def submit_encounter(
        port: str,
        lane: str,
        request: Request,
        principal: Annotated[Principal, allow(Role.LANE_DEVICE)],
        idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=128)],
    ) -> dict[str, Any]:
        """A lane device submits one vehicle (encounter.json plus frames) and gets the decision.

        Submitting the same encounter again (same Idempotency-Key) returns the same decision; a
        key reused for another encounter is refused.
        """
        runtime = _runtime(request)
        require_port(principal, port)
        form = await _read_form(request, runtime.settings.service.max_upload_bytes)
        encounter, files = await _submission(form)
        if (encounter.port, encounter.lane) != (port, lane):
            raise EncounterFormatError(
                "encounter is for another lane",
                expected=f"{port}/{lane}",
                got=f"{encounter.port}/{encounter.lane}",
            )
        bound = runtime.claim_idempotency_key(idempotency_key, encounter.encounter_id)
        if bound is not None:
            raise RecordConflictError(
                "Idempotency-Key already used", expected="a new key", got="another encounter"
            )

        def fetch(ref: FrameRef) -> bytes | None:
            return files.get(ref.file)

        recorded = await runtime.submit(
            encounter,
            lambda: decode_frames(encounter, fetch, runtime.settings.images),
            timeout=runtime.settings.service.decision_timeout_seconds,
        )
        return {
            "result": json.loads(recorded.result.to_json()),
            "acknowledgement": asdict(recorded.acknowledgement),
        }

    @app.get(f"{V1}/vehicles", tags=["lane"])
    async def list_vehicles(
        request: Request,
        principal: Annotated[Principal, allow(*OFFICERS)],
        limit: Annotated[int, Query(ge=1, le=200)] = 20,
    ) -> list[dict[str, Any]]:
        """The latest vehicles at the caller's ports, with each occupant's decision."""
        return views.vehicles(_runtime(request).store, _ports(principal), limit)

    @app.get(
        f"{V1}/captures/{{capture_id}}/{{kind}}",
        tags=["lane"],
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}, "description": "the face, JPEG"}, 503: {}},
    )
    async def capture_image(
        capture_id: str,
        kind: Literal["thumbnail", "image"],
        request: Request,
        principal: Annotated[Principal, allow(*OFFICERS)],
        purpose: PurposeQuery,
    ) -> Response:
        """A capture's face (JPEG). The read is audited with the stated purpose."""
        store = _runtime(request).store
        port = views.capture_port(store, capture_id)
        if port is None:
            raise RecordNotFoundError("no such capture", expected="a recorded capture id", got=capture_id)
        require_port(principal, port)
        image = await asyncio.to_thread(
            store.read_capture_image,
            capture_id,
            actor=principal.subject,
            role=_role(principal),
            purpose=purpose,
            kind=kind,
        )
        return Response(image, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @app.get(f"{V1}/reviews", tags=["review"])
    async def list_reviews(
        request: Request, principal: Annotated[Principal, allow(Role.OFFICER)]
    ) -> list[dict[str, Any]]:
        """No-matches (and occupants not captured) waiting for an officer at the caller's ports."""
        return views.reviews(_runtime(request).store, _ports(principal))

    @app.get(f"{V1}/reviews/{{review_id:path}}", tags=["review"], responses={503: {}})
    async def get_review(
        review_id: str, request: Request, principal: Annotated[Principal, allow(Role.OFFICER)]
    ) -> dict[str, Any]:
        """One review item: the capture, and the closest travellers in the records with scores.

        Opening it is a biometric read and a 1:N search, both audited as adjudication."""
        runtime = _runtime(request)
        item = _review(runtime, principal, review_id)
        capture_id = item["capture_id"]
        candidates = (
            [] if capture_id is None else await asyncio.to_thread(_candidates, runtime, principal, capture_id)
        )
        return {
            **item,
            "capture_url": None
            if capture_id is None
            else f"{V1}/captures/{capture_id}/image?purpose={quote(ADJUDICATION)}",
            "candidates": candidates,
        }

    @app.post(
        f"{V1}/decisions/{{review_id:path}}",
        tags=["review"],
        responses={409: {"description": "the review is already settled"}, 503: {}},
    )
    async def decide_review(
        review_id: str,
        body: ReviewDecision,
        request: Request,
        principal: Annotated[Principal, allow(Role.OFFICER)],
    ) -> dict[str, Any]:
        """An officer settles a review: only a confirmation naming the traveller makes a departure."""
        runtime = _runtime(request)
        item = _review(runtime, principal, review_id)
        decided = await asyncio.to_thread(
            runtime.store.adjudicate,
            review_id,
            officer=principal.subject,
            outcome=body.outcome,
            reason=body.reason,
            traveller_id=body.traveller_id,
        )
        if decided.departure_id is not None:
            runtime.events.publish(
                "departure",
                {"departure_id": decided.departure_id, "port": item["port"], "lane": item["lane"]},
            )
        vehicle = views.vehicles(runtime.store, None, encounter_id=item["encounter_id"])
        if vehicle:
            runtime.events.publish("vehicle", vehicle[0])
        return asdict(decided)

    @app.get(f"{V1}/departures/counts", tags=["departures"])
    async def departure_counts(
        request: Request,
        principal: Annotated[Principal, allow(*OFFICERS)],
        since: IsoDate | None = None,
    ) -> list[dict[str, Any]]:
        """Departures per UTC day, port, lane and citizenship class, at the caller's ports."""
        return views.departure_counts(_runtime(request).store, _ports(principal), since)

    @app.get(
        f"{V1}/stream",
        tags=["departures"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "the event stream"}},
    )
    async def stream(
        request: Request, principal: Annotated[Principal, allow(*OFFICERS)]
    ) -> StreamingResponse:
        """Server-Sent Events: ``vehicle`` as each vehicle is recorded or settled, ``departure``."""
        ports = _ports(principal)
        runtime = _runtime(request)

        async def visible() -> AsyncIterator[str]:
            async for chunk in runtime.events.stream(lifetime=runtime.settings.service.stream_seconds):
                if ports is None or not chunk.startswith("id:") or _port_of(chunk) in ports:
                    yield chunk

        return StreamingResponse(
            visible(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @app.get(f"{V1}/audit", tags=["audit"])
    async def audit_log(
        request: Request,
        _principal: Annotated[Principal, allow(Role.AUDITOR)],
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, Any]]:
        """The latest audit entries, newest first (references and keyed hashes, never raw data)."""
        return views.audit_entries(_runtime(request).store, limit)

    @app.get(f"{V1}/audit/verify", tags=["audit"])
    async def audit_verify(
        request: Request, _principal: Annotated[Principal, allow(Role.AUDITOR)]
    ) -> dict[str, Any]:
        """Check the whole chain; names the first edited, removed or reordered entry."""
        result = await asyncio.to_thread(_runtime(request).store.audit.verify)
        return {
            "ok": result.ok,
            "entries": result.checked,
            "first_bad": result.first_bad_sequence,
            "reason": result.reason,
        }


def _port_of(chunk: str) -> str | None:
    for line in chunk.splitlines():
        if line.startswith("data: "):
            try:
                value = json.loads(line[6:]).get("port")
            except (ValueError, AttributeError):
                return None
            return value if isinstance(value, str) else None
    return None


def _role(principal: Principal) -> str:
    # The audit names one role: the most specific one the caller holds for this kind of work.
    for role in (Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN, Role.LANE_DEVICE):
        if role in principal.roles:
            return role.value
    return "unknown"


def _candidates(runtime: Runtime, principal: Principal, capture_id: str, k: int = 3) -> list[dict[str, Any]]:
    store = runtime.store
    actor, role = principal.subject, _role(principal)
    if not store.has_capture_template(capture_id):
        return []  # not captured at matching quality: the officer compares by eye
    probe = store.read_capture_template(capture_id, actor=actor, role=role, purpose=ADJUDICATION)
    info = runtime.pipeline().engine.embedder.info
    gallery = gallery_from_records(store, info, actor=actor, role=role, purpose=ADJUDICATION)
    if len(gallery) == 0:
        return []
    hits = store.audited_search(
        action=AuditAction.IDENTIFY_1_N,
        actor=actor,
        role=role,
        purpose=ADJUDICATION,
        subject_ref=store.ref("capture", capture_id),
        search=lambda: gallery.search.search(probe, k * 2),
        outcome=lambda found: f"{len(found)} candidates",
    )
    best: dict[str, dict[str, Any]] = {}
    for entry_id, traveller_id, score in hits:
        if traveller_id not in best:
            best[traveller_id] = {"traveller_id": traveller_id, "entry": entry_id, "score": round(score, 4)}
    return _with_document_photos(store, list(best.values())[:k])


def _with_document_photos(store: RecordsStore, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each candidate's document portrait (thumbnail URL, read audited as adjudication), if kept."""
    photos = views.document_photos(store, [c["traveller_id"] for c in candidates])
    for candidate in candidates:
        source, _, ident = candidate["entry"].partition(":")
        shown = (
            ident
            if source == "document" and ident in photos.values()
            else photos.get(candidate["traveller_id"])
        )
        candidate["document_id"] = shown
        candidate["document_photo_url"] = (
            None
            if shown is None
            else f"{V1}/documents/{quote(shown, safe='')}/thumbnail?purpose={quote(ADJUDICATION)}"
        )
    return candidates


def _review(runtime: Runtime, principal: Principal, review_id: str) -> dict[str, Any]:
    found = views.reviews(runtime.store, None, decision_id=review_id)
    if not found:
        raise RecordNotFoundError("no such review", expected="a decision id", got=review_id)
    item = found[0]
    require_port(principal, item["port"])
    return item
