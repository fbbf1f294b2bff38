from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bioexit.errors import BlobMissingError
from bioexit.records import models as m
from bioexit.records.reconcile import reconcile
from bioexit.records.store import RecordsStore
from bioexit.records.types import CaptureRecord, DecisionRecord, EncounterRecord

from .conftest import face_jpeg, template

READER = {"actor": "officer-1", "role": "officer", "purpose": "secondary inspection review"}


def test_reconcile_removes_old_orphans_and_flags_rows_whose_file_is_gone(store: RecordsStore) -> None:
    visitor = store.add_traveller("non_citizen")
    now = store.clock.now()
    store.record_encounter(
        EncounterRecord("enc-1", "P1", "L1", now),
        [CaptureRecord("occ-0", face_jpeg(1), 0.9, now, template(1))],
        [DecisionRecord("d-1", "confirmed", "1:1", "occ-0", visitor)],
    )
    with Session(store.engine) as session:
        image = session.execute(select(m.Blob).where(m.Blob.kind == "image")).scalar_one()
        capture_id, image_path = image.capture_id, image.path
    old_orphan, young_orphan = store.blobs.new_name(), store.blobs.new_name()
    store.blobs.write(old_orphan, b"ciphertext of a crashed ingest")
    store.blobs.write(young_orphan, b"ciphertext of an ingest in flight")
    past = time.time() - 3600
    os.utime(store.blobs.path_of(old_orphan), (past, past))
    store.blobs.path_of(image_path).unlink()  # lost, e.g. by a disk fault

    report = reconcile(store, grace=timedelta(minutes=10))
    assert (
        report.orphan_files_removed == 1
        and report.rows_flagged_missing == 1
        and report.rows_missing_total == 1
    )
    assert not store.blobs.exists(old_orphan) and store.blobs.exists(young_orphan)
    with Session(store.engine) as session:
        assert session.get(m.Blob, image.id).missing_since is not None  # type: ignore[union-attr]
    with pytest.raises(BlobMissingError):
        store.read_capture_image(capture_id, **READER)
    again = reconcile(store, grace=timedelta(0))
    assert (
        again.rows_flagged_missing == 0 and again.rows_missing_total == 1 and again.orphan_files_removed == 1
    )


def test_document_reference_template_read_is_audited(store: RecordsStore) -> None:
    traveller = store.add_traveller("non_citizen")
    document = store.add_document(traveller, "visa", "V1234")
    store.add_document_template(document, template(5))
    got = store.read_document_template(document, **READER)
    assert got.vector.tobytes() == template(5).vector.tobytes() and got.model_key == template(5).model_key
    last = store.audit.entries()[-1].event
    assert last.subject_ref == store.ref("document", document) and last.purpose == READER["purpose"]


def test_a_failing_gallery_does_not_hide_a_committed_encounter(store: RecordsStore) -> None:
    class BrokenGallery:
        def add(self, entry_id: str, subject_id: str, template: object) -> None:
            raise RuntimeError("gallery backend down")

        def remove(self, ids: object) -> None:
            raise RuntimeError("gallery backend down")

    store.gallery = BrokenGallery()  # type: ignore[assignment]
    visitor = store.add_traveller("non_citizen")
    now = store.clock.now()
    ack = store.record_encounter(
        EncounterRecord("enc-1", "P1", "L1", now),
        [CaptureRecord("occ-0", face_jpeg(1), 0.9, now, template(1))],
        [DecisionRecord("d-1", "confirmed", "1:1", "occ-0", visitor)],
    )
    assert len(ack.departures) == 1 and store.audit.verify().ok


def test_sweep_policy_and_reconcile_commands(
    store: RecordsStore,
    records_config,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    import json

    from typer.testing import CliRunner

    from bioexit.cli import app

    monkeypatch.setenv("BIOEXIT_RECORDS__DATA_DIR", str(records_config.data_dir))
    if records_config.database_url:
        monkeypatch.setenv("BIOEXIT_RECORDS__DATABASE_URL", records_config.database_url)
    runner = CliRunner()
    policy = json.loads(runner.invoke(app, ["retention", "policy", "--json"]).output)
    assert policy[0]["category"] == "citizen_encounter"
    swept = runner.invoke(app, ["retention", "sweep", "--json"])
    assert swept.exit_code == 0 and json.loads(swept.output)["captures_deleted"] == 0
    reconciled = runner.invoke(app, ["records", "reconcile", "--json"])
    assert reconciled.exit_code == 0 and json.loads(reconciled.output)["rows_missing_total"] == 0
    refused = runner.invoke(
        app, ["retention", "sweep"], env={"BIOEXIT_RECORDS__RETENTION__CITIZEN_ENCOUNTER_HOURS": "13"}
    )
    assert refused.exit_code == 2 and "at most 12 h" in refused.output
