"""Read models over the records for the service and its UI: vehicles, reviews, departure counts.

Plain dicts of ids, times, statuses and scores. Nothing here opens sealed data: images and
templates are read only through the store's audited methods.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from bioexit.crypto import ERASED_KEY
from bioexit.records import models as m
from bioexit.records.store import RecordsStore

Ports = Collection[str] | None  # None: every port


def _in_ports(column: Any, ports: Ports) -> Any:
    return true() if ports is None else column.in_(sorted(ports))


def _occupant_key(decision: m.Decision, capture: m.Capture | None) -> str:
    # Lane decisions are "<encounter id>/<occupant id>"; the capture carries the occupant id too.
    return capture.capture_key if capture is not None else decision.id.rsplit("/", 1)[-1]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def vehicles(
    store: RecordsStore, ports: Ports, limit: int = 20, encounter_id: str | None = None
) -> list[dict[str, Any]]:
    """The latest recorded vehicles (or one), newest first, each with its occupants' decisions."""
    with Session(store.engine) as session:
        query = select(m.Encounter).where(_in_ports(m.Encounter.port, ports))
        if encounter_id is not None:
            query = query.where(m.Encounter.id == encounter_id)
        encounters = (
            session.execute(query.order_by(m.Encounter.recorded_at.desc()).limit(limit)).scalars().all()
        )
        if not encounters:
            return []
        ids = [e.id for e in encounters]
        rows = session.execute(
            select(m.Decision, m.Capture)
            .outerjoin(m.Capture, m.Decision.capture_id == m.Capture.id)
            .where(m.Decision.encounter_id.in_(ids))
            .order_by(m.Decision.id)
        ).all()
        occupants: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        for decision, capture in rows:
            stored = capture is not None and capture.state == "stored"
            status = decision.outcome
            if decision.status == "adjudicated":
                status = "confirmed" if decision.review_outcome == "confirmed" else "rejected"
            occupants[decision.encounter_id].append(
                {
                    "decision_id": decision.id,
                    "occupant_id": _occupant_key(decision, capture),
                    "status": status,
                    "decided_by": decision.officer or "lane",
                    "identity": decision.traveller_id,
                    "score": decision.score,
                    "capture_id": capture.id if stored else None,
                }
            )
        return [
            {
                "encounter_id": e.id,
                "port": e.port,
                "lane": e.lane,
                "direction": e.direction,
                "started_at": _iso(e.started_at),
                "recorded_at": _iso(e.recorded_at),
                "occupants": occupants[e.id],
                "all_confirmed": bool(occupants[e.id])
                and all(o["status"] == "confirmed" for o in occupants[e.id]),
            }
            for e in encounters
        ]


def capture_port(store: RecordsStore, capture_id: str) -> str | None:
    with Session(store.engine) as session:
        return session.execute(
            select(m.Encounter.port)
            .join(m.Capture, m.Capture.encounter_id == m.Encounter.id)
            .where(m.Capture.id == capture_id)
        ).scalar_one_or_none()


def reviews(store: RecordsStore, ports: Ports, decision_id: str | None = None) -> list[dict[str, Any]]:
    """Decisions waiting for an officer (or one of them, whatever its state), oldest first."""
    with Session(store.engine) as session:
        query = (
            select(m.Decision, m.Encounter, m.Capture)
            .join(m.Encounter, m.Decision.encounter_id == m.Encounter.id)
            .outerjoin(m.Capture, m.Decision.capture_id == m.Capture.id)
            .where(_in_ports(m.Encounter.port, ports))
        )
        if decision_id is None:
            query = query.where(m.Decision.status == "pending_review")
        else:
            query = query.where(m.Decision.id == decision_id)
        rows = session.execute(query.order_by(m.Decision.decided_at, m.Decision.id)).all()
        return [
            {
                "review_id": decision.id,
                "encounter_id": encounter.id,
                "occupant_id": _occupant_key(decision, capture),
                "port": encounter.port,
                "lane": encounter.lane,
                "outcome": decision.outcome,
                "method": decision.method,
                "state": decision.status,
                "waiting_since": _iso(decision.decided_at),
                "capture_id": capture.id if capture is not None and capture.state == "stored" else None,
            }
            for decision, encounter, capture in rows
        ]


def departure_counts(store: RecordsStore, ports: Ports, since: date | None = None) -> list[dict[str, Any]]:
    """Departures per UTC day, port, lane and citizenship class."""
    query = (
        select(m.Departure.port, m.Departure.lane, m.Departure.departed_at, m.Traveller.citizenship)
        .join(m.Traveller, m.Departure.traveller_id == m.Traveller.id)
        .where(_in_ports(m.Departure.port, ports))
    )
    if since is not None:
        query = query.where(m.Departure.departed_at >= datetime.combine(since, time(), UTC))
    with Session(store.engine) as session:
        counts = Counter(
            (at.date().isoformat(), port, lane, citizenship)
            for port, lane, at, citizenship in session.execute(query).all()
        )
    return [
        {"day": day, "port": port, "lane": lane, "citizenship": citizenship, "departures": count}
        for (day, port, lane, citizenship), count in sorted(counts.items())
    ]


def audit_entries(store: RecordsStore, limit: int = 200) -> list[dict[str, Any]]:
    """The latest audit entries, newest first: references and keyed hashes only, by design."""
    keep = ("sequence", "at", "actor", "role", "action", "purpose", "subject_ref", "outcome")
    columns = [getattr(m.AuditRow, key) for key in keep]
    with Session(store.engine) as session:
        rows = session.execute(select(*columns).order_by(m.AuditRow.sequence.desc()).limit(limit)).all()
    return [dict(zip(keep, row, strict=True)) for row in rows]


def document_photos(store: RecordsStore, traveller_ids: Collection[str]) -> dict[str, str]:
    """Each traveller's newest document whose portrait is kept: traveller id → document id."""
    if not traveller_ids:
        return {}
    query = (
        select(m.Document.traveller_id, m.Document.id)
        .join(m.Blob, m.Blob.document_id == m.Document.id)
        .where(
            m.Document.traveller_id.in_(sorted(traveller_ids)),
            m.Blob.kind == "thumbnail",
            m.Blob.wrapped_key != ERASED_KEY,
        )
        .order_by(m.Document.created_at, m.Document.id)
    )
    with Session(store.engine) as session:
        return {traveller: document for traveller, document in session.execute(query).all()}


def reference_document(store: RecordsStore, traveller_id: str) -> str | None:
    """The traveller's newest document with a reference template (for a 1:1 verification)."""
    query = (
        select(m.Document.id)
        .join(m.StoredTemplate, m.StoredTemplate.document_id == m.Document.id)
        .where(m.Document.traveller_id == traveller_id)
        .order_by(m.Document.created_at.desc(), m.Document.id.desc())
        .limit(1)
    )
    with Session(store.engine) as session:
        return session.execute(query).scalar_one_or_none()


def document_owner(store: RecordsStore, document_id: str) -> str | None:
    with Session(store.engine) as session:
        return session.execute(
            select(m.Document.traveller_id).where(m.Document.id == document_id)
        ).scalar_one_or_none()
