"""Departure records: travellers, documents, entries, encounters, captures, decisions, departures.

SQLAlchemy 2 models with Alembic migrations (``db``), sealed biometrics in a blob folder
(``blobs``), the persisted audit log (``audit_log``), the store and its ingest API (``store``,
``types``), retention (``retention``), crash recovery (``reconcile``) and reports (``reports``).
Import the submodules; nothing is built at import time.
"""

from bioexit.records.types import (
    Acknowledgement,
    Adjudication,
    CaptureRecord,
    Citizenship,
    DecisionRecord,
    EncounterRecord,
    EntryRecord,
    GalleryIndex,
)

__all__ = [
    "Acknowledgement",
    "Adjudication",
    "CaptureRecord",
    "Citizenship",
    "DecisionRecord",
    "EncounterRecord",
    "EntryRecord",
    "GalleryIndex",
]
