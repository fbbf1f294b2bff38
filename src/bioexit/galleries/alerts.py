"""Watchlist alerts: records for a supervisor, never an automatic action.

An alert holds references only (gallery, entry, subject, probe reference), a score and the
FPIR at the threshold: no image and no template.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WatchlistAlert:
    alert_id: str
    raised_at: datetime
    gallery: str
    entry_id: str
    subject_id: str
    score: float
    rank: int
    threshold: float
    fpir: float
    probe_ref: str  # the encounter or photo the probe came from
    purpose: str

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["raised_at"] = self.raised_at.isoformat()
        return body


class AlertQueue(Protocol):
    """Where watchlist alerts wait for a supervisor."""

    def put(self, alert: WatchlistAlert) -> None: ...

    def pending(self) -> list[WatchlistAlert]: ...


class MemoryAlertQueue:
    def __init__(self) -> None:
        self._alerts: list[WatchlistAlert] = []

    def put(self, alert: WatchlistAlert) -> None:
        self._alerts.append(alert)

    def pending(self) -> list[WatchlistAlert]:
        return list(self._alerts)


class JsonlAlertQueue:
    """Alerts appended to a JSON-lines file, fsynced, so none is lost in a crash."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def put(self, alert: WatchlistAlert) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(alert.as_dict()) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def pending(self) -> list[WatchlistAlert]:
        if not self.path.exists():
            return []
        alerts = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            body = json.loads(line)
            body["raised_at"] = datetime.fromisoformat(body["raised_at"])
            alerts.append(WatchlistAlert(**body))
        return alerts


def new_alert_id() -> str:
    return uuid.uuid4().hex
