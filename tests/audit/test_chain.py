"""The audit hash chain: every edit, removal, reordering and cut tail is found and named."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import struct
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bioexit.audit import (
    GENESIS_HASH,
    AuditAction,
    AuditChain,
    AuditEntry,
    AuditError,
    AuditEvent,
    AuditIntegrityError,
    AuditSink,
    canonical_bytes,
    compute_hash,
    from_row,
    seal,
    subject_reference,
    to_row,
    verify,
)
from bioexit.errors import BioexitError, ConfigError

CHAIN_KEY = b"c" * 32
REF_KEY = b"r" * 32
T0 = datetime(2024, 6, 1, 8, 30, 0, 123456, tzinfo=UTC)
ACTIONS = [
    AuditAction.BIOMETRIC_READ,
    AuditAction.VERIFY_1_1,
    AuditAction.IDENTIFY_1_N,
    AuditAction.DECISION,
    AuditAction.DELETION,
]
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def event(i: int = 0, **overrides: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "action": ACTIONS[i % len(ACTIONS)],
        "actor": f"officer-{i % 3}",
        "role": "border_officer",
        "at": T0 + timedelta(seconds=i),
        "subject_ref": subject_reference(REF_KEY, "encounter", f"enc-{i}"),
        "outcome": "match" if i % 2 else "no_match",
        "purpose": "exit confirmation at lane 3",
        "details": {"lane": 3, "score": 0.5 + i / 100, "camera": "cam-2", "manual": i % 4 == 0, "note": None},
    }
    fields.update(overrides)
    return AuditEvent(**fields)


def build(n: int = 50, *, key: bytes | None = None) -> tuple[AuditChain, list[AuditEntry]]:
    chain = AuditChain(key=key)
    for i in range(n):
        chain.append(event(i))
    return chain, list(chain.entries)


def reseal_from(entries: list[AuditEntry], start: int, *, key: bytes | None) -> list[AuditEntry]:
    """What an attacker with write access does: recompute every hash from ``start`` on."""
    out = entries[:start]
    prev = entries[start - 1].entry_hash if start else GENESIS_HASH
    for entry in entries[start:]:
        sealed = seal(entry.sequence, prev, entry.event, key=key)
        out.append(sealed)
        prev = sealed.entry_hash
    return out


def edited(entry: AuditEntry, **changes: Any) -> AuditEntry:
    row = to_row(entry)
    row.update(changes)
    return from_row(row)


# --- a clean log -------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, CHAIN_KEY])
def test_clean_log_verifies_and_rows_round_trip(key: bytes | None) -> None:
    chain, entries = build(key=key)
    assert [e.sequence for e in entries] == list(range(50))
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))
    assert chain.head == (49, entries[-1].entry_hash)

    rows = [json.loads(json.dumps(to_row(e))) for e in entries]  # through real JSON, as a store would
    loaded = [from_row(row) for row in rows]
    assert loaded == entries
    result = verify(loaded, key=key, expected_head=chain.head)
    assert result.ok and result.first_bad_sequence is None and result.checked == 50
    assert result.head == chain.head
    result.raise_for_failure()


def test_hash_is_sha256_over_prev_hash_and_canonical_bytes() -> None:
    _, entries = build(3)
    entry = entries[2]
    data = entry.prev_hash.encode("ascii") + canonical_bytes(2, entry.event)
    assert entry.entry_hash == hashlib.sha256(data).hexdigest()
    _, keyed = build(3, key=CHAIN_KEY)
    data = keyed[2].prev_hash.encode("ascii") + canonical_bytes(2, keyed[2].event)
    assert keyed[2].entry_hash == hmac.new(CHAIN_KEY, data, hashlib.sha256).hexdigest()


def test_resumed_chain_continues_the_same_hashes() -> None:
    whole, entries = build(10)
    resumed = AuditChain(head=(4, entries[4].entry_hash))
    for i in range(5, 10):
        resumed.append(event(i))
    assert resumed.entries == tuple(entries[5:])
    assert resumed.head == whole.head


def test_chain_is_an_audit_sink() -> None:
    assert isinstance(AuditChain(), AuditSink)


# --- tampering ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"outcome": "no_match"},  # entry 17 is odd: its outcome is "match"
        {"actor": "officer-9"},
        {"at": "2024-06-01T08:30:18.123456Z"},
        {"details": '{"camera":"cam-2","lane":4,"manual":false,"note":null,"score":0.67}'},
        {"purpose": "curiosity about a neighbour"},
        {"subject_ref": "encounter:" + "0" * 64},
        {"sequence": 18},
    ],
)
@pytest.mark.parametrize("key", [None, CHAIN_KEY])
def test_edited_entry_is_named(changes: dict[str, Any], key: bytes | None) -> None:
    chain, entries = build(key=key)
    assert to_row(entries[17])["outcome"] == "match"
    entries[17] = edited(entries[17], **changes)
    result = verify(entries, key=key, expected_head=chain.head)
    assert not result.ok
    assert result.first_bad_sequence == 17
    assert "17 was edited" in result.reason
    assert result.checked == 17 and result.head == (16, entries[16].entry_hash)
    with pytest.raises(AuditIntegrityError, match="17 was edited"):
        result.raise_for_failure()


def test_edited_entry_with_recomputed_hash_is_named_by_the_broken_link() -> None:
    _, entries = build()
    forged = edited(entries[17], outcome="no_match")
    entries[17] = seal(17, forged.prev_hash, forged.event)
    result = verify(entries)
    assert result.first_bad_sequence == 17
    assert "entry 18 does not link to entry 17" in result.reason


def test_removed_entry_is_named() -> None:
    _, entries = build()
    del entries[17]
    result = verify(entries)
    assert not result.ok and result.first_bad_sequence == 17
    assert result.reason == "entry 17 is missing (found 18 after 16)"


def test_removed_run_and_removed_first_entry_are_named() -> None:
    _, entries = build()
    result = verify(entries[:17] + entries[20:])
    assert result.first_bad_sequence == 17
    assert result.reason == "entries 17–19 are missing (found 20 after 16)"
    result = verify(entries[1:])
    assert result.first_bad_sequence == 0
    assert result.reason == "entry 0 is missing (found 1 at the start)"


def test_swapped_entries_are_named() -> None:
    _, entries = build()
    entries[17], entries[18] = entries[18], entries[17]
    result = verify(entries)
    assert not result.ok and result.first_bad_sequence == 17
    assert result.reason.startswith("entries out of order at position 17")


def test_replayed_entry_is_named() -> None:
    _, entries = build()
    entries.insert(18, entries[17])
    result = verify(entries)
    assert result.first_bad_sequence == 18
    assert "entry 17 appears again" in result.reason


def test_renumbered_tail_after_removal_is_caught_by_the_link() -> None:
    """Remove entry 17 and renumber the rest without recomputing: every hash breaks at 17."""
    _, entries = build()
    renumbered = [*entries[:17], *(edited(e, sequence=e.sequence - 1) for e in entries[18:])]
    result = verify(renumbered)
    assert result.first_bad_sequence == 17 and "edited" in result.reason


def test_cut_tail_is_caught_only_with_the_anchored_head() -> None:
    chain, entries = build()
    cut = entries[:42]
    assert verify(cut).ok  # the chain alone cannot show it
    result = verify(cut, expected_head=chain.head)
    assert not result.ok and result.first_bad_sequence == 42
    assert result.reason == "log ends at 41 but the anchored head is 49"
    empty = verify([], expected_head=chain.head)
    assert empty.first_bad_sequence == 0 and empty.reason == "log is empty but the anchored head is 49"


def test_entries_past_the_anchored_head_are_refused() -> None:
    _, entries = build()
    result = verify(entries, expected_head=(45, entries[45].entry_hash))
    assert result.first_bad_sequence == 46 and "not anchored" in result.reason


def test_unkeyed_full_rewrite_is_caught_by_the_anchor_but_not_located() -> None:
    chain, entries = build()
    forged = reseal_from(
        [*entries[:17], edited(entries[17], outcome="no_match"), *entries[18:]], 17, key=None
    )
    assert verify(forged).ok  # without a key or an anchor a rewrite is invisible
    result = verify(forged, expected_head=chain.head)
    assert not result.ok and result.first_bad_sequence is None
    assert "anchored head" in result.reason


@pytest.mark.parametrize("attacker_key", [None, b"x" * 32])
def test_keyed_chain_catches_a_rewrite_without_the_key(attacker_key: bytes | None) -> None:
    _, entries = build(key=CHAIN_KEY)
    tampered = [*entries[:17], edited(entries[17], outcome="no_match"), *entries[18:]]
    forged = reseal_from(tampered, 17, key=attacker_key)
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(forged))
    result = verify(forged, key=CHAIN_KEY)  # no anchor needed
    assert result.first_bad_sequence == 17 and result.reason == "entry 17 was edited"


def test_verifying_with_the_wrong_key_fails_at_entry_0() -> None:
    _, entries = build(5, key=CHAIN_KEY)
    assert verify(entries).first_bad_sequence == 0
    assert verify(entries, key=b"y" * 32).first_bad_sequence == 0


def test_short_chain_key_refused_without_quoting_it() -> None:
    with pytest.raises(ConfigError, match="at least 32 bytes") as info:
        AuditChain(key=b"secret-key")
    assert "secret-key" not in str(info.value)


# --- event validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    "action", [AuditAction.VERIFY_1_1, AuditAction.IDENTIFY_1_N, AuditAction.BIOMETRIC_READ]
)
@pytest.mark.parametrize("purpose", [None, "", "   ", "audit", "12345678901", "x" * 257])
def test_search_without_a_stated_purpose_is_refused(action: AuditAction, purpose: str | None) -> None:
    with pytest.raises(AuditError, match="purpose"):
        event(action=action, purpose=purpose)


def test_purpose_is_optional_for_decisions_and_deletions() -> None:
    assert event(action=AuditAction.DECISION, purpose=None).purpose is None
    assert event(action=AuditAction.DELETION, purpose=None).purpose is None
    assert event(action=AuditAction.IDENTIFY_1_N, purpose="watchlist check").purpose == "watchlist check"


def test_audit_errors_are_bioexit_errors() -> None:
    assert issubclass(AuditIntegrityError, AuditError) and issubclass(AuditError, BioexitError)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(AuditError, match="naive"):
        event(at=datetime(2024, 6, 1, 8, 30))


def test_aware_datetime_is_kept_in_utc() -> None:
    local = datetime(2024, 6, 1, 10, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    stamped = event(at=local)
    assert stamped.at.tzinfo is UTC and stamped.at == T0
    assert canonical_bytes(0, stamped) == canonical_bytes(0, event(at=T0))


@pytest.mark.parametrize(
    "value",
    [
        JPEG_HEAD,
        bytearray(b"\x89PNG\r\n\x1a\n"),
        JPEG_HEAD.decode("latin-1"),
        base64.b64encode(JPEG_HEAD).decode(),  # short, but starts like a JPEG in base64
        base64.b64encode(bytes(range(200))).decode(),  # a long blob
        base64.urlsafe_b64encode(bytes(range(48, 120))).decode(),
        "A" * 257,
        "line\x00break",
    ],
)
def test_raw_data_in_details_is_refused_without_quoting_it(value: object) -> None:
    with pytest.raises(AuditError, match="details") as info:
        event(details={"blob": value})
    message = str(info.value)
    assert "expected" in message and "got" in message
    if isinstance(value, str):
        assert value[:16] not in message


def test_raw_data_in_other_fields_is_refused() -> None:
    blob = base64.b64encode(bytes(range(200))).decode()
    with pytest.raises(AuditError, match="outcome"):
        event(outcome=JPEG_HEAD)
    with pytest.raises(AuditError, match="purpose"):
        event(purpose=f"check {blob}")
    with pytest.raises(AuditError, match="subject_ref"):
        event(subject_ref=blob)


@pytest.mark.parametrize(
    "details",
    [
        {"Lane": 1},
        {"nested": {"a": 1}},
        {"items": [1, 2]},
        {"score": float("nan")},
        {f"k{i}": i for i in range(17)},
    ],
)
def test_details_must_be_small_flat_and_finite(details: dict[str, Any]) -> None:
    with pytest.raises(AuditError):
        event(details=details)


def test_hashes_and_references_are_allowed_in_details() -> None:
    ref = subject_reference(REF_KEY, "document", "L898902C3")
    digest = hashlib.sha256(b"x").hexdigest()
    made = event(details={"document_ref": ref, "template_sha256": digest})
    assert made.details["document_ref"] == ref


def test_subject_is_required_except_for_key_rotation() -> None:
    with pytest.raises(AuditError, match="subject"):
        event(action=AuditAction.DELETION, subject_ref=None)
    assert event(action=AuditAction.KEY_ROTATION, subject_ref=None, purpose=None).subject_ref is None


def test_event_is_frozen_and_details_read_only() -> None:
    made = event()
    with pytest.raises(AttributeError):
        made.outcome = "match"  # type: ignore[misc]
    with pytest.raises(TypeError):
        made.details["lane"] = 4  # type: ignore[index]


# --- references ---------------------------------------------------------------------------


def test_subject_reference_is_keyed_stable_and_hides_the_value() -> None:
    number = "L898902C3"
    ref = subject_reference(REF_KEY, "document", number)
    assert ref == subject_reference(REF_KEY, "document", number)
    assert ref != subject_reference(b"s" * 32, "document", number)
    assert ref != subject_reference(REF_KEY, "encounter", number)
    assert ref != subject_reference(REF_KEY, "document", "L898902C4")
    assert ref.startswith("document:") and number not in ref and number.lower() not in ref
    message = struct.pack(">I", 8) + b"document" + struct.pack(">I", 9) + number.encode()
    assert ref == "document:" + hmac.new(REF_KEY, message, hashlib.sha256).hexdigest()


def test_subject_reference_refuses_short_keys_and_bad_kinds() -> None:
    with pytest.raises(ConfigError):
        subject_reference(b"short", "document", "X1")
    with pytest.raises(AuditError):
        subject_reference(REF_KEY, "Document Number", "X1")
    with pytest.raises(AuditError):
        subject_reference(REF_KEY, "document", "")


# --- canonical form -----------------------------------------------------------------------

GOLDEN_EVENT: dict[str, Any] = {
    "action": AuditAction.IDENTIFY_1_N,
    "actor": "officer-1",
    "role": "border_officer",
    "at": datetime(2024, 6, 1, 8, 30, tzinfo=UTC),
    "subject_ref": "encounter:e-42",
    "outcome": "match",
    "purpose": "exit check — lane 3",
    "details": {"score": 0.75, "lane": 3, "manual": False, "note": None},
}
GOLDEN_BYTES = (
    b'{"action":"identify_1_n","actor":"officer-1","at":"2024-06-01T08:30:00.000000Z",'
    b'"details":{"lane":3,"manual":false,"note":null,"score":0.75},"outcome":"match",'
    b'"purpose":"exit check \\u2014 lane 3","role":"border_officer","seq":7,'
    b'"subject_ref":"encounter:e-42","v":1}'
)


def test_canonical_bytes_are_pinned() -> None:
    made = AuditEvent(**GOLDEN_EVENT)
    assert canonical_bytes(7, made) == GOLDEN_BYTES
    expected = hashlib.sha256(GENESIS_HASH.encode() + GOLDEN_BYTES).hexdigest()
    assert compute_hash(7, GENESIS_HASH, made) == expected


def test_canonical_bytes_ignore_details_order() -> None:
    reordered = {**GOLDEN_EVENT, "details": dict(reversed(list(GOLDEN_EVENT["details"].items())))}
    assert canonical_bytes(7, AuditEvent(**reordered)) == GOLDEN_BYTES


def test_bool_and_int_details_hash_differently() -> None:
    assert canonical_bytes(0, event(details={"flag": True})) != canonical_bytes(0, event(details={"flag": 1}))


# --- rows ------------------------------------------------------------------------------


def test_row_is_flat_and_json_able() -> None:
    _, entries = build(2)
    row = to_row(entries[1])
    assert all(isinstance(v, str | int | type(None)) for v in row.values())
    assert json.loads(json.dumps(row)) == row
    assert row["details"] == '{"camera":"cam-2","lane":3,"manual":false,"note":null,"score":0.51}'


@pytest.mark.parametrize(
    "changes",
    [
        {"version": 2},
        {"action": "peek"},
        {"at": "2024-06-01 08:30:00"},
        {"at": "2024-02-30T08:30:00.000000Z"},
        {"details": "not json"},
        {"details": '{"score": NaN}'},
        {"entry_hash": "ABC"},
        {"sequence": -1},
        {"purpose": None},  # entry 1 is a 1:1 search
        {"extra": 1},
    ],
)
def test_malformed_row_is_an_integrity_error(changes: dict[str, Any]) -> None:
    _, entries = build(2)
    row = to_row(entries[1])
    row.update(changes)
    with pytest.raises(AuditIntegrityError, match="malformed"):
        from_row(row)


def test_row_missing_a_column_is_an_integrity_error() -> None:
    _, entries = build(1)
    row = to_row(entries[0])
    del row["entry_hash"]
    with pytest.raises(AuditIntegrityError, match="row 0"):
        from_row(row)
