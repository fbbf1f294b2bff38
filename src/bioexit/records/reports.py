"""Reports: overstays as of a date, stay length under a rolling rule, departures per port, lane, day.

The stay rules themselves are the pure functions of :mod:`bioexit.reports.stays`; this module
reads the rows they work on from the records database.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC as _UTC
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bioexit.records import models as m
from bioexit.records.store import RecordsStore
from bioexit.reports.stays import SCHENGEN_LIMIT, SCHENGEN_WINDOW, Stay, check_rule, overstay, rolling_status


def _stays_by_traveller(session: Session, as_of: date) -> dict[str, list[tuple[m.Entry, date | None]]]:
    entries = session.execute(
        select(m.Entry).where(m.Entry.admitted_on <= as_of).order_by(m.Entry.admitted_on, m.Entry.id)
    ).scalars()
    departures = session.execute(select(m.Departure.entry_id, m.Departure.departed_at)).all()
    left: dict[str, date] = {}
    for entry_id, departed_at in departures:
        if entry_id is None or departed_at.date() > as_of:
            continue
        day = departed_at.date()
        left[entry_id] = min(day, left.get(entry_id, day))
    found: dict[str, list[tuple[m.Entry, date | None]]] = {}
    for entry in entries:
        found.setdefault(entry.traveller_id, []).append((entry, left.get(entry.id)))
    return found


def overstays(store: RecordsStore, as_of: date) -> list[dict[str, Any]]:
    """Admissions whose admit-until date passed before ``as_of`` with no departure by then
    (``present``), or with a departure after it (``departed_late``)."""
    rows: list[dict[str, Any]] = []
    with Session(store.engine) as session:
        for traveller_id, items in sorted(_stays_by_traveller(session, as_of).items()):
            for entry, left in items:
                found = overstay(entry.admitted_on, entry.admit_until, left, as_of)
                if found is None:
                    continue
                assert entry.admit_until is not None  # an overstay needs a date to overstay
                rows.append(
                    {
                        "traveller_id": traveller_id,
                        "entry_id": entry.id,
                        "port": entry.port,
                        "admitted_on": entry.admitted_on.isoformat(),
                        "admit_until": entry.admit_until.isoformat(),
                        "departed_on": None if left is None else left.isoformat(),
                        "status": "present" if found.ongoing else "departed_late",
                        "days_over": found.days,
                    }
                )
    return rows


def stays(
    store: RecordsStore, as_of: date, *, window_days: int = SCHENGEN_WINDOW, limit_days: int = SCHENGEN_LIMIT
) -> list[dict[str, Any]]:
    """Each traveller with an entry: days used in the window ending ``as_of``, days left, over by."""
    check_rule(limit_days, window_days)
    rows: list[dict[str, Any]] = []
    with Session(store.engine) as session:
        for traveller_id, items in sorted(_stays_by_traveller(session, as_of).items()):
            status = rolling_status(
                [Stay(entry.admitted_on, left) for entry, left in items],
                as_of,
                limit=limit_days,
                window=window_days,
            )
            rows.append(
                {
                    "traveller_id": traveller_id,
                    "on": as_of.isoformat(),
                    "window_days": window_days,
                    "limit_days": limit_days,
                    "days_used": status.used,
                    "days_left": status.remaining,
                    "over_by": status.over,
                }
            )
    return rows


def departures_per_day(
    store: RecordsStore, *, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Departures counted per port, lane and UTC day, between ``since`` and ``until`` inclusive."""
    query = select(m.Departure.port, m.Departure.lane, m.Departure.departed_at)
    if since is not None:
        query = query.where(m.Departure.departed_at >= datetime.combine(since, time(), _UTC))
    if until is not None:
        query = query.where(
            m.Departure.departed_at < datetime.combine(until + timedelta(days=1), time(), _UTC)
        )
    with Session(store.engine) as session:
        counts = Counter((port, lane, at.date()) for port, lane, at in session.execute(query).all())
    return [
        {"port": port, "lane": lane, "day": day.isoformat(), "departures": count}
        for (port, lane, day), count in sorted(counts.items())
    ]
