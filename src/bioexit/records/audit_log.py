"""The audit log persisted: ``audit_entries`` rows (append-only) plus a head anchor outside the
database.

Appends lock the single ``audit_head`` row, so entries are numbered without gaps even with
several writers. The anchor file holds the last committed head and, while an append is in
flight, the pending one (written before the commit), so a crash between commit and anchor
update is not mistaken for tampering, while a cut tail still is.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bioexit.audit.chain import (
    EMPTY_HEAD,
    AuditEntry,
    AuditEvent,
    VerifyResult,
    from_row,
    seal,
    to_row,
    verify,
)
from bioexit.errors import AuditIntegrityError, AuditWriteError
from bioexit.records.models import AuditHead, AuditRow

Head = tuple[int, str]


class HeadAnchor:
    """A small JSON file ``{"head": [seq, hash], "pending": [seq, hash] | null}``, fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read(self) -> tuple[Head, Head | None]:
        try:
            body = json.loads(self.path.read_text(encoding="ascii"))
            head = (int(body["head"][0]), str(body["head"][1]))
            pending = body.get("pending")
            return head, None if not pending else (int(pending[0]), str(pending[1]))
        except FileNotFoundError:
            return EMPTY_HEAD, None
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise AuditIntegrityError(
                f"audit head anchor {self.path} is unreadable ({type(exc).__name__})"
            ) from None

    def _write(self, head: Head, pending: Head | None) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="ascii") as handle:
            json.dump({"head": list(head), "pending": None if pending is None else list(pending)}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def begin(self, pending: Head) -> None:
        with self._locked():
            head, _ = self.read()
            self._write(head, pending)

    def commit(self, new_head: Head) -> None:
        with self._locked():
            head, pending = self.read()
            if new_head[0] >= head[0]:
                head = new_head
            if pending is not None and pending[0] <= head[0]:
                pending = None
            self._write(head, pending)

    def abort(self, pending: Head) -> None:
        with self._locked():
            head, current = self.read()
            self._write(head, None if current == pending else current)


class SqlAuditLog:
    """The ``AuditSink`` of the records store.

    ``append`` commits one entry in its own transaction and raises ``AuditWriteError`` if it
    cannot; ``append_in`` adds an entry to the caller's transaction (a decision and its
    audit entry commit together) and returns a callback to run after the commit.
    """

    def __init__(self, engine: Engine, anchor: HeadAnchor, *, key: bytes | None) -> None:
        self._engine = engine
        self.anchor = anchor
        self._key = key

    def append(self, event: AuditEvent) -> AuditEntry:
        try:
            with Session(self._engine) as session, session.begin():
                entry, after_commit = self.append_in(session, event)
        except SQLAlchemyError as exc:
            raise AuditWriteError(
                f"the audit log cannot be written ({type(exc).__name__}); the action was refused"
            ) from None
        after_commit()
        return entry

    def append_in(self, session: Session, event: AuditEvent) -> tuple[AuditEntry, Callable[[], None]]:
        head_row = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
        entry = seal(head_row.sequence + 1, head_row.entry_hash, event, key=self._key)
        session.add(AuditRow(**to_row(entry)))
        session.execute(
            update(AuditHead)
            .where(AuditHead.id == 1)
            .values(sequence=entry.sequence, entry_hash=entry.entry_hash)
        )
        session.flush()
        new_head = (entry.sequence, entry.entry_hash)
        self.anchor.begin(new_head)
        return entry, lambda: self.anchor.commit(new_head)

    def entries(self) -> list[AuditEntry]:
        with Session(self._engine) as session:
            rows = session.execute(select(AuditRow).order_by(AuditRow.sequence)).scalars().all()
            return [from_row(_row_dict(row)) for row in rows]

    def rows(self) -> list[dict[str, Any]]:
        with self._engine.connect() as connection:
            result = connection.exec_driver_sql(
                "SELECT version, sequence, action, actor, role, purpose, at, subject_ref, outcome, details, "
                "prev_hash, entry_hash FROM audit_entries ORDER BY sequence"
            )
            return [dict(row._mapping) for row in result]

    def verify(self) -> VerifyResult:
        """Verify the whole log against the anchored head (or the pending one, after a crash)."""
        entries = [from_row(row) for row in self.rows()]
        head, pending = self.anchor.read()
        last = entries[-1].sequence if entries else EMPTY_HEAD[0]
        expected = pending if pending is not None and last == pending[0] else head
        return verify(entries, key=self._key, expected_head=expected)


def _row_dict(row: AuditRow) -> dict[str, Any]:
    return {
        name: getattr(row, name)
        for name in (
            "version",
            "sequence",
            "action",
            "actor",
            "role",
            "purpose",
            "at",
            "subject_ref",
            "outcome",
            "details",
            "prev_hash",
            "entry_hash",
        )
    }
