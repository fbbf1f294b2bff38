"""Retention: the policy table, and the sweeper that enforces it on an injectable clock.

A sweep runs in two phases, so one killed at any point is finished by the next:

1. **Intent.** For each capture due (its deadline falls before the next sweep), one transaction
   records a ``deletion_intents`` row, marks the capture ``deleting`` and destroys the data keys
   of its files and templates (crypto-erase): from this commit on nothing of it can be opened.
2. **Execution**, for every intent not done, each step idempotent: remove its gallery entries,
   unlink its files, then one transaction deletes its ``blobs`` and ``templates`` rows, marks
   the capture ``deleted``, the intent done, and appends the audit entry of the deletion.

Temporary files older than ``temp_file_minutes`` are removed at the end of every sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bioexit.audit.chain import AuditAction, AuditEvent
from bioexit.clock import Clock
from bioexit.records import models as m
from bioexit.records.store import (
    CITIZEN_ENCOUNTER,
    DOCUMENT_PHOTO,
    NONCITIZEN_ENCOUNTER,
    OPTED_OUT,
    SYSTEM_ACTOR,
    UNKNOWN_ENCOUNTER,
    RecordsStore,
)
from bioexit.settings import RetentionConfig


@dataclass(frozen=True, slots=True)
class PolicyRow:
    category: str
    what: str
    period: str
    where_deleted: str


def policy(config: RetentionConfig) -> list[PolicyRow]:
    """The retention matrix for ``config``: category → period → where it is deleted."""
    hours = f"{config.citizen_encounter_hours:g} h after the encounter (never more than 12 h)"
    files = "blob folder (files), `blobs` rows, `templates` rows; data keys destroyed first"
    return [
        PolicyRow(CITIZEN_ENCOUNTER, "citizen's encounter photo, thumbnail, template", hours, files),
        PolicyRow(
            UNKNOWN_ENCOUNTER,
            "encounter photo, thumbnail, template of an unidentified occupant",
            hours + " (treated as a citizen's)",
            files,
        ),
        PolicyRow(OPTED_OUT, "opted-out citizen's photo and template", "never stored", "nothing to delete"),
        PolicyRow(
            NONCITIZEN_ENCOUNTER,
            "non-citizen's encounter photo, thumbnail, template; encounter-gallery entry",
            f"{config.noncitizen_encounter_days:g} days after the encounter",
            files + "; encounter gallery (`GalleryIndex.remove`)",
        ),
        PolicyRow(
            DOCUMENT_PHOTO,
            "document portrait (photo, thumbnail) and its reference template",
            "kept with the document record",
            "crypto-erased with the document (`RecordsStore.delete_document`: data keys destroyed, "
            "then files, `blobs` and `templates` rows)",
        ),
        PolicyRow(
            "temp_file",
            "temporary file of an interrupted write",
            f"{config.temp_file_minutes:g} min",
            "blob folder `tmp/` (sweeper, reconciler)",
        ),
        PolicyRow(
            "orphan_file",
            "sealed file no row names (crash between write and commit)",
            "until the next reconcile",
            "blob folder (reconciler)",
        ),
        PolicyRow(
            "record",
            "traveller, document (number sealed), entry, encounter, capture metadata, decision, departure",
            "kept; no automatic deletion in this release",
            "—",
        ),
        PolicyRow("audit", "audit log entries", "kept; append-only", "—"),
    ]


@dataclass(frozen=True, slots=True)
class SweepReport:
    intents_recorded: int
    captures_deleted: int
    files_deleted: int
    templates_deleted: int
    gallery_entries_removed: int
    temp_files_deleted: int
    # Gallery members deleted by a sweeper with no gallery attached: a gallery held elsewhere
    # must be rebuilt from the records (which no longer hold these entries).
    gallery_entries_unreachable: int = 0


class Sweeper:
    """Deletes what the policy says is due, as of ``clock.now()``."""

    def __init__(self, store: RecordsStore, clock: Clock | None = None, *, batch: int = 200) -> None:
        self.store = store
        self.clock = clock or store.clock
        self.batch = batch

    def due_by(self) -> datetime:
        """Captures due before the next sweep are deleted in this one, so none outlives its deadline."""
        return self.clock.now() + timedelta(minutes=self.store.retention.sweep_interval_minutes)

    def sweep(self) -> SweepReport:
        recorded = self._record_intents()
        captures = files = templates = gallery = unreachable = 0
        for intent_capture in self._open_intents():
            f, t, g, u = self._execute(intent_capture)
            captures, files, templates, gallery = captures + 1, files + f, templates + t, gallery + g
            unreachable += u
        temp = self._temp_files()
        # Always: a sweep killed after its deletions but before this step left old copies behind.
        self.store.purge_old_versions()
        return SweepReport(recorded, captures, files, templates, gallery, temp, unreachable)

    def _record_intents(self) -> int:
        total = 0
        now, due = self.clock.now(), self.due_by()
        while True:
            with Session(self.store.engine) as session, session.begin():
                rows = (
                    session.execute(
                        select(m.Capture)
                        .where(m.Capture.state == "stored", m.Capture.delete_after <= due)
                        .order_by(m.Capture.delete_after)
                        .limit(self.batch)
                    )
                    .scalars()
                    .all()
                )
                for capture in rows:
                    self.store.schedule_deletion(session, capture, reason="retention", at=now)
            total += len(rows)
            if len(rows) < self.batch:
                return total

    def _open_intents(self) -> list[str]:
        with Session(self.store.engine) as session:
            return list(
                session.execute(
                    select(m.DeletionIntent.capture_id)
                    .where(m.DeletionIntent.done_at.is_(None))
                    .order_by(m.DeletionIntent.id)
                ).scalars()
            )

    def _execute(self, capture_id: str) -> tuple[int, int, int, int]:
        with Session(self.store.engine) as session:
            capture = session.get(m.Capture, capture_id)
            assert capture is not None
            member, category = capture.gallery_member, capture.category
            template_ids = list(
                session.execute(
                    select(m.StoredTemplate.id).where(m.StoredTemplate.capture_id == capture_id)
                ).scalars()
            )
            paths = list(
                session.execute(select(m.Blob.path).where(m.Blob.capture_id == capture_id)).scalars()
            )
        removed = unreachable = 0
        if member and template_ids and self.store.gallery is not None:
            self.store.gallery.remove(template_ids)
            removed = len(template_ids)
        elif member and template_ids:
            unreachable = len(template_ids)
        files = sum(self.store.blobs.delete(path) for path in paths)
        now = self.clock.now()
        with Session(self.store.engine) as session, session.begin():
            session.execute(delete(m.Blob).where(m.Blob.capture_id == capture_id))
            session.execute(delete(m.StoredTemplate).where(m.StoredTemplate.capture_id == capture_id))
            capture = session.get(m.Capture, capture_id)
            assert capture is not None
            capture.state, capture.deleted_at, capture.gallery_member = "deleted", now, False
            intent = session.execute(
                select(m.DeletionIntent).where(m.DeletionIntent.capture_id == capture_id)
            ).scalar_one()
            intent.done_at = now
            _, done = self.store.audit.append_in(
                session,
                AuditEvent(
                    AuditAction.DELETION,
                    SYSTEM_ACTOR,
                    "retention",
                    now,
                    self.store.ref("capture", capture_id),
                    "deleted",
                    details={
                        "category": category,
                        "reason": intent.reason,
                        "files": len(paths),
                        "templates": len(template_ids),
                        "gallery_entries": removed,
                        "gallery_unreachable": unreachable,
                    },
                ),
            )
        done()
        return files, len(template_ids), removed, unreachable

    def _temp_files(self) -> int:
        limit = self.clock.now() - timedelta(minutes=self.store.retention.temp_file_minutes)
        count = 0
        for temp in self.store.blobs.temp_files():
            if temp.modified <= limit:
                temp.path.unlink(missing_ok=True)
                count += 1
        return count


def policy_markdown(config: RetentionConfig) -> str:
    lines = ["| category | what | kept for | where deleted |", "|---|---|---|---|"]
    lines += [f"| `{r.category}` | {r.what} | {r.period} | {r.where_deleted} |" for r in policy(config)]
    return "\n".join(lines)
