"""The pure core of the audit log: events, a hash chain over them, and its verification.

Every read of biometric data, every 1:1 or 1:N search, every decision and every
deletion becomes one ``AuditEvent``. ``AuditChain.append`` seals it into an
``AuditEntry`` that links to the entry before it::

    entry_hash = SHA-256(prev_hash || canonical_bytes(sequence, event))          # no chain key
    entry_hash = HMAC-SHA256(key, prev_hash || canonical_bytes(sequence, event))  # with a chain key

``prev_hash`` enters as its 64 ASCII hex characters (fixed width, so the join cannot be
re-split); the first entry's ``prev_hash`` is ``GENESIS_HASH`` (64 zeros). Sequence
numbers start at 0 and have no gaps. ``verify`` walks the entries and names the first
one that was edited, removed or moved.

What the chain alone cannot show:

* **A cut tail.** Deleting the last N rows leaves a shorter chain that is still valid.
  The head (last sequence and hash) must therefore be anchored *outside* the table (a
  write-once store, another system, a signed receipt) and passed to ``verify`` as
  ``expected_head``.
* **A rewrite by someone who can recompute hashes.** Without a chain key anyone with
  write access to the table can edit an entry and recompute every later hash; only the
  anchored head then shows it, and not where. With a chain key (kept like a master key,
  never in the database) a rewrite without the key fails at the first edited entry.

The log holds no images, templates or document numbers. Callers pass references: an
opaque id, or ``subject_reference(key, kind, value)`` (a keyed hash). Validation refuses
what can be recognised as raw data (bytes, JPEG/PNG/JPEG 2000 signatures, long base64,
over-long strings), but a document number typed into a free-text field cannot be
recognised in general: not storing one is the caller's duty.

No message here quotes an event's values or any key: only field names, sizes and
sequence numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from bioexit.errors import AuditError, AuditIntegrityError, ConfigError

CANONICAL_VERSION = 1
GENESIS_HASH = "0" * 64
EMPTY_HEAD: tuple[int, str] = (-1, GENESIS_HASH)
MIN_KEY_BYTES = 32

MAX_TEXT = 256
MAX_ACTOR = 128
MAX_ROLE = 64
MAX_OUTCOME = 64
MAX_SUBJECT_REF = 128
MAX_DETAILS = 16
MIN_PURPOSE_CHARS = 8
MIN_PURPOSE_LETTERS = 4
BASE64_RUN = 64

_HASH = re.compile(r"[0-9a-f]{64}")
_DETAIL_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_KIND = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_SUBJECT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
_BASE64_RUN = re.compile(rf"[A-Za-z0-9+/_-]{{{BASE64_RUN},}}={{0,2}}")
_HEX_ONLY = re.compile(r"[0-9a-fA-F]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_AT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z")
# Image signatures as they appear in a str (bytes decoded as Latin-1) and in base64.
_IMAGE_MARKERS = ("\xff\xd8\xff", "\x89PNG", "\x00\x00\x00\x0cjP", "\xffO\xffQ")
_BASE64_IMAGE_PREFIXES = ("/9j/", "iVBORw0KGgo", "AAAADGpQ", "/0//UQ")

DetailValue = str | int | float | bool | None


class AuditAction(Enum):
    """What an audit event records. Values are the stored (and hashed) spelling."""

    BIOMETRIC_READ = "biometric_read"
    VERIFY_1_1 = "verify_1_1"
    IDENTIFY_1_N = "identify_1_n"
    DECISION = "decision"
    DELETION = "deletion"
    ENROLMENT = "enrolment"
    KEY_ROTATION = "key_rotation"


SEARCH_ACTIONS = frozenset({AuditAction.VERIFY_1_1, AuditAction.IDENTIFY_1_N})
# Reading biometric data needs a purpose just as a search does.
PURPOSE_REQUIRED = SEARCH_ACTIONS | {AuditAction.BIOMETRIC_READ}
# Every action but a key rotation is about a subject.
SUBJECT_REQUIRED = frozenset(set(AuditAction) - {AuditAction.KEY_ROTATION})


def _require_key(key: object, what: str) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        size = f"{len(key)} bytes" if isinstance(key, bytes | bytearray) else f"a {type(key).__name__}"
        raise ConfigError(f"{what} is unusable", expected=f"at least {MIN_KEY_BYTES} bytes", got=size)
    return bytes(key)


def subject_reference(key: bytes, kind: str, value: str) -> str:
    """A keyed reference to a subject, fit for the log: ``"<kind>:<64 hex>"``.

    HMAC-SHA256 under ``key`` of the length-prefixed ``kind`` and ``value`` (UTF-8), so the
    same value gives the same reference (entries about one person link) while the log
    holds neither the value nor anything that can be reversed without the key. ``kind``
    (``"document"``, ``"encounter"``, ...) is part of the hashed input, so equal values of
    different kinds do not link. This is not ``MRZ.document_number_hash`` (which hashes the
    number alone): use one of them consistently for the log, ideally under its own key.
    """
    key = _require_key(key, "subject reference key")
    if not isinstance(kind, str) or _KIND.fullmatch(kind) is None:
        raise AuditError("invalid reference kind", expected=f"text matching {_KIND.pattern}", got=_size(kind))
    if not isinstance(value, str) or not value:
        raise AuditError("invalid reference value", expected="non-empty text", got=_size(value))
    message = _length_prefixed(kind.encode("utf-8")) + _length_prefixed(value.encode("utf-8"))
    return f"{kind}:{hmac.new(key, message, hashlib.sha256).hexdigest()}"


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _size(value: object) -> str:
    """How a refused value is described: its type and size, never its content."""
    if isinstance(value, str):
        return f"text of {len(value)} characters"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"{len(value)} raw bytes"
    return f"a {type(value).__name__}"


def _check_text(name: str, value: object, limit: int) -> str:
    """Refuse what is not short, printable text, or looks like image data or a base64 blob."""
    if isinstance(value, bytes | bytearray | memoryview):
        raise AuditError(
            f"{name} holds raw bytes; the audit log stores references only",
            expected="text",
            got=_size(value),
        )
    if not isinstance(value, str):
        raise AuditError(f"{name} must be text", expected="str", got=_size(value))
    if len(value) > limit:
        raise AuditError(f"{name} is too long", expected=f"at most {limit} characters", got=_size(value))
    if any(marker in value for marker in _IMAGE_MARKERS) or value.startswith(_BASE64_IMAGE_PREFIXES):
        raise AuditError(
            f"{name} looks like image data; the audit log stores references only",
            expected="a reference or short text",
            got=_size(value),
        )
    for run in _BASE64_RUN.finditer(value):
        if _HEX_ONLY.fullmatch(run.group().rstrip("=")) is None:
            raise AuditError(
                f"{name} holds a base64-like blob; the audit log stores references only",
                expected=f"no run of {BASE64_RUN} or more base64 characters (hex hashes are allowed)",
                got=_size(value),
            )
    if _CONTROL.search(value) is not None:
        raise AuditError(f"{name} holds control characters", expected="printable text", got=_size(value))
    return value


def _check_detail(name: str, value: object) -> DetailValue:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AuditError(f"details[{name!r}] is not finite", expected="a finite number", got="NaN or inf")
        return value
    return _check_text(f"details[{name!r}]", value, MAX_TEXT)


def _check_details(details: object) -> Mapping[str, DetailValue]:
    if not isinstance(details, Mapping):
        raise AuditError("details must be a mapping", expected="Mapping[str, scalar]", got=_size(details))
    if len(details) > MAX_DETAILS:
        raise AuditError("details has too many keys", expected=f"at most {MAX_DETAILS}", got=len(details))
    checked: dict[str, DetailValue] = {}
    for name, value in details.items():
        if not isinstance(name, str) or _DETAIL_KEY.fullmatch(name) is None:
            raise AuditError(
                "invalid details key", expected=f"text matching {_DETAIL_KEY.pattern}", got=_size(name)
            )
        checked[name] = _check_detail(name, value)
    return MappingProxyType(dict(sorted(checked.items())))


def _format_at(at: datetime) -> str:
    at = at.astimezone(UTC)
    return (
        f"{at.year:04d}-{at.month:02d}-{at.day:02d}T"
        f"{at.hour:02d}:{at.minute:02d}:{at.second:02d}.{at.microsecond:06d}Z"
    )


def _parse_at(text: object) -> datetime:
    match = _AT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise AuditError("invalid time", expected="YYYY-MM-DDTHH:MM:SS.ffffffZ", got=_size(text))
    try:
        year, month, day, hour, minute, second, micro = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError:
        raise AuditError("invalid time", expected="a real UTC date and time", got=_size(text)) from None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audited act: who (``actor``, ``role``), why (``purpose``), when (``at``, UTC),
    about whom (``subject_ref``, a reference, never a document number), and how it ended
    (``outcome``). ``details`` is a small flat mapping of short scalar values.

    Searches (1:1, 1:N) and biometric reads require a ``purpose`` of at least
    ``MIN_PURPOSE_CHARS`` characters with ``MIN_PURPOSE_LETTERS`` letters. ``at`` must be
    timezone-aware; it is kept in UTC.
    """

    action: AuditAction
    actor: str
    role: str
    at: datetime
    subject_ref: str | None
    outcome: str
    purpose: str | None = None
    details: Mapping[str, DetailValue] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not isinstance(self.action, AuditAction):
            raise AuditError("invalid action", expected="an AuditAction", got=_size(self.action))
        for name, limit in (("actor", MAX_ACTOR), ("role", MAX_ROLE), ("outcome", MAX_OUTCOME)):
            if not _check_text(name, getattr(self, name), limit).strip():
                raise AuditError(f"{name} is empty", expected="non-empty text", got="blank text")
        self._check_purpose()
        self._check_subject()
        if not isinstance(self.at, datetime):
            raise AuditError("at must be a datetime", expected="an aware UTC datetime", got=_size(self.at))
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise AuditError("at is a naive datetime", expected="a timezone-aware UTC datetime", got="naive")
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        object.__setattr__(self, "details", _check_details(self.details))

    def _check_purpose(self) -> None:
        if self.purpose is None:
            if self.action in PURPOSE_REQUIRED:
                raise AuditError(
                    f"{self.action.value} requires a stated purpose",
                    expected=f"at least {MIN_PURPOSE_CHARS} characters of text",
                    got="none",
                )
            return
        text = _check_text("purpose", self.purpose, MAX_TEXT).strip()
        letters = sum(char.isalpha() for char in text)
        if len(text) < MIN_PURPOSE_CHARS or letters < MIN_PURPOSE_LETTERS:
            raise AuditError(
                "purpose is too short to state one",
                expected=f"at least {MIN_PURPOSE_CHARS} characters with {MIN_PURPOSE_LETTERS} letters",
                got=f"{len(text)} characters with {letters} letters",
            )

    def _check_subject(self) -> None:
        if self.subject_ref is None:
            if self.action in SUBJECT_REQUIRED:
                raise AuditError(
                    f"{self.action.value} requires a subject reference",
                    expected="an opaque id or subject_reference(...)",
                    got="none",
                )
            return
        _check_text("subject_ref", self.subject_ref, MAX_SUBJECT_REF)
        if _SUBJECT_REF.fullmatch(self.subject_ref) is None:
            raise AuditError(
                "invalid subject reference",
                expected=f"text matching {_SUBJECT_REF.pattern}",
                got=_size(self.subject_ref),
            )

    def to_json(self) -> dict[str, Any]:
        """The event as plain JSON values (the ``event`` part of the canonical form)."""
        return {
            "action": self.action.value,
            "actor": self.actor,
            "at": _format_at(self.at),
            "details": dict(self.details),
            "outcome": self.outcome,
            "purpose": self.purpose,
            "role": self.role,
            "subject_ref": self.subject_ref,
        }


def canonical_bytes(sequence: int, event: AuditEvent) -> bytes:
    """The hashed form of entry ``sequence``: deterministic, ASCII-only JSON.

    Keys sorted, no whitespace, non-ASCII as ``\\uXXXX`` escapes, ``at`` as
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, the action by its Enum value, floats in Python's
    shortest round-trip form, NaN and infinity refused; ``v`` is ``CANONICAL_VERSION``.
    """
    _check_sequence(sequence)
    document = {"v": CANONICAL_VERSION, "seq": sequence, **event.to_json()}
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def _check_sequence(sequence: object) -> int:
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise AuditError("invalid sequence number", expected="an int >= 0", got=_size(sequence))
    return sequence


def _check_hash(name: str, value: object) -> str:
    if not isinstance(value, str) or _HASH.fullmatch(value) is None:
        raise AuditError(f"invalid {name}", expected="64 lowercase hex characters", got=_size(value))
    return value


def compute_hash(sequence: int, prev_hash: str, event: AuditEvent, *, key: bytes | None = None) -> str:
    """``entry_hash`` of entry ``sequence``: SHA-256, or HMAC-SHA256 under ``key`` when given."""
    data = _check_hash("prev_hash", prev_hash).encode("ascii") + canonical_bytes(sequence, event)
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(_require_key(key, "audit chain key"), data, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One sealed entry of the log, stored as one row (``to_row``)."""

    sequence: int
    event: AuditEvent
    prev_hash: str
    entry_hash: str

    def __post_init__(self) -> None:
        _check_sequence(self.sequence)
        if not isinstance(self.event, AuditEvent):
            raise AuditError("invalid event", expected="an AuditEvent", got=_size(self.event))
        _check_hash("prev_hash", self.prev_hash)
        _check_hash("entry_hash", self.entry_hash)


def seal(sequence: int, prev_hash: str, event: AuditEvent, *, key: bytes | None = None) -> AuditEntry:
    """The entry ``sequence`` that follows the entry whose hash is ``prev_hash``."""
    return AuditEntry(sequence, event, prev_hash, compute_hash(sequence, prev_hash, event, key=key))


@runtime_checkable
class AuditSink(Protocol):
    """Where audited code writes. ``append`` returns only once the entry is durably
    stored and raises otherwise; a search runs only after ``append`` returned, so a log
    that cannot be written refuses the search."""

    def append(self, event: AuditEvent) -> AuditEntry: ...


class AuditChain:
    """An in-memory chain builder: ``append`` seals events in order.

    ``head`` is ``(sequence, entry_hash)`` of the last entry, ``EMPTY_HEAD`` before the
    first. Pass ``head`` to resume a chain whose earlier entries are stored elsewhere.
    Anchor ``head`` outside the log's own storage after every append: the chain cannot
    show a cut tail by itself (see the module docstring). Not thread-safe.
    """

    def __init__(self, *, key: bytes | None = None, head: tuple[int, str] = EMPTY_HEAD) -> None:
        self._key = None if key is None else _require_key(key, "audit chain key")
        sequence, entry_hash = head
        if head != EMPTY_HEAD:
            _check_sequence(sequence)
            _check_hash("head hash", entry_hash)
        self._head = (sequence, entry_hash)
        self._entries: list[AuditEntry] = []

    def __repr__(self) -> str:
        keyed = "keyed" if self._key is not None else "unkeyed"
        return f"AuditChain({keyed}, head={self._head[0]}, appended={len(self._entries)})"

    @property
    def head(self) -> tuple[int, str]:
        return self._head

    @property
    def entries(self) -> tuple[AuditEntry, ...]:
        """The entries appended through this builder, in order."""
        return tuple(self._entries)

    def append(self, event: AuditEvent) -> AuditEntry:
        entry = seal(self._head[0] + 1, self._head[1], event, key=self._key)
        self._entries.append(entry)
        self._head = (entry.sequence, entry.entry_hash)
        return entry


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of ``verify``. ``first_bad_sequence`` is the first entry found edited,
    missing or moved; ``None`` when ``ok``, or when a rewrite is certain (the head differs
    from its anchor) but cannot be located. ``reason`` quotes sequence numbers only."""

    ok: bool
    first_bad_sequence: int | None
    reason: str
    checked: int
    head: tuple[int, str]

    def raise_for_failure(self) -> None:
        """Raise ``AuditIntegrityError`` with ``reason`` unless the log verified."""
        if not self.ok:
            raise AuditIntegrityError(f"audit log failed verification: {self.reason}")


def verify(
    entries: Iterable[AuditEntry],
    *,
    key: bytes | None = None,
    expected_head: tuple[int, str] | None = None,
) -> VerifyResult:
    """Check a whole log, in stored order, from entry 0; stop at the first fault.

    For each position ``i``: the entry's hash must match its content (else it was
    edited), its sequence must be ``i`` (else an entry is missing, repeated or moved),
    and its ``prev_hash`` must be the previous ``entry_hash`` (else the previous entry was
    rewritten with a recomputed hash, or this one was replaced). With ``expected_head`` the
    log must end exactly there: a shorter log was cut, a longer one has unanchored entries.
    ``key`` must be the chain key the log was written with (``None`` for an unkeyed log).
    """
    items = list(entries)
    checked_key = None if key is None else _require_key(key, "audit chain key")
    head = EMPTY_HEAD

    def bad(sequence: int | None, reason: str, checked: int) -> VerifyResult:
        return VerifyResult(False, sequence, reason, checked, head)

    for position, entry in enumerate(items):
        if compute_hash(entry.sequence, entry.prev_hash, entry.event, key=checked_key) != entry.entry_hash:
            where = f"entry {position}" if entry.sequence == position else f"the entry at position {position}"
            return bad(position, f"{where} was edited", position)
        if entry.sequence != position:
            return bad(position, _sequence_fault(position, entry.sequence, items), position)
        if entry.prev_hash != head[1]:
            if position == 0:
                return bad(0, "entry 0 was edited (it does not start from the genesis hash)", 0)
            return bad(
                position - 1,
                f"entry {position - 1} was rewritten or entry {position} replaced "
                f"(entry {position} does not link to entry {position - 1})",
                position,
            )
        head = (entry.sequence, entry.entry_hash)

    count = len(items)
    if expected_head is not None:
        anchored_sequence, anchored_hash = expected_head
        last = head[0]
        if last < anchored_sequence:
            ends = "is empty" if count == 0 else f"ends at {last}"
            return bad(last + 1, f"log {ends} but the anchored head is {anchored_sequence}", count)
        if last > anchored_sequence:
            return bad(
                anchored_sequence + 1,
                f"log continues to {last} past the anchored head {anchored_sequence} "
                f"(entries {anchored_sequence + 1}–{last} are not anchored)",
                count,
            )
        if head[1] != anchored_hash:
            return bad(
                None,
                f"entry {last} does not match the anchored head: the log was rewritten "
                "and its hashes recomputed; an older anchor is needed to locate the first change",
                count,
            )
    return VerifyResult(True, None, f"all {count} entries verified", count, head)


def _sequence_fault(position: int, found: int, items: list[AuditEntry]) -> str:
    if found < position:
        return f"entries out of order at position {position} (entry {found} appears again)"
    if any(entry.sequence == position for entry in items[position + 1 :]):
        return f"entries out of order at position {position} (found {found}, expected {position})"
    after = "at the start" if position == 0 else f"after {position - 1}"
    if found == position + 1:
        return f"entry {position} is missing (found {found} {after})"
    return f"entries {position}–{found - 1} are missing (found {found} {after})"


ROW_FIELDS = (
    "version",
    "sequence",
    "action",
    "actor",
    "role",
    "purpose",
    "at",
    "subject_ref",
    "outcome",
    "details",
    "prev_hash",
    "entry_hash",
)


def to_row(entry: AuditEntry) -> dict[str, Any]:
    """One flat, JSON-able row: scalar columns, ``details`` as canonical JSON text."""
    event = entry.event.to_json()
    return {
        "version": CANONICAL_VERSION,
        "sequence": entry.sequence,
        "action": event["action"],
        "actor": event["actor"],
        "role": event["role"],
        "purpose": event["purpose"],
        "at": event["at"],
        "subject_ref": event["subject_ref"],
        "outcome": event["outcome"],
        "details": json.dumps(event["details"], sort_keys=True, separators=(",", ":"), ensure_ascii=True),
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


def from_row(row: Mapping[str, Any]) -> AuditEntry:
    """The entry stored in ``row`` (as written by ``to_row``).

    Raises ``AuditIntegrityError`` for a row that is not well formed: a missing or extra
    column, an unknown version or action, or content that fails event validation. A
    well-formed but edited row loads, and ``verify`` finds it.
    """
    sequence = row.get("sequence") if isinstance(row, Mapping) else None
    where = f"row {sequence}" if isinstance(sequence, int) and not isinstance(sequence, bool) else "a row"
    try:
        if not isinstance(row, Mapping) or set(row) != set(ROW_FIELDS):
            raise AuditError("wrong columns", expected=", ".join(ROW_FIELDS), got="other columns")
        if row["version"] != CANONICAL_VERSION or isinstance(row["version"], bool):
            raise AuditError("unknown version", expected=CANONICAL_VERSION, got=_size(row["version"]))
        try:
            action = AuditAction(row["action"])
        except ValueError:
            raise AuditError("unknown action", got=_size(row["action"])) from None
        details_text = _check_text("details", row["details"], 4 * MAX_TEXT * MAX_DETAILS)
        try:
            details = json.loads(details_text, parse_constant=_refuse_constant)
        except ValueError:
            raise AuditError("details is not JSON", got=_size(details_text)) from None
        event = AuditEvent(
            action=action,
            actor=row["actor"],
            role=row["role"],
            at=_parse_at(row["at"]),
            subject_ref=row["subject_ref"],
            outcome=row["outcome"],
            purpose=row["purpose"],
            details=details,
        )
        return AuditEntry(row["sequence"], event, row["prev_hash"], row["entry_hash"])
    except AuditIntegrityError:
        raise
    except AuditError as error:
        raise AuditIntegrityError(f"{where} of the audit log is malformed: {error}") from None


def _refuse_constant(name: str) -> float:
    raise ValueError(name)
