"""The records schema: SQLAlchemy 2 typed models. Migrations in ``migrations/`` must match it
(a test compares them).

Nothing biometric is stored in plain form: images live in the blob folder as AES-GCM
ciphertext (their wrapped data key, key id and nonce in ``blobs``), templates and document
numbers as sealed bytes (``bioexit.crypto.Sealed.to_bytes``). Times are stored as UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ID = 64  # length of every id column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend (SQLite has no zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), str: String(ID), bytes: LargeBinary()}  # noqa: RUF012


class Traveller(Base):
    __tablename__ = "travellers"

    id: Mapped[str] = mapped_column(primary_key=True)
    citizenship: Mapped[str] = mapped_column(String(16))  # citizen | non_citizen | unknown
    opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Document(Base):
    """A travel document. The number is kept sealed; ``number_hash`` (keyed) finds it."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(primary_key=True)
    traveller_id: Mapped[str] = mapped_column(ForeignKey("travellers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    issuing_state: Mapped[str | None] = mapped_column(String(3))
    expiry_date: Mapped[date | None] = mapped_column(Date)
    number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(40))
    number_sealed: Mapped[bytes]
    created_at: Mapped[datetime]


class Entry(Base):
    """An admission: when the traveller came in and until when they may stay (None: no limit)."""

    __tablename__ = "entries"

    id: Mapped[str] = mapped_column(primary_key=True)
    traveller_id: Mapped[str] = mapped_column(ForeignKey("travellers.id"), index=True)
    port: Mapped[str]
    admitted_on: Mapped[date] = mapped_column(Date)
    admit_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]


class Encounter(Base):
    __tablename__ = "encounters"

    id: Mapped[str] = mapped_column(primary_key=True)
    port: Mapped[str]
    lane: Mapped[str]
    direction: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the ingest request


class Capture(Base):
    """One occupant's best face of an encounter. ``state``: stored → deleting → deleted;
    ``none`` when nothing biometric was kept (opt-out)."""

    __tablename__ = "captures"
    __table_args__ = (UniqueConstraint("encounter_id", "capture_key"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    encounter_id: Mapped[str] = mapped_column(ForeignKey("encounters.id"), index=True)
    capture_key: Mapped[str]
    traveller_id: Mapped[str | None] = mapped_column(ForeignKey("travellers.id"), index=True)
    camera_id: Mapped[str | None]
    captured_at: Mapped[datetime]
    quality: Mapped[float] = mapped_column(Float)
    category: Mapped[str] = mapped_column(String(40))
    delete_after: Mapped[datetime | None] = mapped_column(index=True)
    gallery_member: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), index=True)
    deleted_at: Mapped[datetime | None]


class Blob(Base):
    """A sealed file in the blob folder: its ciphertext is the file, its key lives here. It
    belongs to exactly one capture (an encounter photo) or one document (its portrait)."""

    __tablename__ = "blobs"
    __table_args__ = (CheckConstraint("(capture_id IS NULL) <> (document_id IS NULL)", name="one_owner"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    capture_id: Mapped[str | None] = mapped_column(ForeignKey("captures.id"), index=True)
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # image | thumbnail
    path: Mapped[str] = mapped_column(String(255), unique=True)
    key_id: Mapped[str] = mapped_column(String(40))
    wrapped_key: Mapped[bytes]
    nonce: Mapped[bytes]
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    missing_since: Mapped[datetime | None]


class StoredTemplate(Base):
    __tablename__ = "templates"

    id: Mapped[str] = mapped_column(primary_key=True)
    capture_id: Mapped[str | None] = mapped_column(ForeignKey("captures.id"), index=True)
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"), index=True)
    model_id: Mapped[str]
    model_version: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(40))
    sealed: Mapped[bytes]
    created_at: Mapped[datetime]


class Decision(Base):
    """The lane's decision about one occupant. ``status``: final, pending_review (an officer
    must decide), adjudicated."""

    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(primary_key=True)
    encounter_id: Mapped[str] = mapped_column(ForeignKey("encounters.id"), index=True)
    capture_id: Mapped[str | None] = mapped_column(ForeignKey("captures.id"))
    traveller_id: Mapped[str | None] = mapped_column(ForeignKey("travellers.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # confirmed | no_match | not_captured
    method: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_at: Mapped[datetime]
    officer: Mapped[str | None] = mapped_column(String(128))
    review_outcome: Mapped[str | None] = mapped_column(String(16))
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None]


class Departure(Base):
    __tablename__ = "departures"
    __table_args__ = (Index("ix_departures_port_lane_departed_at", "port", "lane", "departed_at"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), unique=True)
    encounter_id: Mapped[str] = mapped_column(ForeignKey("encounters.id"))
    traveller_id: Mapped[str] = mapped_column(ForeignKey("travellers.id"), index=True)
    entry_id: Mapped[str | None] = mapped_column(ForeignKey("entries.id"), index=True)
    port: Mapped[str]
    lane: Mapped[str]
    departed_at: Mapped[datetime]


class DeletionIntent(Base):
    """Recorded (and the data crypto-erased) before any file or gallery entry is touched, so a
    sweep killed at any point is finished by the next one."""

    __tablename__ = "deletion_intents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.id"), unique=True)
    category: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime]
    done_at: Mapped[datetime | None] = mapped_column(index=True)


class AuditRow(Base):
    """One entry of the hash-chained audit log (``bioexit.audit.chain.to_row``). Append-only:
    triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_entries"

    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(256))
    at: Mapped[str] = mapped_column(String(32))
    subject_ref: Mapped[str | None] = mapped_column(String(128), index=True)
    outcome: Mapped[str] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row holding the chain head; appends lock it, so they are serialised."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sequence: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))


# --- service credentials (bioexit.service) --------------------------------------------------


class User(Base):
    """A person who logs in. Only the argon2id hash of the password is stored."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(128), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    roles: Mapped[str] = mapped_column(String(128))  # comma-separated role names
    ports: Mapped[str] = mapped_column(Text)  # comma-separated port codes
    all_ports: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class ApiKey(Base):
    """A lane device's API key: the id, and a SHA-256 of the secret (never the secret)."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    device: Mapped[str] = mapped_column(String(128))
    secret_hash: Mapped[str] = mapped_column(String(64))
    ports: Mapped[str] = mapped_column(Text)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class LoginSession(Base):
    """A login session: a SHA-256 of the token, whose user, and when it expires (epoch seconds)."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(
        String(128), ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[float] = mapped_column(Float)
