from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bioexit.documents.mrz import DocumentKind
from bioexit.errors import RecordConflictError, RecordNotFoundError, RecordsError
from bioexit.records import models as m
from bioexit.records.store import RecordsStore
from bioexit.records.types import CaptureRecord, DecisionRecord, EncounterRecord

from .conftest import T0, face_jpeg, template


def encounter(encounter_id: str = "enc-1", lane: str = "L1", port: str = "P1") -> EncounterRecord:
    return EncounterRecord(encounter_id, port, lane, T0)


def capture(key: str, seed: int, traveller_id: str | None = None) -> CaptureRecord:
    return CaptureRecord(key, face_jpeg(seed), 0.8, T0, template(seed), traveller_id, "cam-1")


def count(store: RecordsStore, table: type[m.Base]) -> int:
    with Session(store.engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def test_confirmed_decision_becomes_a_departure_linked_to_the_latest_entry(store: RecordsStore) -> None:
    traveller = store.add_traveller("non_citizen")
    store.record_entry(traveller, port="P9", admitted_on=date(2025, 6, 1), admit_until=date(2025, 9, 1))
    latest = store.record_entry(
        traveller, port="P9", admitted_on=date(2026, 2, 1), admit_until=date(2026, 5, 1)
    )
    store.record_entry(
        traveller, port="P9", admitted_on=date(2026, 4, 1), admit_until=None
    )  # after departure
    ack = store.record_encounter(
        encounter(),
        [capture("occ-0", 1)],
        [DecisionRecord("dec-1", "confirmed", "1:1-document", "occ-0", traveller, 0.9)],
    )
    assert ack.encounter_id == "enc-1" and len(ack.departures) == 1 and ack.pending_reviews == ()
    assert ack.stored_captures == ("occ-0",) and not ack.duplicate
    with Session(store.engine) as session:
        departure = session.execute(select(m.Departure)).scalar_one()
        assert departure.entry_id == latest and departure.traveller_id == traveller
        assert (departure.port, departure.lane, departure.departed_at) == ("P1", "L1", T0)
        assert session.execute(select(m.Capture.traveller_id)).scalar_one() == traveller


def test_no_match_waits_for_an_officer_and_becomes_a_departure_only_when_confirmed(
    store: RecordsStore,
) -> None:
    traveller = store.add_traveller("non_citizen")
    ack = store.record_encounter(
        encounter(), [capture("occ-0", 1)], [DecisionRecord("dec-1", "no_match", "1:N-encounters", "occ-0")]
    )
    assert ack.departures == () and ack.pending_reviews == ("dec-1",)
    assert count(store, m.Departure) == 0 and store.pending_reviews() == ["dec-1"]
    with pytest.raises(RecordsError, match="reason"):
        store.adjudicate(
            "dec-1", officer="officer-7", outcome="confirmed", reason=" ", traveller_id=traveller
        )
    with pytest.raises(RecordsError, match="name the traveller"):
        store.adjudicate("dec-1", officer="officer-7", outcome="confirmed", reason="document checked")
    result = store.adjudicate(
        "dec-1", officer="officer-7", outcome="confirmed", reason="document checked", traveller_id=traveller
    )
    assert result.departure_id is not None and count(store, m.Departure) == 1
    assert store.pending_reviews() == []
    with pytest.raises(RecordConflictError, match="not waiting"):
        store.adjudicate("dec-1", officer="officer-8", outcome="rejected", reason="second look")
    with pytest.raises(RecordNotFoundError):
        store.adjudicate("nope", officer="officer-8", outcome="rejected", reason="second look")


def test_an_occupant_not_captured_goes_to_an_officer_with_the_lanes_reason(store: RecordsStore) -> None:
    traveller = store.add_traveller("citizen")
    ack = store.record_encounter(
        encounter(), [], [DecisionRecord("d-1", "not_captured", "lane", reason="no usable face in any frame")]
    )
    assert ack.pending_reviews == ("d-1",) and ack.departures == ()
    with Session(store.engine) as session:
        assert session.execute(select(m.Decision.reason)).scalar_one() == "no usable face in any frame"
    result = store.adjudicate(
        "d-1", officer="officer-2", outcome="confirmed", reason="seen in person", traveller_id=traveller
    )
    assert result.departure_id is not None


def test_a_rejected_no_match_records_no_departure(store: RecordsStore) -> None:
    store.record_encounter(
        encounter(), [capture("occ-0", 1)], [DecisionRecord("dec-1", "no_match", "1:N", "occ-0")]
    )
    result = store.adjudicate("dec-1", officer="officer-7", outcome="rejected", reason="not the traveller")
    assert result.departure_id is None and count(store, m.Departure) == 0


def test_ingest_is_idempotent_on_the_encounter_id(store: RecordsStore) -> None:
    traveller = store.add_traveller("citizen")
    captures = [capture("occ-0", 1)]
    decisions = [DecisionRecord("dec-1", "confirmed", "1:1-document", "occ-0", traveller, 0.9)]
    first = store.record_encounter(encounter(), captures, decisions)
    files = sorted(store.blobs.names())
    again = store.record_encounter(encounter(), captures, decisions)
    assert again.duplicate and again.departures == first.departures and again.stored_captures == ("occ-0",)
    assert count(store, m.Departure) == 1 and count(store, m.Capture) == 1
    assert sorted(store.blobs.names()) == files  # no second set of files
    with pytest.raises(RecordConflictError, match="other content"):
        store.record_encounter(encounter(), [capture("occ-0", 2)], decisions)


@pytest.mark.parametrize(
    ("captures", "decisions", "message"),
    [
        ([capture("a", 1), capture("a", 2)], [], "capture keys repeat"),
        ([capture("a", 1)], [DecisionRecord("d", "confirmed", "1:1", "a")], "must name the traveller"),
        ([capture("a", 1)], [DecisionRecord("d", "no_match", "1:1", "zzz")], "does not hold"),
        ([capture("a", 1)], [DecisionRecord("d", "maybe", "1:1", "a")], "unknown decision outcome"),  # type: ignore[arg-type]
        ([CaptureRecord("a", b"", 0.5, T0)], [], "empty"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_stored(
    store: RecordsStore, captures: list[CaptureRecord], decisions: list[DecisionRecord], message: str
) -> None:
    with pytest.raises(RecordsError, match=message):
        store.record_encounter(encounter(), captures, decisions)
    assert count(store, m.Encounter) == 0 and list(store.blobs.names()) == []


def test_an_unknown_traveller_is_refused_and_no_file_is_left(store: RecordsStore) -> None:
    with pytest.raises(RecordNotFoundError, match="traveller"):
        store.record_encounter(
            encounter(), [capture("a", 1)], [DecisionRecord("d", "confirmed", "1:1", "a", "ghost")]
        )
    assert count(store, m.Encounter) == 0 and list(store.blobs.names()) == []


def test_a_naive_time_is_refused(store: RecordsStore) -> None:
    with pytest.raises(RecordsError, match="naive"):
        store.record_encounter(EncounterRecord("e", "P", "L", T0.replace(tzinfo=None)))


def test_travellers_documents_and_entries(store: RecordsStore) -> None:
    with pytest.raises(RecordsError, match="only citizens may opt out"):
        store.add_traveller("non_citizen", opt_out=True)
    with pytest.raises(RecordsError, match="citizenship"):
        store.add_traveller("martian")  # type: ignore[arg-type]
    traveller = store.add_traveller("citizen", opt_out=True)
    assert store.traveller(traveller) == ("citizen", True)
    document = store.add_document(traveller, "passport-card", "C03005988", issuing_state="UTO")
    assert store.find_document("C03005988") == (document, traveller)
    assert store.find_document("C03005989") is None
    with pytest.raises(RecordConflictError):
        store.add_document(traveller, DocumentKind.PASSPORT, "C03005988")
    with pytest.raises(RecordsError, match="document kind"):
        store.add_document(traveller, "library_card", "1")
    store.add_document_template(document, template(3))
    with pytest.raises(RecordsError, match="before the admission"):
        store.record_entry(traveller, port="P", admitted_on=date(2026, 1, 2), admit_until=date(2026, 1, 1))
    entry = store.record_entry(traveller, port="P", admitted_on=date(2026, 1, 2), admit_until=None)
    assert [e.entry_id for e in store.entries(traveller)] == [entry]
    with Session(store.engine) as session:
        row = session.execute(select(m.Document)).scalar_one()
        assert b"C03005988" not in row.number_sealed and row.number_hash != "C03005988"


def test_confirmed_departure_of_a_traveller_without_entries_has_no_entry_link(store: RecordsStore) -> None:
    traveller = store.add_traveller("citizen")
    store.record_encounter(encounter(), [], [DecisionRecord("d", "confirmed", "1:1", None, traveller)])
    with Session(store.engine) as session:
        assert session.execute(select(m.Departure.entry_id)).scalar_one() is None


def test_late_ingest_of_a_citizen_past_the_deadline_keeps_no_photo(store: RecordsStore, clock) -> None:  # type: ignore[no-untyped-def]
    traveller = store.add_traveller("citizen")
    clock.advance(timedelta(hours=13))
    ack = store.record_encounter(
        encounter(), [capture("occ-0", 1)], [DecisionRecord("d", "confirmed", "1:1", "occ-0", traveller)]
    )
    assert (
        ack.stored_captures == () and list(store.blobs.names()) == [] and count(store, m.StoredTemplate) == 0
    )
