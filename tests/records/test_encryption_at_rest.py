from __future__ import annotations

import secrets
from datetime import date

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bioexit.clock import FakeClock
from bioexit.crypto import StaticKeyProvider, write_keyring
from bioexit.crypto.keys import Keyring
from bioexit.errors import KeyUnavailableError
from bioexit.records import models as m
from bioexit.records.store import RecordsStore
from bioexit.records.types import CaptureRecord, DecisionRecord, EncounterRecord
from bioexit.settings import FileKeysConfig, RecordsConfig

from .conftest import T0, everything_on_disk, face_jpeg, face_png, template

READER = {"actor": "officer-1", "role": "officer", "purpose": "secondary inspection review"}
SIGNATURES = {
    "JPEG": b"\xff\xd8\xff",
    "PNG": b"\x89PNG\r\n\x1a\n",
    "JP2": b"\x00\x00\x00\x0cjP  \r\n\x87\n",
    "J2K": b"\xff\x4f\xff\x51",
}


def jp2_bytes() -> bytes:
    import io

    from PIL import Image

    pixels = np.random.default_rng(5).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG2000")
    return buffer.getvalue()


def fill(store: RecordsStore) -> dict[str, tuple[bytes, bytes]]:
    """Three encounters (a JPEG, a PNG and a JPEG 2000 face) of a non-citizen; returns
    capture id -> (image, raw template bytes)."""
    visitor = store.add_traveller("non_citizen")
    document = store.add_document(
        visitor, "passport", "L898902C3", issuing_state="UTO", expiry_date=date(2030, 1, 1)
    )
    store.add_document_template(document, template(900))
    kept = {}
    for index, image in enumerate((face_jpeg(1), face_png(2), jp2_bytes())):
        vector = template(10 + index)
        store.record_encounter(
            EncounterRecord(f"enc-{index}", "P1", "L1", T0),
            [CaptureRecord("occ-0", image, 0.9, T0, vector)],
            [DecisionRecord(f"d-{index}", "confirmed", "1:1-document", "occ-0", visitor, 0.9)],
        )
        with Session(store.engine) as session:
            capture_id = session.execute(
                select(m.Capture.id).where(m.Capture.encounter_id == f"enc-{index}")
            ).scalar_one()
        kept[capture_id] = (image, vector.vector.tobytes())
    return kept


def test_dump_of_database_and_blobs_holds_no_image_signature_and_no_raw_template(
    store: RecordsStore, records_config: RecordsConfig
) -> None:
    kept = fill(store)
    dump = everything_on_disk(records_config)
    for image, raw in kept.values():
        assert image not in dump and raw not in dump
        # Not even a 16-byte piece of any template, in float32 or float64 form.
        assert raw[64:80] not in dump
        assert np.frombuffer(raw, np.float32).astype(np.float64).tobytes()[64:96] not in dump
    for name, signature in SIGNATURES.items():
        assert signature not in dump, f"{name} signature on disk"
    assert b"L898902C3" not in dump  # the document number is sealed
    # ... while the store reads every image back.
    for capture_id, (image, raw) in kept.items():
        assert store.read_capture_image(capture_id, **READER) == image
        assert store.read_capture_template(capture_id, **READER).vector.tobytes() == raw


def test_each_record_has_its_own_data_key_and_names_its_master_key(store: RecordsStore) -> None:
    fill(store)
    with Session(store.engine) as session:
        blobs = session.execute(select(m.Blob)).scalars().all()
        assert len({b.wrapped_key for b in blobs}) == len(blobs) == 6
        assert {b.key_id for b in blobs} == {"mk-1"}
        assert set(session.execute(select(m.StoredTemplate.key_id)).scalars()) == {"mk-1"}


def test_rotation_keeps_everything_readable(
    records_config: RecordsConfig, clock: FakeClock, provider: StaticKeyProvider
) -> None:
    old_key = secrets.token_bytes(32)
    old = StaticKeyProvider({"mk-old": old_key}, "mk-old")
    with RecordsStore.open(records_config, clock=clock, provider=old) as store:
        kept = fill(store)
        ciphertexts = {name: store.blobs.read(name) for name in store.blobs.names()}
    new_key = secrets.token_bytes(32)
    both = StaticKeyProvider({"mk-old": old_key, "mk-new": new_key}, "mk-new")
    with RecordsStore.open(records_config, clock=clock, provider=both) as store:
        assert store.needs_rewrap_count() == 11  # 6 files, 4 templates, 1 document number
        report = store.rotate_keys()
        assert (report.blobs, report.templates, report.documents) == (6, 4, 1)
        assert store.needs_rewrap_count() == 0
        assert store.rotate_keys().blobs == 0  # nothing left to do
        # Only the wrapped keys changed: no file was rewritten.
        assert {name: store.blobs.read(name) for name in store.blobs.names()} == ciphertexts
    new_only = StaticKeyProvider({"mk-new": new_key}, "mk-new")  # the old key is gone
    with RecordsStore.open(records_config, clock=clock, provider=new_only) as store:
        for capture_id, (image, raw) in kept.items():
            assert store.read_capture_image(capture_id, **READER) == image
            assert store.read_capture_image(capture_id, kind="thumbnail", **READER)[:3] == b"\xff\xd8\xff"
            assert store.read_capture_template(capture_id, **READER).vector.tobytes() == raw
        with Session(store.engine) as session:
            assert set(session.execute(select(m.Blob.key_id)).scalars()) == {"mk-new"}
            assert set(session.execute(select(m.Document.key_id)).scalars()) == {"mk-new"}


def test_without_its_master_key_nothing_opens(
    records_config: RecordsConfig, clock: FakeClock, provider: StaticKeyProvider
) -> None:
    with RecordsStore.open(records_config, clock=clock, provider=provider) as store:
        kept = fill(store)
    stranger = StaticKeyProvider({"mk-other": secrets.token_bytes(32)}, "mk-other")
    with RecordsStore.open(records_config, clock=clock, provider=stranger) as store:
        for capture_id in kept:
            with pytest.raises(KeyUnavailableError, match="not held"):
                store.read_capture_image(capture_id, **READER)


def test_crypto_erase_makes_a_record_unreadable(store: RecordsStore) -> None:
    kept = fill(store)
    erased, untouched = list(kept)[:2]
    with Session(store.engine) as session, session.begin():
        store.crypto_erase_capture(session, erased)
    for kind in ("image", "thumbnail"):
        with pytest.raises(KeyUnavailableError, match="crypto-erased"):
            store.read_capture_image(erased, kind=kind, **READER)
    with pytest.raises(KeyUnavailableError, match="crypto-erased"):
        store.read_capture_template(erased, **READER)
    assert store.read_capture_image(untouched, **READER) == kept[untouched][0]
    # Rotation skips what is erased (there is no key left to re-wrap).
    with Session(store.engine) as session:
        wrapped = (
            session.execute(select(m.Blob.wrapped_key).where(m.Blob.capture_id == erased)).scalars().all()
        )
    assert all(w == b"\x00bioexit:crypto-erased\x00" for w in wrapped)


def test_file_keyring_is_made_once_with_mode_0600_and_rotation_cli_adds_a_key(
    records_config: RecordsConfig, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from bioexit.cli import app

    with RecordsStore.open(records_config, clock=clock) as store:
        kept = fill(store)
    keyring_path = records_config.data_dir / "keyring.json"
    assert keyring_path.stat().st_mode & 0o777 == 0o600
    assert (records_config.data_dir / "hash.key").stat().st_mode & 0o777 == 0o600
    first = json.loads(keyring_path.read_text())["current"]
    monkeypatch.setenv("BIOEXIT_RECORDS__DATA_DIR", str(records_config.data_dir))
    if records_config.database_url:
        monkeypatch.setenv("BIOEXIT_RECORDS__DATABASE_URL", records_config.database_url)
    result = CliRunner().invoke(app, ["keys", "rotate", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["current_key_id"] != first and body["rewrapped"] == {
        "blobs": 6,
        "templates": 4,
        "documents": 1,
    }
    with RecordsStore.open(records_config, clock=clock) as store:
        assert store.provider.current_key_id == body["current_key_id"]
        for capture_id, (image, _raw) in kept.items():
            assert store.read_capture_image(capture_id, **READER) == image
    # Retire the old key: everything still opens, because everything was re-wrapped.
    retired = CliRunner().invoke(app, ["keys", "retire", first, "--json"])
    assert retired.exit_code == 0, retired.output
    assert first not in Keyring.from_json(keyring_path.read_text()).keys
    with RecordsStore.open(records_config, clock=clock, provider=None) as store:
        for capture_id, (image, _raw) in kept.items():
            assert store.read_capture_image(capture_id, **READER) == image
    assert FileKeysConfig().kind == "file"


def test_a_key_still_in_use_is_not_retired(
    records_config: RecordsConfig, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from bioexit.cli import app

    with RecordsStore.open(records_config, clock=clock) as store:
        fill(store)
    keyring_path = records_config.data_dir / "keyring.json"
    first = json.loads(keyring_path.read_text())["current"]
    monkeypatch.setenv("BIOEXIT_RECORDS__DATA_DIR", str(records_config.data_dir))
    if records_config.database_url:
        monkeypatch.setenv("BIOEXIT_RECORDS__DATABASE_URL", records_config.database_url)
    write_keyring(keyring_path, Keyring.from_json(keyring_path.read_text()).with_new_key("mk-next"))
    refused = CliRunner().invoke(app, ["keys", "retire", first])
    assert refused.exit_code == 2 and "11 records are still wrapped" in refused.output
    assert first in Keyring.from_json(keyring_path.read_text()).keys
