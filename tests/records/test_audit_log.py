from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from bioexit.audit.chain import GENESIS_HASH, AuditAction
from bioexit.clock import FakeClock
from bioexit.errors import AuditError, AuditWriteError
from bioexit.records.audit_log import HeadAnchor
from bioexit.records.retention import Sweeper
from bioexit.records.store import RecordsStore
from bioexit.records.types import CaptureRecord, DecisionRecord, EncounterRecord
from bioexit.settings import RecordsConfig

from .conftest import T0, everything_on_disk, face_jpeg, template

PURPOSE = "exit confirmation of a vehicle occupant"


def populate(store: RecordsStore) -> tuple[str, str]:
    """An enrolment, a decision, an officer review, a read, a 1:1 search and a deletion: 8+ entries."""
    citizen = store.add_traveller("citizen")
    store.add_document(citizen, "passport", "X1234567")
    store.record_encounter(
        EncounterRecord("enc-1", "P1", "L1", T0),
        [
            CaptureRecord("occ-0", face_jpeg(1), 0.9, T0, template(1)),
            CaptureRecord("occ-1", face_jpeg(2), 0.7, T0),
        ],
        [
            DecisionRecord("d-1", "confirmed", "1:1-document", "occ-0", citizen, 0.93),
            DecisionRecord("d-2", "no_match", "1:N-encounters", "occ-1"),
        ],
    )
    store.adjudicate("d-2", officer="officer-7", outcome="rejected", reason="not enough light")
    capture = store.ref("traveller", citizen)
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bioexit.records import models as m

    with Session(store.engine) as session:
        capture_id = session.execute(
            select(m.Capture.id).where(m.Capture.capture_key == "occ-0")
        ).scalar_one()
    store.read_capture_image(
        capture_id, actor="officer-7", role="officer", purpose="secondary inspection review"
    )
    store.audited_search(
        action=AuditAction.VERIFY_1_1,
        actor="lane:P1/L1",
        role="lane",
        purpose=PURPOSE,
        subject_ref=capture,
        search=lambda: 0.91,
        outcome=lambda score: "match" if score > 0.5 else "no_match",
    )
    assert isinstance(store.clock, FakeClock)
    store.clock.advance(timedelta(hours=12))
    Sweeper(store).sweep()
    return citizen, capture_id


def test_every_read_search_decision_and_deletion_is_recorded(store: RecordsStore) -> None:
    citizen, capture_id = populate(store)
    entries = store.audit.entries()
    actions = [e.event.action for e in entries]
    assert actions == [
        AuditAction.ENROLMENT,  # the passport
        AuditAction.DECISION,  # d-1 by the lane
        AuditAction.DECISION,  # d-2 by the lane
        AuditAction.DECISION,  # d-2 by the officer
        AuditAction.BIOMETRIC_READ,
        AuditAction.VERIFY_1_1,  # requested
        AuditAction.VERIFY_1_1,  # outcome
        AuditAction.DELETION,  # occ-0
        AuditAction.DELETION,  # occ-1
    ]
    review = entries[3].event
    assert (review.actor, review.role, review.outcome) == ("officer-7", "officer", "review_rejected")
    read = entries[4].event
    assert read.purpose == "secondary inspection review" and read.subject_ref == store.ref(
        "capture", capture_id
    )
    search = entries[6].event
    assert (search.actor, search.role, search.purpose, search.outcome) == (
        "lane:P1/L1",
        "lane",
        PURPOSE,
        "match",
    )
    assert search.subject_ref == store.ref("traveller", citizen) and search.details["request"] == 5
    assert all(e.event.at.tzinfo is UTC for e in entries)
    enrolment = entries[0].event
    assert (enrolment.actor, enrolment.outcome, enrolment.details) == (
        "bioexit",
        "enrolled",
        {"kind": "passport", "template": False, "photo": False},
    )
    assert entries[1].event.subject_ref == store.ref("traveller", citizen)
    assert store.audit.verify().ok


def test_the_log_holds_references_only(store: RecordsStore) -> None:
    citizen, capture_id = populate(store)
    rows = json.dumps(store.audit.rows())
    for secret in ("X1234567", citizen, capture_id, "enc-1", "d-1"):
        assert secret not in rows


def _drop_append_only_guard(engine: Engine) -> None:
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("DROP TRIGGER audit_entries_append_only ON audit_entries")
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_entries_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_entries_no_delete")


@pytest.mark.own_database
def test_the_table_refuses_updates_and_deletes(store: RecordsStore) -> None:
    populate(store)
    for statement in (
        "UPDATE audit_entries SET outcome = 'x' WHERE sequence = 1",
        "DELETE FROM audit_entries",
    ):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as connection:
            connection.exec_driver_sql(statement)
    assert store.audit.verify().ok


def _swap_rows(engine: Engine, a: int, b: int) -> None:
    columns = (
        "version, action, actor, role, purpose, at, subject_ref, outcome, details, prev_hash, entry_hash"
    )
    with engine.begin() as connection:
        rows = {
            r[0]: r[1:]
            for r in connection.exec_driver_sql(
                f"SELECT sequence, {columns} FROM audit_entries WHERE sequence IN ({a}, {b})"
            )
        }
        names = [c.strip() for c in columns.split(",")]
        for target, source in ((a, b), (b, a)):
            assignments = ", ".join(f"{name} = :{name}" for name in names)
            connection.execute(
                text(f"UPDATE audit_entries SET {assignments} WHERE sequence = :seq"),
                {"seq": target, **dict(zip(names, rows[source], strict=True))},
            )


# name -> (first bad sequence, what the reason says)
TAMPERING: dict[str, tuple[int, str]] = {
    "edit": (2, "entry 2 was edited"),
    "removal": (3, "entry 3 is missing"),
    "reorder": (4, "entry 4"),
    "cut tail": (6, "anchored head"),
}


def _tamper(engine: Engine, name: str) -> None:
    if name == "reorder":
        _swap_rows(engine, 4, 5)
        return
    statement = {
        "edit": "UPDATE audit_entries SET outcome='granted' WHERE sequence=2",
        "removal": "DELETE FROM audit_entries WHERE sequence=3",
        "cut tail": "DELETE FROM audit_entries WHERE sequence >= 6",
    }[name]
    with engine.begin() as connection:
        connection.exec_driver_sql(statement)


@pytest.mark.own_database
@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_audit_verify_catches_and_names_the_first_bad_entry(
    store: RecordsStore, records_config: RecordsConfig, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    from typer.testing import CliRunner

    from bioexit.cli import app

    populate(store)
    _drop_append_only_guard(store.engine)
    assert store.audit.verify().ok
    _tamper(store.engine, name)
    first_bad, reason = TAMPERING[name]
    result = store.audit.verify()
    assert not result.ok and result.first_bad_sequence == first_bad and reason in result.reason
    monkeypatch.setenv("BIOEXIT_RECORDS__DATA_DIR", str(records_config.data_dir))
    if records_config.database_url:
        monkeypatch.setenv("BIOEXIT_RECORDS__DATABASE_URL", records_config.database_url)
    cli = CliRunner().invoke(app, ["audit", "verify", "--json"])
    assert cli.exit_code == 1
    body = json.loads(cli.output)
    assert body["ok"] is False and body["first_bad_sequence"] == first_bad


def test_a_search_or_read_without_a_purpose_is_refused_and_never_runs(store: RecordsStore) -> None:
    populate(store)
    before = len(store.audit.entries())
    ran = []
    for purpose in (None, "", "n/a", "12345678"):
        with pytest.raises(AuditError, match="purpose"):
            store.audited_search(
                action=AuditAction.IDENTIFY_1_N,
                actor="lane:P1/L1",
                role="lane",
                purpose=purpose,
                subject_ref="encounter:x",
                search=lambda: ran.append(1),
            )
    assert ran == [] and len(store.audit.entries()) == before


@pytest.mark.own_database
def test_when_the_log_cannot_be_written_the_search_is_refused(store: RecordsStore) -> None:
    populate(store)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE audit_entries")  # the log is gone for real
    ran: list[int] = []
    with pytest.raises(AuditWriteError, match="refused"):
        store.audited_search(
            action=AuditAction.IDENTIFY_1_N,
            actor="lane:P1/L1",
            role="lane",
            purpose=PURPOSE,
            subject_ref="encounter:x",
            search=lambda: ran.append(1),
        )
    assert ran == []


@pytest.mark.own_database
def test_when_the_log_is_read_only_the_read_is_refused(
    store: RecordsStore, records_config: RecordsConfig
) -> None:
    """The audit head cannot be updated (a read-only log): the biometric read is refused, and so
    is the search."""
    populate(store)
    with store.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "CREATE FUNCTION bx_ro() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN RAISE EXCEPTION 'read-only'; END $$"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER bx_ro BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION bx_ro()"
            )
        else:
            connection.exec_driver_sql(
                "CREATE TRIGGER bx_ro BEFORE INSERT ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'read-only'); END"
            )
    ran: list[int] = []
    with pytest.raises(AuditWriteError):
        store.audited_search(
            action=AuditAction.VERIFY_1_1,
            actor="lane:P1/L1",
            role="lane",
            purpose=PURPOSE,
            subject_ref="encounter:x",
            search=lambda: ran.append(1),
        )
    assert ran == [] and store.audit.verify().ok


def test_a_crash_between_commit_and_anchor_update_is_not_tampering(store: RecordsStore) -> None:
    populate(store)
    anchor = store.audit.anchor
    head, pending = anchor.read()
    assert pending is None
    # A crash after the pending head was written but before the commit: the log ends at the head.
    anchor.begin((head[0] + 1, "f" * 64))
    assert store.audit.verify().ok
    # A crash after the commit, before the anchor moved: the log ends at the pending head.
    anchor.commit(head)
    store.audit.append(_read_event(store))
    anchor_path = anchor.path
    state = json.loads(anchor_path.read_text())
    state["pending"], state["head"] = state["head"], list(head)
    anchor_path.write_text(json.dumps(state))
    assert store.audit.verify().ok
    # Without the anchor's pending record, the same log shows an unanchored entry.
    state["pending"] = None
    anchor_path.write_text(json.dumps(state))
    assert not store.audit.verify().ok


def _read_event(store: RecordsStore):  # type: ignore[no-untyped-def]
    from bioexit.audit.chain import AuditEvent

    return AuditEvent(
        AuditAction.BIOMETRIC_READ,
        "officer-7",
        "officer",
        store.clock.now(),
        "capture:x",
        "granted",
        purpose="secondary inspection review",
    )


def test_an_empty_log_verifies_and_a_missing_anchor_is_reported(store: RecordsStore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert store.audit.verify().ok and store.audit.verify().head == (-1, GENESIS_HASH)
    populate(store)
    store.audit.anchor = HeadAnchor(tmp_path / "elsewhere.json")
    result = store.audit.verify()
    assert not result.ok and "not anchored" in result.reason


def test_audit_rows_and_dump_hold_no_biometrics(store: RecordsStore, records_config: RecordsConfig) -> None:
    populate(store)
    dump = everything_on_disk(records_config)
    assert face_jpeg(1) not in dump and template(1).vector.tobytes() not in dump
