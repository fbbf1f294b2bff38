"""Document portraits kept sealed beside their template: one transaction, audited reads, deletion by
crypto-erase, the reconciler leaves them alone, and the audit view reads only what it shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.orm import Session

from bioexit.crypto import ERASED_KEY
from bioexit.errors import RecordConflictError, RecordNotFoundError
from bioexit.records import models as m
from bioexit.records import views
from bioexit.records.reconcile import reconcile
from bioexit.records.retention import policy
from bioexit.records.store import DOCUMENT_PHOTO, RecordsStore
from bioexit.records.types import CaptureRecord, DecisionRecord, EncounterRecord
from bioexit.settings import RecordsConfig, RetentionConfig

from .conftest import everything_on_disk, face_jpeg, template

READER = {"actor": "officer-1", "role": "officer", "purpose": "secondary inspection review"}


def _blobs(store: RecordsStore, document_id: str) -> list[m.Blob]:
    with Session(store.engine) as session:
        return list(session.execute(select(m.Blob).where(m.Blob.document_id == document_id)).scalars())


def test_a_document_is_filed_with_its_template_and_sealed_photo(
    store: RecordsStore, records_config: RecordsConfig
) -> None:
    traveller = store.add_traveller("non_citizen")
    photo = face_jpeg(3, size=96)
    document = store.add_document(traveller, "passport", "P1234567", template=template(3), photo=photo)
    assert sorted(b.kind for b in _blobs(store, document)) == ["image", "thumbnail"]
    assert all(b.capture_id is None for b in _blobs(store, document))
    assert store.has_document_photo(document)
    assert store.read_document_template(document, **READER).vector.shape == (64,)
    before = len(store.audit.rows())
    assert store.read_document_photo(document, **READER) == photo
    thumbnail = store.read_document_photo(document, **READER, kind="thumbnail")
    assert thumbnail[:3] == b"\xff\xd8\xff" and thumbnail != photo
    reads = store.audit.rows()[before:]
    assert [(r["action"], r["purpose"]) for r in reads] == [("biometric_read", READER["purpose"])] * 2
    assert all(r["subject_ref"] == store.ref("document", document) for r in reads)
    assert views.document_photos(store, [traveller]) == {traveller: document}
    assert views.reference_document(store, traveller) == document
    assert photo not in everything_on_disk(records_config)


def test_a_duplicate_document_leaves_nothing_behind(store: RecordsStore) -> None:
    traveller = store.add_traveller("non_citizen")
    store.add_document(traveller, "passport", "P1234567", template=template(1), photo=face_jpeg(1))
    files = sorted(store.blobs.names())
    with pytest.raises(RecordConflictError, match="already recorded"):
        store.add_document(traveller, "passport", "P1234567", template=template(2), photo=face_jpeg(2))
    assert sorted(store.blobs.names()) == files
    with Session(store.engine) as session:
        assert len(session.execute(select(m.StoredTemplate.id)).all()) == 1
    with pytest.raises(RecordNotFoundError):
        store.add_document("nobody", "passport", "P7654321", photo=face_jpeg(2))
    assert sorted(store.blobs.names()) == files


def test_a_blob_belongs_to_exactly_one_owner(store: RecordsStore) -> None:
    traveller = store.add_traveller("non_citizen")
    document = store.add_document(traveller, "passport", "P1", photo=face_jpeg(1))
    now = store.clock.now()
    store.record_encounter(
        EncounterRecord("enc-1", "P1", "L1", now),
        [CaptureRecord("occ-0", face_jpeg(2), 0.9, now, template(2))],
        [DecisionRecord("d-1", "confirmed", "1:1", "occ-0", traveller)],
    )
    with Session(store.engine) as session:
        capture_id = session.execute(select(m.Capture.id)).scalar_one()
    blob = _blobs(store, document)[0]
    for owners in ((None, None), (capture_id, document)):
        with Session(store.engine) as session:
            session.add(
                m.Blob(
                    id=f"two-owners-{owners[0]}",
                    capture_id=owners[0],
                    document_id=owners[1],
                    kind="image",
                    path=store.blobs.new_name(),
                    key_id=blob.key_id,
                    wrapped_key=blob.wrapped_key,
                    nonce=blob.nonce,
                    size=1,
                    created_at=blob.created_at,
                    missing_since=None,
                )
            )
            with pytest.raises(DBIntegrityError, match=r"(?i)check|one_owner"):
                session.commit()


def test_the_reconciler_keeps_document_photos(store: RecordsStore) -> None:
    traveller = store.add_traveller("non_citizen")
    document = store.add_document(traveller, "passport", "P1", photo=face_jpeg(1))
    report = reconcile(store, grace=timedelta(0))
    assert report.orphan_files_removed == 0 and report.rows_missing_total == 0
    assert store.read_document_photo(document, **READER) == face_jpeg(1)


def test_deleting_a_document_crypto_erases_then_removes_it(
    store: RecordsStore, records_config: RecordsConfig
) -> None:
    traveller = store.add_traveller("non_citizen")
    photo = face_jpeg(4, size=96)
    document = store.add_document(traveller, "passport", "P1234567", template=template(4), photo=photo)
    paths = [b.path for b in _blobs(store, document)]
    store.delete_document(document, actor="admin-1", role="admin", reason="document revoked")
    assert not any(store.blobs.exists(path) for path in paths)
    assert _blobs(store, document) == [] and not store.has_document_photo(document)
    assert store.find_document("P1234567") is None
    with pytest.raises(RecordNotFoundError):
        store.read_document_photo(document, **READER)
    last = store.audit.rows()[-1]
    assert (last["action"], last["actor"], last["outcome"]) == ("deletion", "admin-1", "deleted")
    assert DOCUMENT_PHOTO in last["details"] and "P1234567" not in last["details"]
    assert b"P1234567" not in everything_on_disk(records_config)
    with pytest.raises(RecordNotFoundError):
        store.delete_document(document, actor="admin-1", role="admin", reason="again")
    # A new document with the same number may be filed again.
    store.add_document(traveller, "passport", "P1234567", photo=photo)


def test_a_document_erased_but_not_yet_removed_cannot_be_read(store: RecordsStore) -> None:
    """A crash between the erase and the removal leaves rows whose keys are gone: nothing opens."""
    traveller = store.add_traveller("non_citizen")
    document = store.add_document(traveller, "passport", "P1", photo=face_jpeg(1))
    with Session(store.engine) as session, session.begin():
        session.execute(
            m.Blob.__table__.update().where(m.Blob.document_id == document).values(wrapped_key=ERASED_KEY)
        )
    assert not store.has_document_photo(document)
    with pytest.raises(RecordNotFoundError):
        store.read_document_photo(document, **READER)
    assert reconcile(store, grace=timedelta(0)).rows_missing_total == 0
    store.delete_document(document, actor="admin-1", role="admin", reason="finish the deletion")
    assert _blobs(store, document) == []


def test_the_retention_policy_names_document_photos() -> None:
    rows = {row.category: row for row in policy(RetentionConfig())}
    assert "kept with the document" in rows[DOCUMENT_PHOTO].period
    assert "crypto-erased" in rows[DOCUMENT_PHOTO].where_deleted


def test_the_audit_view_reads_only_the_latest_entries(store: RecordsStore) -> None:
    traveller = store.add_traveller("non_citizen")
    document = store.add_document(traveller, "passport", "P1", photo=face_jpeg(1))
    for _ in range(7):
        store.read_document_photo(document, **READER)
    keep = ("sequence", "at", "actor", "role", "action", "purpose", "subject_ref", "outcome")
    every = store.audit.rows()
    for limit in (1, 3, len(every), len(every) + 5):
        expected = [{key: row[key] for key in keep} for row in reversed(every[-limit:])]
        assert views.audit_entries(store, limit) == expected
