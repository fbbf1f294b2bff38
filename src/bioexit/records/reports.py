"""Reports: overstays as of a date, stay length under a rolling rule, departures per port, lane, day.

The rolling rule is a pure function over stays (``rolling_stay``): the EU's short-stay rule
is 90 days in any 180, where the days of entry and of exit both count as days of stay.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC as _UTC
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bioexit.errors import RecordsError
from bioexit.records import models as m
from bioexit.records.store import RecordsStore

EU_WINDOW_DAYS = 180
EU_LIMIT_DAYS = 90


@dataclass(frozen=True, slots=True)
class Stay:
    """One stay: from ``entered`` to ``left`` inclusive; ``left=None`` means still present."""

    entered: date
    left: date | None = None

    def __post_init__(self) -> None:
        if self.left is not None and self.left < self.entered:
            raise RecordsError(
                "stay ends before it starts", expected=f"left >= {self.entered}", got=self.left
            )


@dataclass(frozen=True, slots=True)
class RollingStay:
    on: date
    window_days: int
    limit_days: int
    days_used: int
    days_left: int
    over_by: int


def _check_rule(window_days: int, limit_days: int) -> None:
    if window_days < 1 or not 0 < limit_days <= window_days:
        raise RecordsError(
            "invalid rolling rule",
            expected="window >= 1 and 0 < limit <= window",
            got=f"{limit_days} in {window_days}",
        )


def days_in_window(stays: Sequence[Stay], on: date, *, window_days: int = EU_WINDOW_DAYS) -> int:
    """Days present in the ``window_days`` ending on ``on`` (inclusive); overlapping stays count once.
    An open stay runs to ``on``; stays starting after ``on`` do not count."""
    start = on - timedelta(days=window_days - 1)
    present: set[date] = set()
    for stay in stays:
        first = max(stay.entered, start)
        last = min(stay.left or on, on)
        day = first
        while day <= last:
            present.add(day)
            day += timedelta(days=1)
    return len(present)


def rolling_stay(
    stays: Sequence[Stay], on: date, *, window_days: int = EU_WINDOW_DAYS, limit_days: int = EU_LIMIT_DAYS
) -> RollingStay:
    """Where a traveller stands on ``on`` under "``limit_days`` in any ``window_days``"."""
    _check_rule(window_days, limit_days)
    used = days_in_window(stays, on, window_days=window_days)
    return RollingStay(
        on, window_days, limit_days, used, max(limit_days - used, 0), max(used - limit_days, 0)
    )


def first_breach(
    stays: Sequence[Stay], until: date, *, window_days: int = EU_WINDOW_DAYS, limit_days: int = EU_LIMIT_DAYS
) -> date | None:
    """The first day, up to ``until``, on which the days in the window exceed the limit."""
    _check_rule(window_days, limit_days)
    if not stays:
        return None
    day = min(s.entered for s in stays)
    while day <= until:
        if days_in_window(stays, day, window_days=window_days) > limit_days:
            return day
        day += timedelta(days=1)
    return None


# --- database reports ----------------------------------------------------------------------


def _stays_by_traveller(session: Session, as_of: date) -> dict[str, list[tuple[m.Entry, date | None]]]:
    entries = session.execute(select(m.Entry).where(m.Entry.admitted_on <= as_of)).scalars().all()
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
                if entry.admit_until is None:
                    continue
                end = left or as_of
                if end <= entry.admit_until:
                    continue
                rows.append(
                    {
                        "traveller_id": traveller_id,
                        "entry_id": entry.id,
                        "port": entry.port,
                        "admitted_on": entry.admitted_on.isoformat(),
                        "admit_until": entry.admit_until.isoformat(),
                        "departed_on": None if left is None else left.isoformat(),
                        "status": "present" if left is None else "departed_late",
                        "days_over": (end - entry.admit_until).days,
                    }
                )
    return rows


def stays(
    store: RecordsStore, as_of: date, *, window_days: int = EU_WINDOW_DAYS, limit_days: int = EU_LIMIT_DAYS
) -> list[dict[str, Any]]:
    """Each traveller with an entry: days used in the window ending ``as_of``, days left, over by."""
    _check_rule(window_days, limit_days)
    rows: list[dict[str, Any]] = []
    with Session(store.engine) as session:
        for traveller_id, items in sorted(_stays_by_traveller(session, as_of).items()):
            result = rolling_stay(
                [Stay(entry.admitted_on, left) for entry, left in items],
                as_of,
                window_days=window_days,
                limit_days=limit_days,
            )
            rows.append({"traveller_id": traveller_id, **asdict(result), "on": as_of.isoformat()})
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
