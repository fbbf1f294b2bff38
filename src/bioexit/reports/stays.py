"""Stay rules over date intervals: overstays, and the rolling "90 days in any 180" rule.

Pure functions over ``datetime.date``; the records layer feeds them rows. Counting follows
the European Commission's short-stay calculator: a stay covers every calendar day from its
entry to its exit *inclusive* (entering and leaving on the same day is one day), a day
counts once however many stays cover it, and "any 180-day period" is the window of 180
days ending on the day looked at, that day included.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bioexit.errors import StayError

SCHENGEN_LIMIT = 90
SCHENGEN_WINDOW = 180


@dataclass(frozen=True, slots=True)
class Stay:
    """One presence: entry day, and exit day or None while the traveller has not left."""

    entry: date
    exit: date | None = None

    def __post_init__(self) -> None:
        if self.exit is not None and self.exit < self.entry:
            raise StayError(
                "a stay ends before it starts", expected=f"exit ≥ entry {self.entry}", got=self.exit
            )


@dataclass(frozen=True, slots=True)
class Overstay:
    """Days present after the admit-until date, as known on ``as_of``; ``ongoing``: still present then."""

    days: int
    ongoing: bool


def overstay(admitted: date, admit_until: date | None, departed: date | None, as_of: date) -> Overstay | None:
    """The overstay of one admission as of a date, or None when there is none (yet).

    The traveller may stay up to and including ``admit_until``; each later day present is
    a day overstayed. Departing on ``admit_until`` is no overstay, the day after is 1 day.
    A departure after ``as_of`` is not known on ``as_of``: the traveller counts as present
    then. ``admit_until`` None (admitted for a duration of status, not to a date) never
    overstays by date.
    """
    if admit_until is not None and admit_until < admitted:
        raise StayError("admitted until a day before admission", expected=f"≥ {admitted}", got=admit_until)
    if departed is not None and departed < admitted:
        raise StayError("departed before being admitted", expected=f"≥ {admitted}", got=departed)
    if admit_until is None or as_of <= admit_until:
        return None
    known_departure = departed if departed is not None and departed <= as_of else None
    last_present = as_of if known_departure is None else known_departure
    days = (last_present - admit_until).days
    if days <= 0:
        return None
    return Overstay(days=days, ongoing=known_departure is None)


def check_rule(limit: int, window: int) -> None:
    """Refuse a rolling rule that makes no sense: it needs ``0 < limit ≤ window``."""
    if not 0 < limit <= window:
        raise StayError(
            "bad rolling rule", expected="0 < limit ≤ window", got=f"limit {limit}, window {window}"
        )


def presence_days(stays: Iterable[Stay], through: date) -> list[int]:
    """Sorted, distinct day ordinals covered by ``stays`` up to ``through`` (open stays run to it)."""
    days: set[int] = set()
    last = through.toordinal()
    for stay in stays:
        end = last if stay.exit is None else min(stay.exit.toordinal(), last)
        days.update(range(stay.entry.toordinal(), end + 1))
    return sorted(days)


def _count(days: Sequence[int], first: int, last: int) -> int:
    return bisect_right(days, last) - bisect_left(days, first)


def days_used(stays: Iterable[Stay], on: date, *, window: int = SCHENGEN_WINDOW) -> int:
    """Days present in the ``window`` days ending on ``on`` (inclusive), open stays counted up to ``on``."""
    if window <= 0:
        raise StayError("bad rolling window", expected="> 0 days", got=window)
    days = presence_days(stays, on)
    end = on.toordinal()
    return _count(days, end - window + 1, end)


@dataclass(frozen=True, slots=True)
class RollingStatus:
    """The rolling rule on one day: days used in the window ending that day, left, and over."""

    on: date
    used: int
    remaining: int
    over: int


def rolling_status(
    stays: Iterable[Stay], on: date, *, limit: int = SCHENGEN_LIMIT, window: int = SCHENGEN_WINDOW
) -> RollingStatus:
    """Days used in the window ending on ``on``, days remaining (0 when over), days over the limit."""
    check_rule(limit, window)
    used = days_used(stays, on, window=window)
    return RollingStatus(on=on, used=used, remaining=max(0, limit - used), over=max(0, used - limit))


def first_breach(
    stays: Iterable[Stay],
    until: date,
    *,
    limit: int = SCHENGEN_LIMIT,
    window: int = SCHENGEN_WINDOW,
) -> date | None:
    """The first day up to ``until`` (inclusive) whose window holds more than ``limit`` days, or None.

    Open stays run to ``until``. Only a day present can push the count up, so only those are looked at.
    """
    check_rule(limit, window)
    days = presence_days(stays, until)
    for day in days:
        if _count(days, day - window + 1, day) > limit:
            return date.fromordinal(day)
    return None


def earliest_new_stay(
    stays: Iterable[Stay],
    after: date,
    *,
    length: int = SCHENGEN_LIMIT,
    limit: int = SCHENGEN_LIMIT,
    window: int = SCHENGEN_WINDOW,
) -> date:
    """The first day on or after ``after``, and after the last recorded exit, that starts a
    stay of ``length`` days keeping the rule on every one of its days.

    Every recorded stay must be closed (a traveller still present cannot start a new
    stay), else :class:`StayError`.
    """
    check_rule(limit, window)
    if not 0 < length <= limit:
        raise StayError("a new stay that the rule can never allow", expected=f"1 … {limit} days", got=length)
    recorded = list(stays)
    if any(stay.exit is None for stay in recorded):
        raise StayError("a stay is still open", expected="every recorded stay closed", got="an open stay")
    last_exit = max((stay.exit for stay in recorded if stay.exit is not None), default=None)
    days = presence_days(recorded, last_exit or after)
    start = after.toordinal()
    if last_exit is not None:
        start = max(start, last_exit.toordinal() + 1)
    # From last exit + window on, no recorded day is in any window the new stay touches.
    for first in range(start, start + window + 1):
        if all(
            _count(days, day - window + 1, day) + (day - first + 1) <= limit
            for day in range(first, first + length)
        ):
            return date.fromordinal(first)
    raise AssertionError(
        "unreachable: a window after the last exit holds no recorded day"
    )  # pragma: no cover


def stay_days(stay: Stay, through: date) -> int:
    """Length of one stay in counted days (entry and exit inclusive), open stays up to ``through``."""
    end = through if stay.exit is None else stay.exit
    return max(0, (end - stay.entry).days + 1)


__all__ = [
    "SCHENGEN_LIMIT",
    "SCHENGEN_WINDOW",
    "Overstay",
    "RollingStatus",
    "Stay",
    "check_rule",
    "days_used",
    "earliest_new_stay",
    "first_breach",
    "overstay",
    "presence_days",
    "rolling_status",
    "stay_days",
]
