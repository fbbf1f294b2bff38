"""Service fixtures. Database-backed parts reuse the records fixtures (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.records.conftest import database, records_config, shared_postgres

from bioexit.clock import Clock
from bioexit.lane.pipeline import build_pipeline
from bioexit.records.store import RecordsStore
from bioexit.service.runtime import Runtime
from bioexit.service.workers import BoundedWorkers
from bioexit.settings import load_settings

__all__ = ["database", "make_runtime", "records_config", "shared_postgres"]


def make_runtime(
    root: Path, *, database_url: str | None = None, clock: Clock | None = None, **sections: Any
) -> Runtime:
    """A runtime over a real records store under ``root``; the lane models load on first use."""
    settings = load_settings(
        records={"data_dir": root / "records", "database_url": database_url},
        lane={"results_dir": root / "results"},
        **{name: value for name, value in sections.items() if value},
    )
    store = RecordsStore.open(settings.records, clock=clock)
    workers = BoundedWorkers(settings.service.workers, settings.service.queue)
    return Runtime(settings, store, build_pipeline, workers)
