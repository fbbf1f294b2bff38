"""/v1 routes over travellers and documents: enrolment, document photos, 1:1 verification, 1:N
search, and the overstay report.

- Enrolment (officer, admin) creates a traveller and files a document for them, from a data-page
  image plus its machine-readable zone, or from the document's fields plus a photo. The portrait
  must pass the reference quality profile; it is kept sealed with its template.
- Searches (officer, supervisor) need a stated purpose, checked before anything runs, and go
  through ``RecordsStore.audited_search``: no audit entry, no search.
- Uploads are parsed in memory (never spooled to disk in plain form), like lane frames.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

import cv2
import numpy as np
from fastapi import FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from bioexit.audit.chain import MIN_PURPOSE_CHARS, AuditAction
from bioexit.detection.types import RGBImage
from bioexit.documents.enrol import EnrolledPortrait, enrol_chip, enrol_data_page
from bioexit.documents.mrz import DocumentKind, parse_mrz
from bioexit.errors import (
    DataError,
    NoFaceError,
    PortraitUnusableError,
    RecordConflictError,
    RecordNotFoundError,
)
from bioexit.imaging import decode_image
from bioexit.lane.recording import gallery_from_records
from bioexit.matching import Identification, Verification
from bioexit.records import reports, views
from bioexit.records.types import DOCUMENT_KINDS
from bioexit.service.access import allow, require_port
from bioexit.service.api import _MemoryMultiPartParser, _ports, _role, _runtime
from bioexit.service.auth import Principal, Role
from bioexit.service.params import IsoDate, Purpose, PurposeQuery
from bioexit.service.problems import problem
from bioexit.service.runtime import Runtime

V1 = "/v1"
ENROLLERS = (Role.OFFICER, Role.ADMIN)
SEARCHERS = (Role.OFFICER, Role.SUPERVISOR)
PHOTO_JPEG_QUALITY = 92
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"  # what record ids are made of; anything else is no id
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


RecordId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="a record id from this API")
]
Port = Annotated[str, Field(min_length=1, max_length=64, description="the enrolling office's port")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewTraveller(_Body):
    citizenship: Literal["citizen", "non_citizen", "unknown"]
    opt_out: bool = Field(False, description="a citizen who opted out: no encounter photo is kept")
    port: Port


class Traveller(_Body):
    traveller_id: str
    citizenship: str
    opt_out: bool


class DataPageFields(_Body):
    port: Port
    mrz: str = Field(min_length=30, max_length=200, description="the zone's lines (newlines or spaces)")
    kind: str | None = Field(None, description="what the document is, where the zone cannot say")


class PhotoFields(_Body):
    port: Port
    kind: str = Field(description=" | ".join(DOCUMENT_KINDS))
    number: str = Field(min_length=1, max_length=64, repr=False)
    issuing_state: str | None = Field(None, pattern=r"^[A-Z]{1,3}$")
    expiry_date: date | None = None


class EnrolledDocument(_Body):
    document_id: str
    traveller_id: str
    kind: str
    issuing_state: str | None
    expiry_date: date | None
    source: Literal["data-page", "photo"]
    portrait: dict[str, Any] = Field(description="where the portrait is, and its quality (no pixels)")


class VerifyFields(_Body):
    purpose: Purpose
    traveller_id: str | None = Field(None, max_length=64, pattern=ID_PATTERN)
    document_id: str | None = Field(None, max_length=64, pattern=ID_PATTERN)

    @model_validator(mode="after")
    def _one_reference(self) -> VerifyFields:
        if (self.traveller_id is None) == (self.document_id is None):
            raise ValueError("name exactly one reference: traveller_id or document_id")
        return self


class SearchFields(_Body):
    purpose: Purpose
    limit: int = Field(5, ge=1, le=50, description="most candidates returned")


class VerifyResult(_Body):
    traveller_id: str
    document_id: str
    score: float
    threshold: float
    fmr: float
    decision: Literal["match", "no_match"]


class SearchCandidate(_Body):
    rank: int
    traveller_id: str
    source: Literal["document", "encounter"]
    score: float
    document_id: str | None
    document_photo_url: str | None


class OverstayRow(_Body):
    traveller_id: str
    entry_id: str
    port: str
    admitted_on: date
    admit_until: date
    departed_on: date | None
    status: Literal["present", "departed_late"]
    days_over: int


class SearchResult(_Body):
    threshold: float
    fmr: float
    gallery_size: int
    candidates: list[SearchCandidate] = Field(description="above the 1:N threshold, best first")


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route documents (each an RFC 9457 problem)."""
    return {
        code: {"description": PROBLEM_TEXT[code], "content": {"application/problem+json": {}}}
        for code in codes
    }


PROBLEM_TEXT = {
    403: "role or port not allowed",
    404: "no such traveller or document",
    409: "document already recorded",
    422: "invalid request, image, zone or portrait (the problem names the field or failed components)",
    503: "busy (Retry-After), or the audit log cannot take the entry: refused",
}


def _multipart(*fields: tuple[str, dict[str, Any]], required: Sequence[str]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": list(required),
                        "properties": dict(fields),
                    }
                }
            },
        }
    }


_FILE = {"type": "string", "format": "binary"}
_TEXT = {"type": "string"}
_PURPOSE = {
    "type": "string",
    "minLength": MIN_PURPOSE_CHARS,
    "maxLength": 200,
    "description": "why (audited)",
}
DATA_PAGE_BODY = _multipart(
    ("port", _TEXT),
    ("mrz", {"type": "string", "description": "the machine-readable zone's lines"}),
    ("kind", {"type": "string", "enum": list(DOCUMENT_KINDS)}),
    ("page", {**_FILE, "description": "the data-page image (JPEG, PNG, JPEG 2000)"}),
    required=("port", "mrz", "page"),
)
PHOTO_BODY = _multipart(
    ("port", _TEXT),
    ("kind", {"type": "string", "enum": list(DOCUMENT_KINDS)}),
    ("number", _TEXT),
    ("issuing_state", {"type": "string", "pattern": "^[A-Z]{1,3}$"}),
    ("expiry_date", {"type": "string", "format": "date"}),
    ("photo", {**_FILE, "description": "the document portrait (chip image or a passport photo)"}),
    required=("port", "kind", "number", "photo"),
)
VERIFY_BODY = _multipart(
    ("purpose", _PURPOSE),
    ("traveller_id", _TEXT),
    ("document_id", _TEXT),
    ("photo", {**_FILE, "description": "the probe photo; its largest face is compared"}),
    required=("purpose", "photo"),
)
SEARCH_BODY = _multipart(
    ("purpose", _PURPOSE),
    ("limit", {"type": "integer", "minimum": 1, "maximum": 50}),
    ("photo", {**_FILE, "description": "the probe photo; its largest face is searched"}),
    required=("purpose", "photo"),
)


async def _read_form(request: Request, max_bytes: int) -> FormData:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise DataError("wrong content type", expected="multipart/form-data", got=content_type or "none")
    parser = _MemoryMultiPartParser(
        request.headers, request.stream(), max_files=2, max_fields=16, max_part_size=max_bytes
    )
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise DataError(f"the upload is not valid multipart: {exc}") from None


def _fields(form: FormData, model: type[M]) -> M:
    """The form's text fields as ``model``; errors answer 422 like any request body."""
    values = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None


async def _file(form: FormData, name: str) -> bytes:
    part = form.get(name)
    if not isinstance(part, UploadFile):
        raise RequestValidationError(
            [{"loc": ("body", name), "msg": "a file part is required", "type": "missing"}]
        )
    return await part.read()


def _jpeg(image: RGBImage) -> bytes:
    ok, encoded = cv2.imencode(
        ".jpg", np.ascontiguousarray(image[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, PHOTO_JPEG_QUALITY]
    )
    if not ok:
        raise DataError("cannot encode the portrait", expected="a non-empty crop", got=image.shape)
    return bytes(encoded)


def _document_kind(kind: str | None) -> DocumentKind | None:
    if kind is None:
        return None
    try:
        return DocumentKind(kind)
    except ValueError:
        raise RequestValidationError(
            [{"loc": ("body", "kind"), "msg": f"one of {', '.join(DOCUMENT_KINDS)}", "type": "enum"}]
        ) from None


def _usable(portrait: EnrolledPortrait) -> EnrolledPortrait:
    if not portrait.usable:
        report = portrait.report()
        failed = [f["component"] for f in report["failures"]] + report["flags"]
        raise PortraitUnusableError(
            "the portrait may not serve as a reference", expected=report["profile"], got=failed, report=report
        )
    return portrait


async def _portrait_problem(request: Request, exc: Exception) -> JSONResponse:
    """422 naming the failed quality components and flags (Starlette picks the most specific
    handler, so this one wins over the generic BioexitError one)."""
    assert isinstance(exc, PortraitUnusableError)
    return problem(
        422,
        "PortraitUnusableError",
        str(exc),
        request.url.path,
        kind="/problems/portrait-unusable",
        failures=exc.report.get("failures", []),
        flags=exc.report.get("flags", []),
    )


async def _keep(
    runtime: Runtime,
    principal: Principal,
    portrait: EnrolledPortrait,
    *,
    traveller_id: str,
    kind: DocumentKind,
    number: str,
    issuing_state: str | None,
    expiry_date: date | None,
    source: Literal["data-page", "photo"],
) -> EnrolledDocument:
    """File an enrolled document: number sealed, template and photo, audited as the caller's."""
    document_id = await asyncio.to_thread(
        runtime.store.add_document,
        traveller_id,
        kind,
        number,
        issuing_state=issuing_state,
        expiry_date=expiry_date,
        template=portrait.template,
        photo=_jpeg(portrait.crop),
        actor=principal.subject,
        role=_role(principal),
    )
    return EnrolledDocument(
        document_id=document_id,
        traveller_id=traveller_id,
        kind=kind.value,
        issuing_state=issuing_state,
        expiry_date=expiry_date,
        source=source,
        portrait=portrait.report(),
    )


async def _work(runtime: Runtime, job: Callable[[], T]) -> T:
    """CPU work on the bounded pool: 503 with Retry-After when it is full."""
    return await runtime.workers.run(job, runtime.settings.service.decision_timeout_seconds)


def document_photo_url(document_id: str, purpose: str, kind: str = "thumbnail") -> str:
    return f"{V1}/documents/{quote(document_id, safe='')}/{kind}?purpose={quote(purpose)}"


def add_records_routes(app: FastAPI) -> None:
    app.add_exception_handler(PortraitUnusableError, _portrait_problem)

    @app.post(f"{V1}/travellers", status_code=201, tags=["enrolment"], responses=_problems(403, 422))
    async def create_traveller(
        body: NewTraveller, request: Request, principal: Annotated[Principal, allow(*ENROLLERS)]
    ) -> Traveller:
        """File a traveller: citizenship class, and (citizens only) the opt-out from photo keeping."""
        require_port(principal, body.port)
        store = _runtime(request).store
        traveller_id = await asyncio.to_thread(store.add_traveller, body.citizenship, opt_out=body.opt_out)
        return Traveller(traveller_id=traveller_id, citizenship=body.citizenship, opt_out=body.opt_out)

    @app.post(
        f"{V1}/travellers/{{traveller_id}}/documents/data-page",
        status_code=201,
        tags=["enrolment"],
        openapi_extra=DATA_PAGE_BODY,
        responses=_problems(404, 409, 422, 503),
    )
    async def enrol_from_data_page(
        traveller_id: RecordId, request: Request, principal: Annotated[Principal, allow(*ENROLLERS)]
    ) -> EnrolledDocument:
        """Enrol a document from its data page: the zone (every check digit) gives its fields, the
        page gives the portrait, found, cropped and graded against the reference profile."""
        runtime = _runtime(request)
        form = await _read_form(request, runtime.settings.service.max_upload_bytes)
        fields = _fields(form, DataPageFields)
        require_port(principal, fields.port)
        zone = parse_mrz(
            fields.mrz.split(), today=runtime.store.clock.now().date(), kind=_document_kind(fields.kind)
        )
        _check_new(runtime, traveller_id, zone.document_number)
        data = await _file(form, "page")

        def enrol() -> EnrolledPortrait:
            page = decode_image(data, limits=runtime.settings.images)
            return _usable(enrol_data_page(page, runtime.pipeline().engine))

        portrait = await _work(runtime, enrol)
        return await _keep(
            runtime,
            principal,
            portrait,
            traveller_id=traveller_id,
            kind=zone.kind,
            number=zone.document_number,
            issuing_state=zone.issuing_state,
            expiry_date=zone.expiry_date,
            source="data-page",
        )

    @app.post(
        f"{V1}/travellers/{{traveller_id}}/documents/photo",
        status_code=201,
        tags=["enrolment"],
        openapi_extra=PHOTO_BODY,
        responses=_problems(404, 409, 422, 503),
    )
    async def enrol_from_photo(
        traveller_id: RecordId, request: Request, principal: Annotated[Principal, allow(*ENROLLERS)]
    ) -> EnrolledDocument:
        """Enrol a document from its fields and its portrait photo (a chip image or a passport
        photo): the whole photo is the portrait, graded against the reference profile."""
        runtime = _runtime(request)
        form = await _read_form(request, runtime.settings.service.max_upload_bytes)
        fields = _fields(form, PhotoFields)
        require_port(principal, fields.port)
        kind = _document_kind(fields.kind)
        assert kind is not None
        _check_new(runtime, traveller_id, fields.number)
        data = await _file(form, "photo")

        def enrol() -> EnrolledPortrait:
            return _usable(enrol_chip(data, runtime.pipeline().engine, limits=runtime.settings.images))

        portrait = await _work(runtime, enrol)
        return await _keep(
            runtime,
            principal,
            portrait,
            traveller_id=traveller_id,
            kind=kind,
            number=fields.number,
            issuing_state=fields.issuing_state,
            expiry_date=fields.expiry_date,
            source="photo",
        )

    @app.delete(
        f"{V1}/documents/{{document_id}}", status_code=204, tags=["enrolment"], responses=_problems(404)
    )
    async def delete_document(
        document_id: RecordId,
        request: Request,
        principal: Annotated[Principal, allow(Role.ADMIN)],
        reason: Annotated[str, Query(min_length=3, max_length=200, description="why (audited)")],
    ) -> None:
        """Delete a document: its number, template and portrait are crypto-erased, then removed."""
        await asyncio.to_thread(
            _runtime(request).store.delete_document,
            document_id,
            actor=principal.subject,
            role=_role(principal),
            reason=reason,
        )

    @app.get(
        f"{V1}/documents/{{document_id}}/{{kind}}",
        tags=["enrolment"],
        response_class=Response,
        responses={
            200: {"content": {"image/jpeg": {}}, "description": "the portrait"},
            **_problems(404, 503),
        },
    )
    async def document_photo(
        document_id: RecordId,
        kind: Literal["thumbnail", "image"],
        request: Request,
        principal: Annotated[Principal, allow(*SEARCHERS)],
        purpose: PurposeQuery,
    ) -> Response:
        """A document's portrait (JPEG). The read is audited with the stated purpose."""
        image = await asyncio.to_thread(
            _runtime(request).store.read_document_photo,
            document_id,
            actor=principal.subject,
            role=_role(principal),
            purpose=purpose,
            kind=kind,
        )
        return Response(image, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @app.post(f"{V1}/verify", tags=["search"], openapi_extra=VERIFY_BODY, responses=_problems(404, 422, 503))
    async def verify(request: Request, principal: Annotated[Principal, allow(*SEARCHERS)]) -> VerifyResult:
        """1:1: is the probe photo's face the traveller's (or the document's) portrait? Audited with
        the stated purpose; refused if the audit log cannot take the entry."""
        runtime = _runtime(request)
        form = await _read_form(request, runtime.settings.service.max_upload_bytes)
        fields = _fields(form, VerifyFields)  # no purpose: 422 before anything runs
        photo = await _file(form, "photo")
        store = runtime.store
        if fields.document_id is not None:
            document_id = fields.document_id
            owner = views.document_owner(store, document_id)
            if owner is None:
                raise RecordNotFoundError(
                    "no such document", expected="a recorded document id", got=document_id
                )
        else:
            assert fields.traveller_id is not None
            owner = fields.traveller_id
            store.traveller(owner)  # 404 for an unknown traveller
            found = views.reference_document(store, owner)
            if found is None:
                raise RecordNotFoundError(
                    "the traveller has no enrolled document photo", expected="an enrolled document", got=owner
                )
            document_id = found
        actor, role = principal.subject, _role(principal)

        def run() -> Verification:
            pipeline = runtime.pipeline()
            probe = _probe(pipeline.engine, photo, runtime)

            def search() -> Verification:
                reference = store.read_document_template(
                    document_id, actor=actor, role=role, purpose=fields.purpose
                )
                return pipeline.matcher.verify(probe, reference)

            return store.audited_search(
                action=AuditAction.VERIFY_1_1,
                actor=actor,
                role=role,
                purpose=fields.purpose,
                subject_ref=store.ref("document", document_id),
                search=search,
                outcome=lambda result: "match" if result.match else "no_match",
            )

        result = await _work(runtime, run)
        return VerifyResult(
            traveller_id=owner,
            document_id=document_id,
            score=round(result.score, 4),
            threshold=round(result.threshold, 4),
            fmr=result.fmr,
            decision="match" if result.match else "no_match",
        )

    @app.post(f"{V1}/search", tags=["search"], openapi_extra=SEARCH_BODY, responses=_problems(422, 503))
    async def search(request: Request, principal: Annotated[Principal, allow(*SEARCHERS)]) -> SearchResult:
        """1:N: who in the records (document photos, kept encounter photos) is the probe photo's face?
        Candidates above the 1:N threshold, best first. Audited like a 1:1 verification."""
        runtime = _runtime(request)
        form = await _read_form(request, runtime.settings.service.max_upload_bytes)
        fields = _fields(form, SearchFields)
        photo = await _file(form, "photo")
        store = runtime.store
        actor, role = principal.subject, _role(principal)

        def run() -> Identification:
            pipeline = runtime.pipeline()
            probe = _probe(pipeline.engine, photo, runtime)

            def identify() -> Identification:
                gallery = gallery_from_records(
                    store, pipeline.engine.embedder.info, actor=actor, role=role, purpose=fields.purpose
                )
                if len(gallery) == 0:
                    return pipeline.matcher.candidates([], 0)
                return pipeline.matcher.identify(probe, gallery.search, k=fields.limit * 2)

            return store.audited_search(
                action=AuditAction.IDENTIFY_1_N,
                actor=actor,
                role=role,
                purpose=fields.purpose,
                subject_ref=store.ref("probe", hashlib.sha256(photo).hexdigest()),
                search=identify,
                outcome=lambda found: f"{len(found.matches)} candidates",
            )

        found = await _work(runtime, run)
        return SearchResult(
            threshold=round(found.threshold, 4),
            fmr=found.fmr,
            gallery_size=found.gallery_size,
            candidates=_ranked(runtime, found, fields.purpose, fields.limit),
        )

    @app.get(
        f"{V1}/reports/overstays",
        tags=["reports"],
        response_model=list[OverstayRow],
        responses={200: {"content": {"text/csv": {}}, "description": "the overstays, as JSON or CSV"}},
    )
    async def overstay_report(
        request: Request,
        principal: Annotated[Principal, allow(Role.SUPERVISOR, Role.AUDITOR)],
        as_of: IsoDate,
        format: Literal["json", "csv"] = "json",
    ) -> Any:
        """Admissions whose admit-until date passed with no departure by ``as_of`` (``present``) or
        with a later one (``departed_late``), at the caller's ports (``bioexit report overstays``)."""
        rows = await asyncio.to_thread(reports.overstays, _runtime(request).store, as_of)
        ports = _ports(principal)
        rows = [row for row in rows if ports is None or row["port"] in ports]
        if format == "json":
            return rows
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=OVERSTAY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8")


OVERSTAY_COLUMNS = (
    "traveller_id",
    "entry_id",
    "port",
    "admitted_on",
    "admit_until",
    "departed_on",
    "status",
    "days_over",
)


def _check_new(runtime: Runtime, traveller_id: str, number: str) -> None:
    """Fail fast, before any face work: unknown traveller (404), document on record (409)."""
    runtime.store.traveller(traveller_id)
    if runtime.store.find_document(number) is not None:
        raise RecordConflictError("document already recorded", expected="a new document", got="its hash")


def _probe(engine: Any, photo: bytes, runtime: Runtime) -> Any:
    face = engine.largest_face(decode_image(photo, limits=runtime.settings.images))
    if face is None:
        raise NoFaceError("no face in the probe photo", expected="a photo with a face", got="none found")
    return face.template


def _ranked(runtime: Runtime, found: Identification, purpose: str, limit: int) -> list[SearchCandidate]:
    best: dict[str, tuple[str, float]] = {}
    for candidate in found.matches:
        if candidate.subject_id not in best:
            best[candidate.subject_id] = (candidate.entry_id, candidate.score)
    photos = views.document_photos(runtime.store, list(best))
    ranked = []
    for rank, (traveller_id, (entry_id, score)) in enumerate(list(best.items())[:limit], start=1):
        source, _, ident = entry_id.partition(":")
        document_id = ident if source == "document" and ident in photos.values() else photos.get(traveller_id)
        ranked.append(
            SearchCandidate(
                rank=rank,
                traveller_id=traveller_id,
                source="document" if source == "document" else "encounter",
                score=round(score, 4),
                document_id=document_id,
                document_photo_url=None if document_id is None else document_photo_url(document_id, purpose),
            )
        )
    return ranked
