"""Time as a dependency: anything with a deadline takes a ``Clock``, so tests can move time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from bioexit.errors import ConfigError


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that moves only when told to (``advance``, ``set``)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = _aware(start or datetime(2026, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ConfigError("a clock cannot go back", expected="a delta >= 0", got=str(delta))
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        self._now = _aware(when)

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ConfigError("clock time is naive", expected="a timezone-aware datetime", got=str(when))
    return when.astimezone(UTC)
