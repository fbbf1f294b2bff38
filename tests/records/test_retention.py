from __future__ import annotations

import os
import random
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bioexit.audit.chain import AuditAction
from bioexit.clock import FakeClock
from bioexit.crypto import StaticKeyProvider
from bioexit.errors import ConfigError, KeyUnavailableError, RecordNotFoundError
from bioexit.matching.index import ExactIndex
from bioexit.records import models as m
from bioexit.records.gallery import MemoryEncounterGallery
from bioexit.records.retention import Sweeper, policy, policy_markdown
from bioexit.records.store import RecordsStore
from bioexit.records.types import CaptureRecord, DecisionRecord, EncounterRecord
from bioexit.settings import RecordsConfig, RetentionConfig, load_settings

from .conftest import MODEL, T0, everything_on_disk, face_jpeg, template

READER = {"actor": "officer-1", "role": "officer", "purpose": "secondary inspection review"}


def crossing(
    store: RecordsStore,
    encounter_id: str,
    traveller: str | None,
    seed: int,
    at: datetime = T0,
    noise: float = 0.0,
    base_seed: int | None = None,
) -> tuple[bytes, np.ndarray]:
    image, vector = face_jpeg(seed), template(seed, noise, base_seed)
    decisions = (
        [DecisionRecord(f"d-{encounter_id}", "confirmed", "1:1-document", "occ-0", traveller)]
        if traveller
        else [DecisionRecord(f"d-{encounter_id}", "no_match", "1:N-encounters", "occ-0")]
    )
    store.record_encounter(
        EncounterRecord(encounter_id, "P1", "L1", at),
        [CaptureRecord("occ-0", image, 0.9, at, vector, None, "cam-1")],
        decisions,
    )
    return image, vector.vector.tobytes()


def capture_id(store: RecordsStore, encounter_id: str) -> str:
    with Session(store.engine) as session:
        return session.execute(
            select(m.Capture.id).where(m.Capture.encounter_id == encounter_id)
        ).scalar_one()


def stored_everywhere(
    store: RecordsStore, config: RecordsConfig, gallery: MemoryEncounterGallery, needle: bytes
) -> bool:
    return needle in everything_on_disk(config) or in_gallery(gallery, needle)


def in_gallery(gallery: MemoryEncounterGallery, needle: bytes) -> bool:
    """Whether the gallery's index holds the template whose float32 bytes are ``needle``."""
    index = gallery.gallery.index
    assert isinstance(index, ExactIndex)
    if len(needle) != index.dim * 4 or len(index) == 0:
        return False
    probe = np.frombuffer(needle, dtype=np.float32)
    return bool(np.any(np.all(np.abs(index.vectors() - probe) < 1e-6, axis=1)))


def stored_forms(store: RecordsStore, encounter_id: str) -> list[bytes]:
    """Every byte string the store keeps of one capture: its files' ciphertext, their wrapped
    keys, its sealed template."""
    cid = capture_id(store, encounter_id)
    with Session(store.engine) as session:
        blobs = session.execute(select(m.Blob).where(m.Blob.capture_id == cid)).scalars().all()
        forms = [store.blobs.read(b.path) for b in blobs] + [b.wrapped_key for b in blobs]
        forms += list(
            session.execute(
                select(m.StoredTemplate.sealed).where(m.StoredTemplate.capture_id == cid)
            ).scalars()
        )
    assert len(forms) == 5
    return forms


def test_retention_config_refuses_more_than_12_hours_for_citizens() -> None:
    with pytest.raises(ValueError, match="at most 12 h"):
        RetentionConfig(citizen_encounter_hours=12.5)
    with pytest.raises(ConfigError, match="at most 12 h"):
        load_settings(records={"retention": {"citizen_encounter_hours": 24}})
    assert RetentionConfig(citizen_encounter_hours=2).citizen_encounter_hours == 2


def test_policy_table_names_every_category_once() -> None:
    rows = policy(RetentionConfig(citizen_encounter_hours=6, noncitizen_encounter_days=30))
    categories = [row.category for row in rows]
    assert len(set(categories)) == len(categories)
    assert {"citizen_encounter", "unknown_encounter", "citizen_opted_out", "noncitizen_encounter"} <= set(
        categories
    )
    table = policy_markdown(RetentionConfig())
    assert "| `citizen_encounter` |" in table and "12 h" in table and "14 days" in table


def test_no_citizen_photo_template_or_gallery_entry_outlives_its_deadline(
    store: RecordsStore, records_config: RecordsConfig, clock: FakeClock, gallery: MemoryEncounterGallery
) -> None:
    citizen = store.add_traveller("citizen")
    image, vector = crossing(store, "enc-c", citizen, seed=11)
    unknown_image, unknown_vector = crossing(store, "enc-u", None, seed=12)
    cid = capture_id(store, "enc-c")
    assert store.read_capture_image(cid, **READER) == image
    kept = stored_forms(store, "enc-c") + stored_forms(store, "enc-u")
    assert all(form in everything_on_disk(records_config) for form in kept)  # the search finds them now
    assert len(gallery) == 0  # a citizen never joins the encounter gallery
    sweeper = Sweeper(store, clock)

    clock.set(T0 + timedelta(hours=11))  # the sweep at 11 h leaves it (not due before the next sweep)
    assert sweeper.sweep().captures_deleted == 0
    assert store.read_capture_image(cid, **READER) == image
    clock.set(T0 + timedelta(hours=11, minutes=50))  # the last sweep before the 12 h deadline
    report = sweeper.sweep()
    assert report.captures_deleted == 2 and report.files_deleted == 4 and report.templates_deleted == 2
    assert clock.now() < T0 + timedelta(hours=12)
    for needle in (image, vector, unknown_image, unknown_vector, *kept):
        assert not stored_everywhere(store, records_config, gallery, needle)
    assert list(store.blobs.names()) == []
    with Session(store.engine) as session:
        assert session.execute(select(func.count()).select_from(m.StoredTemplate)).scalar_one() == 0
        assert set(session.execute(select(m.Capture.state)).scalars()) == {"deleted"}
    with pytest.raises(RecordNotFoundError):
        store.read_capture_image(cid, **READER)
    # The departure itself is a record and stays.
    with Session(store.engine) as session:
        assert session.execute(select(func.count()).select_from(m.Departure)).scalar_one() == 1
    actions = [e.event.action for e in store.audit.entries()]
    assert actions.count(AuditAction.DELETION) == 2


def test_opt_out_stores_nothing(
    store: RecordsStore, records_config: RecordsConfig, gallery: MemoryEncounterGallery
) -> None:
    before = everything_on_disk(records_config)
    citizen = store.add_traveller("citizen", opt_out=True)
    image, vector = crossing(store, "enc-1", citizen, seed=21)
    assert list(store.blobs.names()) == [] and len(gallery) == 0
    assert not stored_everywhere(store, records_config, gallery, image)
    assert not stored_everywhere(store, records_config, gallery, vector)
    with Session(store.engine) as session:
        assert session.execute(select(func.count()).select_from(m.StoredTemplate)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(m.Blob)).scalar_one() == 0
        assert session.execute(select(m.Capture.state)).scalar_one() == "none"
        assert session.execute(select(func.count()).select_from(m.Departure)).scalar_one() == 1
    assert len(everything_on_disk(records_config)) > len(before)  # the departure was written


def test_non_citizen_second_crossing_matches_the_first_crossing_encounter_photo(
    store: RecordsStore, records_config: RecordsConfig, clock: FakeClock, provider: StaticKeyProvider
) -> None:
    visitor = store.add_traveller("non_citizen")
    others = [store.add_traveller("non_citizen") for _ in range(5)]
    crossing(store, "first", visitor, seed=31)
    for index, other in enumerate(others):
        crossing(store, f"other-{index}", other, seed=40 + index)
    clock.advance(timedelta(days=3))  # well past any citizen deadline
    Sweeper(store, clock).sweep()

    # A later process rebuilds the encounter gallery from the records (an audited bulk read).
    rebuilt = MemoryEncounterGallery(MODEL)
    for entry_id, subject, vector in store.encounter_gallery_templates(MODEL.key, **READER):
        rebuilt.add(entry_id, subject, vector)
    assert len(rebuilt) == 6
    probe = template(99, noise=0.3, base_seed=31)  # the same face, another day, another camera
    hits = store.audited_search(
        action=AuditAction.IDENTIFY_1_N,
        actor="lane:P1/L1",
        role="lane",
        purpose="exit confirmation of a vehicle occupant",
        subject_ref=store.ref("encounter", "second"),
        search=lambda: rebuilt.search(probe, k=3),
        outcome=lambda result: f"top_score_{result[0][2]:.2f}",
    )
    assert hits[0][1] == visitor and hits[0][2] > 0.8 and hits[1][2] < 0.5
    first_capture = capture_id(store, "first")
    with Session(store.engine) as session:
        assert session.get(m.StoredTemplate, hits[0][0]).capture_id == first_capture  # type: ignore[union-attr]


def test_non_citizen_photos_are_kept_for_the_period_then_leave_store_and_gallery(
    records_config: RecordsConfig,
    clock: FakeClock,
    provider: StaticKeyProvider,
    gallery: MemoryEncounterGallery,
) -> None:
    config = records_config.model_copy(update={"retention": RetentionConfig(noncitizen_encounter_days=7)})
    with RecordsStore.open(config, clock=clock, provider=provider, gallery=gallery) as store:
        visitor = store.add_traveller("non_citizen")
        image, vector = crossing(store, "enc-1", visitor, seed=51)
        kept = stored_forms(store, "enc-1")
        assert len(gallery) == 1 and stored_everywhere(store, config, gallery, vector)
        sweeper = Sweeper(store, clock)
        clock.set(T0 + timedelta(days=6))
        assert sweeper.sweep().captures_deleted == 0 and len(gallery) == 1
        assert store.read_capture_image(capture_id(store, "enc-1"), **READER) == image
        clock.set(T0 + timedelta(days=7))
        report = sweeper.sweep()
        assert report.captures_deleted == 1 and report.gallery_entries_removed == 1 and len(gallery) == 0
        for needle in (image, vector, *kept):
            assert not stored_everywhere(store, config, gallery, needle)


def test_sweeper_removes_old_temp_files(store: RecordsStore) -> None:
    clock = FakeClock(datetime.now(UTC))
    old = store.blobs.tmp / "old.tmp"
    fresh = store.blobs.tmp / "fresh.tmp"
    old.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    past = datetime.now(UTC).timestamp() - 2 * 3600
    os.utime(old, (past, past))
    assert Sweeper(store, clock).sweep().temp_files_deleted == 1
    assert not old.exists() and fresh.exists()


def test_crypto_erase_at_intent_time_makes_the_data_unreadable_before_files_go(
    store: RecordsStore, clock: FakeClock
) -> None:
    """Phase 1 alone (a sweep killed right after it) already leaves nothing that opens."""
    citizen = store.add_traveller("citizen")
    crossing(store, "enc-1", citizen, seed=61)
    cid = capture_id(store, "enc-1")
    clock.set(T0 + timedelta(hours=12))
    sweeper = Sweeper(store, clock)
    assert sweeper._record_intents() == 1
    with Session(store.engine) as session:
        blob = session.execute(select(m.Blob).where(m.Blob.kind == "image")).scalar_one()
        blob_id, key_id, wrapped, nonce, path = blob.id, blob.key_id, blob.wrapped_key, blob.nonce, blob.path
    from bioexit.crypto import Sealed, open_sealed

    sealed = Sealed(blob_id, key_id, wrapped, nonce, store.blobs.read(path))
    with pytest.raises(KeyUnavailableError, match="crypto-erased"):
        open_sealed(sealed, record_id=blob_id, kind="image", provider=store.provider)
    assert sweeper.sweep().captures_deleted == 1
    with Session(store.engine) as session:
        assert session.get(m.Capture, cid).state == "deleted"  # type: ignore[union-attr]


def _sweep_child(config: RecordsConfig, provider: StaticKeyProvider, now: datetime, seed: int) -> None:
    """Runs in a forked child that the test kills: sweep (slowly, so kills land mid-way)."""
    random.seed(seed)
    clock = FakeClock(now)
    store = RecordsStore.open(config, clock=clock, provider=provider, gallery=MemoryEncounterGallery(MODEL))
    Sweeper(store, clock, batch=3).sweep()


def test_a_sweep_killed_at_any_point_is_finished_by_the_next(
    records_config: RecordsConfig,
    clock: FakeClock,
    provider: StaticKeyProvider,
    gallery: MemoryEncounterGallery,
) -> None:
    with RecordsStore.open(records_config, clock=clock, provider=provider, gallery=gallery) as store:
        citizen = store.add_traveller("citizen")
        visitor = store.add_traveller("non_citizen")
        needles = []
        for index in range(12):
            needles += crossing(store, f"enc-{index}", citizen if index % 2 else visitor, seed=100 + index)
            needles += stored_forms(store, f"enc-{index}")
    later = T0 + timedelta(days=30)
    rng = random.Random(4)
    kills = 0
    for attempt in range(25):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 0
            try:
                _sweep_child(records_config, provider, later, attempt)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        import time

        time.sleep(rng.uniform(0.0, 0.25))
        try:
            os.kill(pid, signal.SIGKILL)
            kills += 1
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    assert kills > 0
    gallery_after = MemoryEncounterGallery(MODEL)
    with RecordsStore.open(
        records_config, clock=FakeClock(later), provider=provider, gallery=gallery_after
    ) as store:
        Sweeper(store).sweep()
        with Session(store.engine) as session:
            assert set(session.execute(select(m.Capture.state)).scalars()) == {"deleted"}
            assert session.execute(select(func.count()).select_from(m.Blob)).scalar_one() == 0
            assert session.execute(select(func.count()).select_from(m.StoredTemplate)).scalar_one() == 0
            assert (
                session.execute(
                    select(func.count())
                    .select_from(m.DeletionIntent)
                    .where(m.DeletionIntent.done_at.is_(None))
                ).scalar_one()
                == 0
            )
        assert list(store.blobs.names()) == []
        dump = everything_on_disk(records_config)
        assert not any(needle in dump for needle in needles)
        assert store.audit.verify().ok
        deletions = [e for e in store.audit.entries() if e.event.action is AuditAction.DELETION]
        assert len(deletions) == 12  # each capture's deletion audited exactly once


def test_gallery_entries_are_removed_even_when_the_sweep_dies_after_recording_intents(
    store: RecordsStore, clock: FakeClock, gallery: MemoryEncounterGallery
) -> None:
    visitor = store.add_traveller("non_citizen")
    crossing(store, "enc-1", visitor, seed=71)
    assert len(gallery) == 1
    clock.set(T0 + timedelta(days=20))
    Sweeper(store, clock)._record_intents()  # then "killed"
    assert len(gallery) == 1
    Sweeper(store, clock).sweep()
    assert len(gallery) == 0


def test_store_data_dir_holds_nothing_else(records_config: RecordsConfig, store: RecordsStore) -> None:
    names = {p.name for p in Path(records_config.data_dir).iterdir()}
    assert names <= {
        "blobs",
        "hash.key",
        "audit-head.json",
        "audit-head.lock",
        "records.sqlite3",
        "records.sqlite3-wal",
        "records.sqlite3-shm",
        "keyring.json",
    }


def test_opting_out_later_deletes_what_was_kept(
    store: RecordsStore, records_config: RecordsConfig, gallery: MemoryEncounterGallery
) -> None:
    citizen = store.add_traveller("citizen")
    image, vector = crossing(store, "enc-1", citizen, seed=81)
    kept = stored_forms(store, "enc-1")
    store.set_opt_out(citizen, True)  # keys destroyed at once; files go at the next sweep
    with pytest.raises(KeyUnavailableError, match="crypto-erased"):
        store.read_capture_image(capture_id(store, "enc-1"), **READER)
    assert Sweeper(store).sweep().captures_deleted == 1
    for needle in (image, vector, *kept):
        assert not stored_everywhere(store, records_config, gallery, needle)


def test_a_no_match_confirmed_as_an_opted_out_citizen_is_deleted(
    store: RecordsStore, records_config: RecordsConfig, gallery: MemoryEncounterGallery
) -> None:
    citizen = store.add_traveller("citizen", opt_out=True)
    image, _vector = crossing(store, "enc-1", None, seed=82)  # nobody known: kept up to 12 h
    assert len(list(store.blobs.names())) == 2
    store.adjudicate(
        "d-enc-1", officer="officer-7", outcome="confirmed", reason="passport checked", traveller_id=citizen
    )
    assert Sweeper(store).sweep().captures_deleted == 1
    assert list(store.blobs.names()) == [] and not stored_everywhere(store, records_config, gallery, image)


def test_a_sweeper_without_the_gallery_reports_the_entries_it_could_not_reach(
    records_config: RecordsConfig, clock: FakeClock, provider: StaticKeyProvider
) -> None:
    with RecordsStore.open(records_config, clock=clock, provider=provider) as store:
        visitor = store.add_traveller("non_citizen")
        crossing(store, "enc-1", visitor, seed=91)
        clock.set(T0 + timedelta(days=15))
        report = Sweeper(store).sweep()
        assert report.captures_deleted == 1 and report.gallery_entries_removed == 0
        assert report.gallery_entries_unreachable == 1
        assert store.audit.entries()[-1].event.details["gallery_unreachable"] == 1
        assert list(store.encounter_gallery_templates(MODEL.key, **READER)) == []  # a rebuild has none
