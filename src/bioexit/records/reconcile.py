"""The reconciler: after a crash, no file without its row and no row without its file.

A sealed file is written (durably) before the row that names it is committed, so a crash
can leave a file that no row names: it is removed once older than ``grace`` (a younger one
may belong to an ingest still in flight). A row whose file is gone cannot be repaired: it is
flagged (``blobs.missing_since``) and reported, never silently dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bioexit.crypto import ERASED_KEY
from bioexit.records import models as m
from bioexit.records.store import RecordsStore


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    orphan_files_removed: int
    temp_files_removed: int
    rows_flagged_missing: int
    rows_missing_total: int


def reconcile(store: RecordsStore, *, grace: timedelta = timedelta(minutes=10)) -> ReconcileReport:
    # File ages are compared with the file system's clock, not the injectable one.
    cutoff = time.time() - grace.total_seconds()
    with Session(store.engine) as session:
        rows = session.execute(
            # Document portraits have no capture (outer join): their state is None.
            select(
                m.Blob.id, m.Blob.path, m.Blob.missing_since, m.Capture.state, m.Blob.wrapped_key
            ).outerjoin(m.Capture, m.Blob.capture_id == m.Capture.id)
        ).all()
    known = {row[1] for row in rows}
    orphans = 0
    for name in list(store.blobs.names()):
        if name in known:
            continue
        try:
            if store.blobs.path_of(name).stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        # Re-check under a fresh read: an ingest may have committed its row meanwhile.
        with Session(store.engine) as session:
            if session.execute(select(m.Blob.id).where(m.Blob.path == name)).first() is not None:
                continue
        orphans += store.blobs.delete(name)
    temps = 0
    for temp in store.blobs.temp_files():
        if temp.modified.timestamp() <= cutoff:
            temp.path.unlink(missing_ok=True)
            temps += 1
    now = datetime.now(UTC)
    flagged = 0
    missing_total = 0
    for blob_id, name, missing_since, state, wrapped_key in rows:
        if state == "deleting" or wrapped_key == ERASED_KEY or store.blobs.exists(name):
            continue
        missing_total += 1
        if missing_since is None:
            with Session(store.engine) as session, session.begin():
                session.execute(update(m.Blob).where(m.Blob.id == blob_id).values(missing_since=now))
            flagged += 1
    return ReconcileReport(orphans, temps, flagged, missing_total)
