"""The records store: one object that persists encounters, keeps biometrics sealed, audits every
read, search and decision, and knows each capture's retention deadline.

Ingest (``record_encounter``) writes sealed files first (durably), then commits every row and
the decisions' audit entries in one transaction, and only then returns an
``Acknowledgement``: an acknowledged departure survives any crash.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bioexit.audit.chain import AuditAction, AuditEntry, AuditEvent, subject_reference
from bioexit.clock import Clock, SystemClock
from bioexit.crypto import (
    ERASED_KEY,
    EnvKeyProvider,
    FileKeyProvider,
    KeyProvider,
    Sealed,
    erase,
    generate_keyring,
    open_sealed,
    open_template,
    rewrap,
    seal,
    seal_template,
    write_keyring,
)
from bioexit.documents.mrz import DocumentKind
from bioexit.embedding.types import Template
from bioexit.errors import (
    ConfigError,
    RecordConflictError,
    RecordNotFoundError,
    RecordsError,
)
from bioexit.records import models as m
from bioexit.records.audit_log import HeadAnchor, SqlAuditLog
from bioexit.records.blobs import BlobStore
from bioexit.records.db import database_url, ensure_schema, make_engine
from bioexit.records.types import (
    CITIZENSHIPS,
    DECISION_OUTCOMES,
    DOCUMENT_KINDS,
    Acknowledgement,
    Adjudication,
    CaptureRecord,
    Citizenship,
    DecisionRecord,
    EncounterRecord,
    EntryRecord,
    GalleryIndex,
    ReviewOutcome,
)
from bioexit.settings import EnvKeysConfig, RecordsConfig, RetentionConfig

T = TypeVar("T")
_log = logging.getLogger("bioexit.records")

HASH_KEY_FILE = "hash.key"
KEYRING_FILE = "keyring.json"
AUDIT_ANCHOR_FILE = "audit-head.json"
THUMBNAIL_PX = 64
LANE_ROLE = "lane"
OFFICER_ROLE = "officer"
SYSTEM_ACTOR = "bioexit"

# Retention categories (the policy table in ``retention`` documents each one).
CITIZEN_ENCOUNTER = "citizen_encounter"
UNKNOWN_ENCOUNTER = "unknown_encounter"
NONCITIZEN_ENCOUNTER = "noncitizen_encounter"
OPTED_OUT = "citizen_opted_out"
DOCUMENT_PHOTO = "document_photo"


def _new_id() -> str:
    return uuid.uuid4().hex


def _derive(key: bytes, label: str) -> bytes:
    return hmac.new(key, label.encode("ascii"), hashlib.sha256).digest()


def load_hash_key(path: Path, *, create: bool = True) -> bytes:
    """The deployment's hashing key (subject references, document-number hashes, audit chain)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise ConfigError("hash key file missing", expected="a 32-byte key file", got=str(path)) from None
        path.parent.mkdir(parents=True, exist_ok=True)
        data = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    if len(data) < 32:
        raise ConfigError("hash key is too short", expected="at least 32 bytes", got=f"{len(data)} bytes")
    return data


def key_provider(config: RecordsConfig) -> KeyProvider:
    """The master-key provider the settings name; a file keyring is made on first use if allowed."""
    keys = config.keys
    if isinstance(keys, EnvKeysConfig):
        return EnvKeyProvider(keys.env_var)
    path = keys.path or config.data_dir / KEYRING_FILE
    if not path.exists() and keys.create:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_keyring(path, generate_keyring())
    return FileKeyProvider(path)


@dataclass(frozen=True, slots=True)
class RotationReport:
    current_key_id: str
    blobs: int
    templates: int
    documents: int


@dataclass(frozen=True, slots=True)
class _PreparedBlob:
    blob_id: str
    owner_id: str  # the capture's or the document's id
    kind: str
    name: str
    sealed: Sealed
    size: int


class RecordsStore:
    """Records, sealed biometrics and the audit log of one deployment."""

    def __init__(
        self,
        engine: Engine,
        blobs: BlobStore,
        provider: KeyProvider,
        hash_key: bytes,
        anchor: HeadAnchor,
        *,
        retention: RetentionConfig | None = None,
        clock: Clock | None = None,
        gallery: GalleryIndex | None = None,
    ) -> None:
        self.engine = engine
        self.blobs = blobs
        self.provider = provider
        self.retention = retention or RetentionConfig()
        self.clock: Clock = clock or SystemClock()
        self.gallery = gallery
        self._ref_key = _derive(hash_key, "bioexit.subject-reference")
        self._number_key = _derive(hash_key, "bioexit.document-number")
        self.audit = SqlAuditLog(engine, anchor, key=_derive(hash_key, "bioexit.audit-chain"))

    @classmethod
    def open(
        cls,
        config: RecordsConfig,
        *,
        clock: Clock | None = None,
        provider: KeyProvider | None = None,
        gallery: GalleryIndex | None = None,
        auto_upgrade: bool = True,
    ) -> RecordsStore:
        """Open (and migrate, unless ``auto_upgrade`` is off) the store the settings describe."""
        engine = make_engine(database_url(config))
        ensure_schema(engine, auto_upgrade=auto_upgrade)
        return cls(
            engine,
            BlobStore(config.blob_dir or config.data_dir / "blobs"),
            provider or key_provider(config),
            load_hash_key(config.hash_key_file or config.data_dir / HASH_KEY_FILE),
            HeadAnchor(config.data_dir / AUDIT_ANCHOR_FILE),
            retention=config.retention,
            clock=clock,
            gallery=gallery,
        )

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> RecordsStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- references --------------------------------------------------------------------------

    def ref(self, kind: str, value: str) -> str:
        """The keyed reference the audit log uses for a subject (never the value itself)."""
        return subject_reference(self._ref_key, kind, value)

    def document_number_hash(self, number: str) -> str:
        return hmac.new(self._number_key, number.encode("utf-8"), hashlib.sha256).hexdigest()

    def _now(self) -> datetime:
        return self.clock.now()

    # --- travellers, documents, entries ------------------------------------------------------

    def add_traveller(
        self, citizenship: Citizenship, *, opt_out: bool = False, traveller_id: str | None = None
    ) -> str:
        if citizenship not in CITIZENSHIPS:
            raise RecordsError(
                "unknown citizenship class", expected=" | ".join(CITIZENSHIPS), got=citizenship
            )
        if opt_out and citizenship != "citizen":
            raise RecordsError("only citizens may opt out", expected="citizenship 'citizen'", got=citizenship)
        traveller_id = traveller_id or _new_id()
        with self._write() as session:
            session.add(
                m.Traveller(id=traveller_id, citizenship=citizenship, opt_out=opt_out, created_at=self._now())
            )
        return traveller_id

    def set_opt_out(self, traveller_id: str, opt_out: bool) -> None:
        with self._write() as session:
            traveller = self._traveller(session, traveller_id)
            if opt_out and traveller.citizenship != "citizen":
                raise RecordsError(
                    "only citizens may opt out", expected="citizenship 'citizen'", got=traveller.citizenship
                )
            traveller.opt_out = opt_out
            if opt_out:  # what was kept before the opt-out goes now
                captures = select(m.Capture).where(
                    m.Capture.traveller_id == traveller_id, m.Capture.state == "stored"
                )
                for capture in session.execute(captures).scalars():
                    self.schedule_deletion(session, capture, reason="opt_out")

    def schedule_deletion(
        self, session: Session, capture: m.Capture, *, reason: str, at: datetime | None = None
    ) -> None:
        """Record a deletion intent and destroy the capture's data keys, in the caller's transaction;
        the sweeper removes files, rows and gallery entries (``retention.Sweeper``)."""
        session.add(
            m.DeletionIntent(
                capture_id=capture.id,
                category=capture.category,
                reason=reason,
                recorded_at=at or self._now(),
                done_at=None,
            )
        )
        capture.state = "deleting"
        session.flush()
        self.crypto_erase_capture(session, capture.id)

    def traveller(self, traveller_id: str) -> tuple[Citizenship, bool]:
        with Session(self.engine) as session:
            row = self._traveller(session, traveller_id)
            return row.citizenship, row.opt_out  # type: ignore[return-value]

    def add_document(
        self,
        traveller_id: str,
        kind: str | DocumentKind,
        number: str,
        *,
        issuing_state: str | None = None,
        expiry_date: date | None = None,
        template: Template | None = None,
        photo: bytes | None = None,
        actor: str = SYSTEM_ACTOR,
        role: str = "admin",
    ) -> str:
        """Keep a travel document: its number sealed, and a keyed hash of it to find it by.

        With ``template`` its portrait's reference template, with ``photo`` the portrait itself
        (encoded image; sealed with a thumbnail, like a capture's face), all in one transaction
        with the audit entry of the enrolment (who, as what; the document by keyed reference): a
        document number already recorded (RecordConflictError) leaves nothing behind.
        """
        kind = kind.value if isinstance(kind, DocumentKind) else kind
        if kind not in DOCUMENT_KINDS:
            raise RecordsError("unknown document kind", expected=" | ".join(DOCUMENT_KINDS), got=kind)
        if not number:
            raise RecordsError("document number is empty", expected="the number", got="empty text")
        if photo is not None and not photo:
            raise RecordsError("document photo is empty", expected="encoded image bytes", got="0 bytes")
        document_id = _new_id()
        sealed = seal(
            number.encode("utf-8"), record_id=document_id, kind="document-number", provider=self.provider
        )
        prepared = (
            []
            if photo is None
            else [
                self._prepare_blob(document_id, "image", photo),
                self._prepare_blob(document_id, "thumbnail", _thumbnail(photo)),
            ]
        )
        try:
            for blob in prepared:  # durable before any row names them
                self.blobs.write(blob.name, blob.sealed.ciphertext)
            with self._write() as session:
                self._traveller(session, traveller_id)
                number_hash = self.document_number_hash(number)
                if session.execute(
                    select(m.Document.id).where(m.Document.number_hash == number_hash)
                ).first():
                    raise RecordConflictError(
                        "document already recorded", expected="a new document", got="its hash"
                    )
                now = self._now()
                session.add(
                    m.Document(
                        id=document_id,
                        traveller_id=traveller_id,
                        kind=kind,
                        issuing_state=issuing_state,
                        expiry_date=expiry_date,
                        number_hash=number_hash,
                        key_id=sealed.key_id,
                        number_sealed=sealed.to_bytes(),
                        created_at=now,
                    )
                )
                session.flush()
                if template is not None:
                    template_id = _new_id()
                    sealed_template = seal_template(
                        template.vector, record_id=template_id, provider=self.provider
                    )
                    session.add(
                        self._template_row(template_id, template, sealed_template, document_id=document_id)
                    )
                for blob in prepared:
                    session.add(_blob_row(blob, now, document_id=document_id))
                _, anchored = self.audit.append_in(
                    session,
                    AuditEvent(
                        AuditAction.ENROLMENT,
                        actor,
                        role,
                        now,
                        self.ref("document", document_id),
                        "enrolled",
                        details={"kind": kind, "template": template is not None, "photo": photo is not None},
                    ),
                )
        except BaseException:
            for blob in prepared:
                self.blobs.delete(blob.name)
            raise
        anchored()
        return document_id

    def has_document_photo(self, document_id: str) -> bool:
        """Whether the document's portrait is kept (no biometric data is read)."""
        with Session(self.engine) as session:
            found = session.execute(
                select(m.Blob.id).where(m.Blob.document_id == document_id, m.Blob.wrapped_key != ERASED_KEY)
            ).first()
            return found is not None

    def read_document_photo(
        self, document_id: str, *, actor: str, role: str, purpose: str | None, kind: str = "image"
    ) -> bytes:
        """A document's portrait (or ``kind="thumbnail"``), after the read is audited."""
        with Session(self.engine) as session:
            blob = session.execute(
                select(m.Blob).where(m.Blob.document_id == document_id, m.Blob.kind == kind)
            ).scalar_one_or_none()
            if blob is None or blob.wrapped_key == ERASED_KEY:
                raise RecordNotFoundError(
                    f"document has no stored {kind}",
                    expected="a document enrolled with its photo",
                    got=document_id,
                )
            sealed_fields = (blob.id, blob.key_id, blob.wrapped_key, blob.nonce, blob.path)
        self._audit_read(actor, role, purpose, self.ref("document", document_id), f"document {kind}")
        blob_id, key_id, wrapped, nonce, path = sealed_fields
        sealed = Sealed(blob_id, key_id, wrapped, nonce, self.blobs.read(path))
        return open_sealed(sealed, record_id=blob_id, kind=kind, provider=self.provider)

    def delete_document(self, document_id: str, *, actor: str, role: str, reason: str) -> None:
        """Delete a document: its number, template and photo are crypto-erased and the deletion is
        audited in one transaction; then the files and rows go. Run again after a crash, it
        finishes the job (the erased rows still name the files)."""
        now = self._now()
        with self._write() as session:
            document = session.get(m.Document, document_id)
            if document is None:
                raise RecordNotFoundError(
                    "no such document", expected="a recorded document id", got=document_id
                )
            session.execute(
                update(m.Blob).where(m.Blob.document_id == document_id).values(wrapped_key=ERASED_KEY)
            )
            for row in session.execute(
                select(m.StoredTemplate).where(m.StoredTemplate.document_id == document_id)
            ).scalars():
                row.sealed = erase(Sealed.from_bytes(row.sealed)).to_bytes()
            document.number_sealed = erase(Sealed.from_bytes(document.number_sealed)).to_bytes()
            paths = list(
                session.execute(select(m.Blob.path).where(m.Blob.document_id == document_id)).scalars()
            )
            _, done = self.audit.append_in(
                session,
                AuditEvent(
                    AuditAction.DELETION,
                    actor,
                    role,
                    now,
                    self.ref("document", document_id),
                    "deleted",
                    details={"category": DOCUMENT_PHOTO, "reason": reason, "files": len(paths)},
                ),
            )
        done()
        for path in paths:
            self.blobs.delete(path)
        with self._write() as session:
            session.execute(delete(m.Blob).where(m.Blob.document_id == document_id))
            session.execute(delete(m.StoredTemplate).where(m.StoredTemplate.document_id == document_id))
            session.execute(delete(m.Document).where(m.Document.id == document_id))
        self.purge_old_versions()

    def find_document(self, number: str) -> tuple[str, str] | None:
        """(document id, traveller id) of the document with this number, by its keyed hash."""
        with Session(self.engine) as session:
            row = session.execute(
                select(m.Document.id, m.Document.traveller_id).where(
                    m.Document.number_hash == self.document_number_hash(number)
                )
            ).first()
            return None if row is None else (row[0], row[1])

    def add_document_template(self, document_id: str, template: Template) -> str:
        """A document portrait's template (a 1:1 reference), sealed."""
        template_id = _new_id()
        sealed = seal_template(template.vector, record_id=template_id, provider=self.provider)
        with self._write() as session:
            if session.get(m.Document, document_id) is None:
                raise RecordNotFoundError(
                    "no such document", expected="a recorded document id", got=document_id
                )
            session.add(self._template_row(template_id, template, sealed, document_id=document_id))
        return template_id

    def record_entry(
        self,
        traveller_id: str,
        *,
        port: str,
        admitted_on: date,
        admit_until: date | None,
        entry_id: str | None = None,
    ) -> str:
        if admit_until is not None and admit_until < admitted_on:
            raise RecordsError(
                "admit-until date before the admission", expected=f">= {admitted_on}", got=admit_until
            )
        entry_id = entry_id or _new_id()
        with self._write() as session:
            self._traveller(session, traveller_id)
            session.add(
                m.Entry(
                    id=entry_id,
                    traveller_id=traveller_id,
                    port=port,
                    admitted_on=admitted_on,
                    admit_until=admit_until,
                    created_at=self._now(),
                )
            )
        return entry_id

    def entries(self, traveller_id: str) -> list[EntryRecord]:
        with Session(self.engine) as session:
            rows = session.execute(
                select(m.Entry).where(m.Entry.traveller_id == traveller_id).order_by(m.Entry.admitted_on)
            ).scalars()
            return [EntryRecord(r.id, r.traveller_id, r.port, r.admitted_on, r.admit_until) for r in rows]

    # --- ingest ------------------------------------------------------------------------------

    def record_encounter(
        self,
        encounter: EncounterRecord,
        captures: Sequence[CaptureRecord] = (),
        decisions: Sequence[DecisionRecord] = (),
        *,
        actor: str | None = None,
    ) -> Acknowledgement:
        """Persist one encounter; idempotent on ``encounter.encounter_id``.

        Confirmed decisions become departures linked to the traveller's latest entry; a no-match
        becomes a pending review and no departure. Returns after the commit.
        """
        actor = actor or f"lane:{encounter.port}/{encounter.lane}"
        fingerprint = _fingerprint(encounter, captures, decisions)
        existing = self.acknowledgement(encounter.encounter_id, fingerprint)
        if existing is not None:
            return existing
        self._check_request(encounter, captures, decisions)
        now = self._now()
        with Session(self.engine) as session:
            travellers = self._travellers_of(session, captures, decisions)
            latest_entries = {
                tid: self._latest_entry(session, tid, encounter.started_at.date())
                for tid, row in travellers.items()
            }
        capture_ids = {c.capture_key: _new_id() for c in captures}
        who = _who_per_capture(captures, decisions)
        plans = {
            c.capture_key: self._retention_plan(encounter, travellers.get(who.get(c.capture_key) or ""), now)
            for c in captures
        }
        prepared: list[_PreparedBlob] = []
        templates: list[tuple[str, str, Template, Sealed]] = []
        try:
            for capture in captures:
                _category, _deadline, store = plans[capture.capture_key]
                if not store:
                    continue
                capture_id = capture_ids[capture.capture_key]
                prepared.append(self._prepare_blob(capture_id, "image", capture.image))
                prepared.append(self._prepare_blob(capture_id, "thumbnail", _thumbnail(capture.image)))
                if capture.template is not None:
                    template_id = _new_id()
                    sealed = seal_template(
                        capture.template.vector, record_id=template_id, provider=self.provider
                    )
                    templates.append((capture_id, template_id, capture.template, sealed))
            for blob in prepared:  # durable before any row names them
                self.blobs.write(blob.name, blob.sealed.ciphertext)
            ack, after_commit = self._commit_encounter(
                encounter,
                captures,
                decisions,
                fingerprint,
                actor,
                now,
                capture_ids,
                who,
                plans,
                prepared,
                templates,
                latest_entries,
            )
        except BaseException as exc:
            for blob in prepared:
                self.blobs.delete(blob.name)
            if isinstance(exc, DBIntegrityError):
                again = self.acknowledgement(encounter.encounter_id, fingerprint)
                if again is not None:
                    return again
                raise RecordConflictError(f"encounter could not be recorded: {exc.orig}") from None
            if isinstance(exc, SQLAlchemyError):
                raise RecordsError(f"encounter could not be recorded ({type(exc).__name__})") from exc
            raise
        _run_after_commit(after_commit)
        return ack

    def _commit_encounter(
        self,
        encounter: EncounterRecord,
        captures: Sequence[CaptureRecord],
        decisions: Sequence[DecisionRecord],
        fingerprint: str,
        actor: str,
        now: datetime,
        capture_ids: dict[str, str],
        who: dict[str, str],
        plans: dict[str, tuple[str, datetime | None, bool]],
        prepared: list[_PreparedBlob],
        templates: list[tuple[str, str, Template, Sealed]],
        latest_entries: dict[str, str | None],
    ) -> tuple[Acknowledgement, list[Callable[[], None]]]:
        after_commit: list[Callable[[], None]] = []
        departures: list[str] = []
        pending: list[str] = []
        with Session(self.engine) as session, session.begin():
            session.add(
                m.Encounter(
                    id=encounter.encounter_id,
                    port=encounter.port,
                    lane=encounter.lane,
                    direction=encounter.direction,
                    started_at=encounter.started_at,
                    recorded_at=now,
                    fingerprint=fingerprint,
                )
            )
            session.flush()  # no ORM relationships: parents are flushed before their children
            for capture in captures:
                category, delete_after, store = plans[capture.capture_key]
                session.add(
                    m.Capture(
                        id=capture_ids[capture.capture_key],
                        encounter_id=encounter.encounter_id,
                        capture_key=capture.capture_key,
                        traveller_id=who.get(capture.capture_key),
                        camera_id=capture.camera_id,
                        captured_at=capture.captured_at,
                        quality=float(capture.quality),
                        category=category,
                        delete_after=delete_after if store else None,
                        gallery_member=store
                        and category == NONCITIZEN_ENCOUNTER
                        and capture.template is not None,
                        state="stored" if store else "none",
                        deleted_at=None,
                    )
                )
            session.flush()
            for blob in prepared:
                session.add(_blob_row(blob, now, capture_id=blob.owner_id))
            for capture_id, template_id, template, sealed in templates:
                session.add(self._template_row(template_id, template, sealed, capture_id=capture_id))
            session.flush()
            for decision in decisions:
                decided_capture = capture_ids.get(decision.capture_key) if decision.capture_key else None
                confirmed = decision.outcome == "confirmed"
                session.add(
                    m.Decision(
                        id=decision.decision_id,
                        encounter_id=encounter.encounter_id,
                        capture_id=decided_capture,
                        traveller_id=decision.traveller_id,
                        outcome=decision.outcome,
                        method=decision.method,
                        reason=decision.reason,
                        score=decision.score,
                        status="final" if confirmed else "pending_review",
                        decided_at=now,
                        officer=None,
                        review_outcome=None,
                        review_reason=None,
                        reviewed_at=None,
                    )
                )
                session.flush()
                if confirmed:
                    assert decision.traveller_id is not None
                    departures.append(
                        self._add_departure(
                            session,
                            decision.decision_id,
                            encounter,
                            decision.traveller_id,
                            latest_entries.get(decision.traveller_id),
                        )
                    )
                else:
                    pending.append(decision.decision_id)
                subject = (
                    self.ref("traveller", decision.traveller_id)
                    if decision.traveller_id
                    else self.ref("decision", decision.decision_id)
                )
                _, done = self.audit.append_in(
                    session,
                    AuditEvent(
                        action=AuditAction.DECISION,
                        actor=actor,
                        role=LANE_ROLE,
                        at=now,
                        subject_ref=subject,
                        outcome=decision.outcome,
                        details={
                            "decision": self.ref("decision", decision.decision_id),
                            "encounter": self.ref("encounter", encounter.encounter_id),
                            "method": decision.method,
                            "score": decision.score,
                        },
                    ),
                )
                after_commit.append(done)
        stored = tuple(c.capture_key for c in captures if plans[c.capture_key][2])
        if self.gallery is not None:
            gallery = self.gallery
            for capture_id, template_id, template, _sealed in templates:
                key = next(k for k, v in capture_ids.items() if v == capture_id)
                if plans[key][0] == NONCITIZEN_ENCOUNTER:
                    subject = who.get(key) or capture_id
                    after_commit.append(functools.partial(gallery.add, template_id, subject, template))
        return (
            # Sorted, as a replay's acknowledgement is: the same encounter always acknowledges alike.
            Acknowledgement(
                encounter.encounter_id,
                tuple(sorted(departures)),
                tuple(sorted(pending)),
                tuple(sorted(stored)),
            ),
            after_commit,
        )

    def _add_departure(
        self,
        session: Session,
        decision_id: str,
        encounter: EncounterRecord,
        traveller_id: str,
        entry_id: str | None,
        departed_at: datetime | None = None,
    ) -> str:
        departure_id = _new_id()
        session.add(
            m.Departure(
                id=departure_id,
                decision_id=decision_id,
                encounter_id=encounter.encounter_id,
                traveller_id=traveller_id,
                entry_id=entry_id,
                port=encounter.port,
                lane=encounter.lane,
                departed_at=departed_at or encounter.started_at,
            )
        )
        return departure_id

    def _check_request(
        self,
        encounter: EncounterRecord,
        captures: Sequence[CaptureRecord],
        decisions: Sequence[DecisionRecord],
    ) -> None:
        keys = [c.capture_key for c in captures]
        if len(set(keys)) != len(keys):
            raise RecordsError("capture keys repeat within the encounter", expected="unique keys", got=keys)
        ids = [d.decision_id for d in decisions]
        if len(set(ids)) != len(ids):
            raise RecordsError("decision ids repeat", expected="unique ids", got=ids)
        for when in [encounter.started_at, *(c.captured_at for c in captures)]:
            if when.tzinfo is None or when.utcoffset() is None:
                raise RecordsError(
                    "naive time in an encounter", expected="timezone-aware times", got=str(when)
                )
        for decision in decisions:
            if decision.outcome not in DECISION_OUTCOMES:
                raise RecordsError(
                    "unknown decision outcome", expected=" | ".join(DECISION_OUTCOMES), got=decision.outcome
                )
            if decision.outcome == "confirmed" and not decision.traveller_id:
                raise RecordsError(
                    "a confirmed decision must name the traveller", expected="traveller_id", got="none"
                )
            if decision.capture_key is not None and decision.capture_key not in keys:
                raise RecordsError(
                    "decision names a capture the encounter does not hold",
                    expected=keys,
                    got=decision.capture_key,
                )
        for capture in captures:
            if not capture.image:
                raise RecordsError("capture image is empty", expected="encoded image bytes", got="0 bytes")

    def _travellers_of(
        self, session: Session, captures: Sequence[CaptureRecord], decisions: Sequence[DecisionRecord]
    ) -> dict[str, m.Traveller]:
        wanted = {c.traveller_id for c in captures} | {d.traveller_id for d in decisions}
        found: dict[str, m.Traveller] = {}
        for traveller_id in sorted(t for t in wanted if t):
            found[traveller_id] = self._traveller(session, traveller_id)
        return found

    def _retention_plan(
        self, encounter: EncounterRecord, traveller: m.Traveller | None, now: datetime
    ) -> tuple[str, datetime | None, bool]:
        """(category, delete-after, whether anything biometric is kept)."""
        if traveller is not None and traveller.opt_out:
            return OPTED_OUT, None, False
        citizenship = traveller.citizenship if traveller is not None else "unknown"
        if citizenship == "non_citizen":
            days = self.retention.noncitizen_encounter_days
            return NONCITIZEN_ENCOUNTER, encounter.started_at + timedelta(days=days), True
        category = CITIZEN_ENCOUNTER if citizenship == "citizen" else UNKNOWN_ENCOUNTER
        deadline = encounter.started_at + timedelta(hours=self.retention.citizen_encounter_hours)
        # Past (or within one sweep of) its deadline already: never written at all.
        margin = timedelta(minutes=self.retention.sweep_interval_minutes)
        return category, deadline, deadline - margin > now

    def _latest_entry(self, session: Session, traveller_id: str, on: date) -> str | None:
        row = session.execute(
            select(m.Entry.id)
            .where(m.Entry.traveller_id == traveller_id, m.Entry.admitted_on <= on)
            .order_by(m.Entry.admitted_on.desc(), m.Entry.created_at.desc())
            .limit(1)
        ).first()
        return None if row is None else row[0]

    def _prepare_blob(self, owner_id: str, kind: str, data: bytes) -> _PreparedBlob:
        blob_id = _new_id()
        sealed = seal(data, record_id=blob_id, kind=kind, provider=self.provider)
        return _PreparedBlob(blob_id, owner_id, kind, self.blobs.new_name(), sealed, len(sealed.ciphertext))

    def _template_row(
        self,
        template_id: str,
        template: Template,
        sealed: Sealed,
        *,
        capture_id: str | None = None,
        document_id: str | None = None,
    ) -> m.StoredTemplate:
        return m.StoredTemplate(
            id=template_id,
            capture_id=capture_id,
            document_id=document_id,
            model_id=template.model_id,
            model_version=template.model_version,
            metric=template.metric,
            key_id=sealed.key_id,
            sealed=sealed.to_bytes(),
            created_at=self._now(),
        )

    def acknowledgement(self, encounter_id: str, fingerprint: str | None = None) -> Acknowledgement | None:
        """The acknowledgement of an encounter recorded before (``duplicate=True``), or None.

        With ``fingerprint``, a recorded encounter of other content raises RecordConflictError.
        """
        with Session(self.engine) as session:
            row = session.get(m.Encounter, encounter_id)
            if row is None:
                return None
            if fingerprint is not None and row.fingerprint != fingerprint:
                raise RecordConflictError(
                    "encounter id already recorded with other content",
                    expected="the same request again, or a new encounter id",
                    got=encounter_id,
                )
            departures = session.execute(
                select(m.Departure.id, m.Decision.id)
                .join(m.Decision, m.Departure.decision_id == m.Decision.id)
                .where(m.Decision.encounter_id == encounter_id, m.Decision.status == "final")
            ).all()
            pending = session.execute(
                select(m.Decision.id).where(
                    m.Decision.encounter_id == encounter_id, m.Decision.outcome != "confirmed"
                )
            ).scalars()
            stored = session.execute(
                select(m.Capture.capture_key).where(
                    m.Capture.encounter_id == encounter_id, m.Capture.state != "none"
                )
            ).scalars()
            return Acknowledgement(
                encounter_id,
                tuple(sorted(d for d, _ in departures)),
                tuple(sorted(pending)),
                tuple(sorted(stored)),
                duplicate=True,
            )

    # --- officer review ----------------------------------------------------------------------

    def pending_reviews(self) -> list[str]:
        with Session(self.engine) as session:
            return list(
                session.execute(
                    select(m.Decision.id)
                    .where(m.Decision.status == "pending_review")
                    .order_by(m.Decision.decided_at)
                ).scalars()
            )

    def adjudicate(
        self,
        decision_id: str,
        *,
        officer: str,
        outcome: ReviewOutcome,
        reason: str,
        traveller_id: str | None = None,
    ) -> Adjudication:
        """An officer decides a no-match: ``confirmed`` (naming the traveller) records the departure."""
        if outcome not in ("confirmed", "rejected"):
            raise RecordsError("unknown review outcome", expected="confirmed | rejected", got=outcome)
        if not reason or not reason.strip():
            raise RecordsError("an adjudication needs a reason", expected="text", got="none")
        if outcome == "confirmed" and not traveller_id:
            raise RecordsError("a confirmation must name the traveller", expected="traveller_id", got="none")
        now = self._now()
        with Session(self.engine) as session, session.begin():
            decision = session.get(m.Decision, decision_id)
            if decision is None:
                raise RecordNotFoundError(
                    "no such decision", expected="a recorded decision id", got=decision_id
                )
            if decision.status != "pending_review":
                raise RecordConflictError(
                    "decision is not waiting for an officer", expected="pending_review", got=decision.status
                )
            departure_id = None
            if outcome == "confirmed":
                assert traveller_id is not None
                self._traveller(session, traveller_id)
                encounter = session.get(m.Encounter, decision.encounter_id)
                assert encounter is not None
                record = EncounterRecord(encounter.id, encounter.port, encounter.lane, encounter.started_at)
                entry_id = self._latest_entry(session, traveller_id, encounter.started_at.date())
                departure_id = self._add_departure(session, decision_id, record, traveller_id, entry_id)
                decision.traveller_id = traveller_id
                capture = session.get(m.Capture, decision.capture_id) if decision.capture_id else None
                if capture is not None:
                    capture.traveller_id = traveller_id
                    if self._traveller(session, traveller_id).opt_out and capture.state == "stored":
                        self.schedule_deletion(session, capture, reason="opt_out")
            decision.status = "adjudicated"
            decision.officer = officer
            decision.review_outcome = outcome
            decision.review_reason = reason
            decision.reviewed_at = now
            _, done = self.audit.append_in(
                session,
                AuditEvent(
                    action=AuditAction.DECISION,
                    actor=officer,
                    role=OFFICER_ROLE,
                    at=now,
                    subject_ref=self.ref("traveller", traveller_id)
                    if traveller_id
                    else self.ref("decision", decision_id),
                    outcome=f"review_{outcome}",
                    details={"decision": self.ref("decision", decision_id)},
                ),
            )
        done()
        return Adjudication(decision_id, outcome, departure_id)

    # --- audited reads and searches ----------------------------------------------------------

    def audited_search(
        self,
        *,
        action: AuditAction,
        actor: str,
        role: str,
        purpose: str | None,
        subject_ref: str,
        search: Callable[[], T],
        outcome: Callable[[T], str] = lambda _result: "done",
    ) -> T:
        """Run ``search`` (a 1:1 or 1:N search) only once its audit entry is durably written.

        Without a stated purpose it is refused (``AuditError``); if the log cannot be written it
        is refused (``AuditWriteError``) and ``search`` never runs. The outcome is logged after.
        """
        if action not in (AuditAction.VERIFY_1_1, AuditAction.IDENTIFY_1_N):
            raise RecordsError("not a search action", expected="VERIFY_1_1 | IDENTIFY_1_N", got=action)
        request = self.audit.append(
            AuditEvent(action, actor, role, self._now(), subject_ref, "requested", purpose=purpose)
        )
        result = search()
        self.audit.append(
            AuditEvent(
                action,
                actor,
                role,
                self._now(),
                subject_ref,
                outcome(result),
                purpose=purpose,
                details={"request": request.sequence},
            )
        )
        return result

    def _audit_read(
        self, actor: str, role: str, purpose: str | None, subject_ref: str, what: str
    ) -> AuditEntry:
        return self.audit.append(
            AuditEvent(
                AuditAction.BIOMETRIC_READ,
                actor,
                role,
                self._now(),
                subject_ref,
                "granted",
                purpose=purpose,
                details={"what": what},
            )
        )

    def read_capture_image(
        self, capture_id: str, *, actor: str, role: str, purpose: str | None, kind: str = "image"
    ) -> bytes:
        """A capture's face image (or ``kind="thumbnail"``), after the read is audited."""
        with Session(self.engine) as session:
            blob = session.execute(
                select(m.Blob).where(m.Blob.capture_id == capture_id, m.Blob.kind == kind)
            ).scalar_one_or_none()
            if blob is None:
                raise RecordNotFoundError(
                    f"capture has no stored {kind}", expected="a stored capture", got=capture_id
                )
            sealed_fields = (blob.id, blob.key_id, blob.wrapped_key, blob.nonce, blob.path)
        self._audit_read(actor, role, purpose, self.ref("capture", capture_id), kind)
        blob_id, key_id, wrapped, nonce, path = sealed_fields
        sealed = Sealed(blob_id, key_id, wrapped, nonce, self.blobs.read(path))
        return open_sealed(sealed, record_id=blob_id, kind=kind, provider=self.provider)

    def has_capture_template(self, capture_id: str) -> bool:
        """Whether a template is kept for the capture (no biometric data is read)."""
        with Session(self.engine) as session:
            found = session.execute(
                select(m.StoredTemplate.id).where(m.StoredTemplate.capture_id == capture_id).limit(1)
            ).first()
            return found is not None

    def read_capture_template(
        self, capture_id: str, *, actor: str, role: str, purpose: str | None
    ) -> Template:
        with Session(self.engine) as session:
            row = session.execute(
                select(m.StoredTemplate).where(m.StoredTemplate.capture_id == capture_id)
            ).scalar_one_or_none()
            if row is None:
                raise RecordNotFoundError(
                    "capture has no stored template", expected="a stored capture", got=capture_id
                )
            template_id, sealed_bytes = row.id, row.sealed
            info = (row.model_id, row.model_version, row.metric)
        self._audit_read(actor, role, purpose, self.ref("capture", capture_id), "template")
        vector = open_template(Sealed.from_bytes(sealed_bytes), record_id=template_id, provider=self.provider)
        return Template(vector.astype(np.float32), info[0], info[1], info[2])  # type: ignore[arg-type]

    def read_document_template(
        self, document_id: str, *, actor: str, role: str, purpose: str | None
    ) -> Template:
        """The reference template of a document portrait (for a 1:1 search), after the read is audited."""
        with Session(self.engine) as session:
            row = session.execute(
                select(m.StoredTemplate)
                .where(m.StoredTemplate.document_id == document_id)
                .order_by(m.StoredTemplate.created_at.desc())
                .limit(1)
            ).scalar_one_or_none()
            if row is None:
                raise RecordNotFoundError(
                    "document has no stored template", expected="an enrolled document", got=document_id
                )
            template_id, sealed_bytes, info = (
                row.id,
                row.sealed,
                (row.model_id, row.model_version, row.metric),
            )
        self._audit_read(actor, role, purpose, self.ref("document", document_id), "template")
        vector = open_template(Sealed.from_bytes(sealed_bytes), record_id=template_id, provider=self.provider)
        return Template(vector, info[0], info[1], info[2])  # type: ignore[arg-type]

    def document_gallery_templates(
        self, model_key: str, *, actor: str, role: str, purpose: str | None
    ) -> Iterator[tuple[str, str, str, Template]]:
        """Every document portrait template of one model: (document id, traveller id, number hash,
        template), newest template per document. The bulk read is audited once
        (subject ``gallery:documents``) before anything is opened."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(m.StoredTemplate, m.Document.traveller_id, m.Document.number_hash)
                .join(m.Document, m.StoredTemplate.document_id == m.Document.id)
                .order_by(m.StoredTemplate.created_at)
            ).all()
            newest = {
                t.document_id: (t.id, traveller, number_hash, t.sealed, t.model_id, t.model_version, t.metric)
                for t, traveller, number_hash in rows
                if f"{t.model_id}@{t.model_version}" == model_key
            }
        self._audit_read(actor, role, purpose, "gallery:documents", f"{len(newest)} templates")
        for document_id, (
            template_id,
            traveller,
            number_hash,
            sealed_bytes,
            model_id,
            version,
            metric,
        ) in sorted(newest.items(), key=lambda item: str(item[0])):
            vector = open_template(
                Sealed.from_bytes(sealed_bytes), record_id=template_id, provider=self.provider
            )
            template = Template(vector, model_id, version, metric)  # type: ignore[arg-type]
            yield str(document_id), traveller, number_hash, template

    def encounter_gallery_templates(
        self, model_key: str, *, actor: str, role: str, purpose: str | None
    ) -> Iterator[tuple[str, str, Template]]:
        """Every kept non-citizen encounter template of one model: (entry id, subject id, template).

        The bulk read is audited once (subject ``gallery:encounters``) before anything is opened.
        """
        with Session(self.engine) as session:
            rows = session.execute(
                select(m.StoredTemplate, m.Capture.traveller_id, m.Capture.id)
                .join(m.Capture, m.StoredTemplate.capture_id == m.Capture.id)
                .where(m.Capture.gallery_member.is_(True), m.Capture.state == "stored")
            ).all()
            items = [
                (t.id, traveller or capture_id, t.sealed, t.model_id, t.model_version, t.metric)
                for t, traveller, capture_id in rows
                if f"{t.model_id}@{t.model_version}" == model_key
            ]
        self._audit_read(actor, role, purpose, "gallery:encounters", f"{len(items)} templates")
        for template_id, subject, sealed_bytes, model_id, version, metric in items:
            vector = open_template(
                Sealed.from_bytes(sealed_bytes), record_id=template_id, provider=self.provider
            )
            yield template_id, subject, Template(vector, model_id, version, metric)  # type: ignore[arg-type]

    # --- keys --------------------------------------------------------------------------------

    def rotate_keys(self, *, actor: str = SYSTEM_ACTOR, batch: int = 500) -> RotationReport:
        """Re-wrap every data key not under the provider's current master key. Ciphertexts stay;
        each batch commits on its own, so a rotation cut short is finished by running it again."""
        current = self.provider.current_key_id
        counts = {"blobs": 0, "templates": 0, "documents": 0}
        for table, count_name in (
            (m.Blob, "blobs"),
            (m.StoredTemplate, "templates"),
            (m.Document, "documents"),
        ):
            while True:
                with Session(self.engine) as session, session.begin():
                    rows = (
                        session.execute(select(table).where(table.key_id != current).limit(batch))
                        .scalars()
                        .all()
                    )
                    moved = 0
                    for row in rows:
                        moved += self._rewrap_row(row)
                    counts[count_name] += moved
                if len(rows) < batch:
                    break
        self.audit.append(
            AuditEvent(
                AuditAction.KEY_ROTATION,
                actor,
                "admin",
                self._now(),
                None,
                "rewrapped",
                details={"key_id": current, **counts},
            )
        )
        return RotationReport(current, counts["blobs"], counts["templates"], counts["documents"])

    def _rewrap_row(self, row: Any) -> int:
        if isinstance(row, m.Blob):
            if row.wrapped_key == ERASED_KEY:
                row.key_id = self.provider.current_key_id  # nothing to re-wrap: the key is destroyed
                return 0
            sealed = Sealed(row.id, row.key_id, row.wrapped_key, row.nonce, b"\x00" * 16)
            fresh = rewrap(sealed, record_id=row.id, provider=self.provider)
            row.key_id, row.wrapped_key = fresh.key_id, fresh.wrapped_key
            return 1
        column = "sealed" if isinstance(row, m.StoredTemplate) else "number_sealed"
        sealed = Sealed.from_bytes(getattr(row, column))
        if sealed.erased:
            row.key_id = self.provider.current_key_id
            return 0
        fresh = rewrap(sealed, record_id=row.id, provider=self.provider)
        setattr(row, column, fresh.to_bytes())
        row.key_id = fresh.key_id
        return 1

    def crypto_erase_capture(self, session: Session, capture_id: str) -> None:
        """Destroy the data keys of a capture's files and templates, in the caller's transaction."""
        session.execute(update(m.Blob).where(m.Blob.capture_id == capture_id).values(wrapped_key=ERASED_KEY))
        for row in session.execute(
            select(m.StoredTemplate).where(m.StoredTemplate.capture_id == capture_id)
        ).scalars():
            row.sealed = erase(Sealed.from_bytes(row.sealed)).to_bytes()

    def purge_old_versions(self) -> None:
        """Drop old copies of deleted or erased rows the database still holds: SQLite's WAL is
        checkpointed and truncated (``secure_delete`` already zeroes freed cells); PostgreSQL
        vacuums the tables that held keys (dead tuples are then reusable, not zeroed)."""
        if self.engine.dialect.name == "sqlite":
            raw = self.engine.raw_connection()  # outside any transaction (no BEGIN IMMEDIATE)
            try:
                cursor = raw.cursor()
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                cursor.close()
            finally:
                raw.close()
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM blobs, templates")

    def records_under_key(self, key_id: str) -> int:
        """How many live (not erased) data keys are wrapped under master key ``key_id``."""
        with Session(self.engine) as session:
            rows: list[m.Blob | m.StoredTemplate | m.Document] = []
            rows += session.execute(select(m.Blob).where(m.Blob.key_id == key_id)).scalars()
            rows += session.execute(
                select(m.StoredTemplate).where(m.StoredTemplate.key_id == key_id)
            ).scalars()
            rows += session.execute(select(m.Document).where(m.Document.key_id == key_id)).scalars()
            return sum(1 for row in rows if not _is_erased(row))

    def needs_rewrap_count(self) -> int:
        current = self.provider.current_key_id
        with Session(self.engine) as session:
            total = 0
            for table in (m.Blob, m.StoredTemplate, m.Document):
                total += len(session.execute(select(table.id).where(table.key_id != current)).all())
            return total

    # --- helpers -----------------------------------------------------------------------------

    def _traveller(self, session: Session, traveller_id: str) -> m.Traveller:
        row = session.get(m.Traveller, traveller_id)
        if row is None:
            raise RecordNotFoundError(
                "no such traveller", expected="a recorded traveller id", got=traveller_id
            )
        return row

    def _write(self) -> _WriteSession:
        return _WriteSession(self.engine)


class _WriteSession:
    """``with store._write() as session:`` commits on success, rolls back on error, and turns
    database failures into RecordsError."""

    def __init__(self, engine: Engine) -> None:
        self._session = Session(engine)

    def __enter__(self) -> Session:
        self._session.begin()
        return self._session

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: object) -> None:
        try:
            if kind is None:
                try:
                    self._session.commit()
                except DBIntegrityError as exc:
                    raise RecordConflictError(f"conflicts with a stored record: {exc.orig}") from None
                except SQLAlchemyError as exc:
                    raise RecordsError(f"could not store the record ({type(exc).__name__})") from exc
            else:
                self._session.rollback()
        finally:
            self._session.close()


def _blob_row(
    blob: _PreparedBlob, now: datetime, *, capture_id: str | None = None, document_id: str | None = None
) -> m.Blob:
    return m.Blob(
        id=blob.blob_id,
        capture_id=capture_id,
        document_id=document_id,
        kind=blob.kind,
        path=blob.name,
        key_id=blob.sealed.key_id,
        wrapped_key=blob.sealed.wrapped_key,
        nonce=blob.sealed.nonce,
        size=blob.size,
        created_at=now,
        missing_since=None,
    )


def _is_erased(row: m.Blob | m.StoredTemplate | m.Document) -> bool:
    if isinstance(row, m.Blob):
        return row.wrapped_key == ERASED_KEY
    return Sealed.from_bytes(row.sealed if isinstance(row, m.StoredTemplate) else row.number_sealed).erased


def _run_after_commit(callbacks: Sequence[Callable[[], None]]) -> None:
    """Anchor updates and gallery adds after a commit: their failure must not hide the commit
    from the caller (the encounter is stored; a replay returns its acknowledgement). The anchor
    keeps the pending head; a gallery rebuilt from the records gets the missing entry."""
    for callback in callbacks:
        try:
            callback()
        except Exception:
            _log.exception("after-commit step failed; the encounter itself is committed")


def _who_per_capture(
    captures: Sequence[CaptureRecord], decisions: Sequence[DecisionRecord]
) -> dict[str, str]:
    who = {c.capture_key: c.traveller_id for c in captures if c.traveller_id}
    for decision in decisions:
        if decision.outcome == "confirmed" and decision.capture_key and decision.traveller_id:
            who.setdefault(decision.capture_key, decision.traveller_id)
    return who


def _fingerprint(
    encounter: EncounterRecord, captures: Sequence[CaptureRecord], decisions: Sequence[DecisionRecord]
) -> str:
    """sha256 of the request, so a replay is recognised and a different reuse of the id is not."""
    body = {
        "encounter": [
            encounter.encounter_id,
            encounter.port,
            encounter.lane,
            encounter.direction,
            encounter.started_at.isoformat(),
        ],
        "captures": sorted(
            [
                c.capture_key,
                hashlib.sha256(c.image).hexdigest(),
                c.quality,
                c.captured_at.isoformat(),
                c.traveller_id,
                c.camera_id,
            ]
            for c in captures
        ),
        "decisions": sorted(
            [d.decision_id, d.outcome, d.method, d.capture_key, d.traveller_id, d.score, d.reason]
            for d in decisions
        ),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _thumbnail(image: bytes) -> bytes:
    """A small JPEG of the face for review screens; sealed like the image."""
    from PIL import Image

    from bioexit.imaging import decode_image
    from bioexit.settings import ImageLimits

    pixels = decode_image(image, limits=ImageLimits())
    thumb = Image.fromarray(pixels)
    thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    buffer = io.BytesIO()
    thumb.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


__all__ = ["RecordsStore", "RotationReport", "key_provider", "load_hash_key"]
