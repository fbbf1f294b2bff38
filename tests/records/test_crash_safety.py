"""SIGKILL the ingest process at random points, 200 times: every acknowledged departure survives,
no row lacks its file, no file lacks its row after the reconciler, the integrity checks pass."""

from __future__ import annotations

import os
import random
import select as _select
import signal
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import bioexit.imaging  # noqa: F401  (imported before forking, as a long-running ingest process has it)
from bioexit.crypto import StaticKeyProvider
from bioexit.records import models as m
from bioexit.records.reconcile import reconcile
from bioexit.records.store import RecordsStore
from bioexit.records.types import CaptureRecord, DecisionRecord, EncounterRecord
from bioexit.settings import RecordsConfig

from .conftest import face_jpeg, template

KILLS = 200
T0 = datetime.now(UTC)  # recent: every face is kept (none is past its deadline at ingest)
IMAGE = face_jpeg(7)
TEMPLATE = template(7)


def _ingest_forever(
    config: RecordsConfig, provider: StaticKeyProvider, round_: int, travellers: list[str], out: int
) -> None:
    """The child: ingest encounters until killed; acknowledge each only after it returned."""
    with RecordsStore.open(config, provider=provider) as store:
        os.write(out, b"ready\n")
        for number in range(10_000):
            traveller = travellers[number % len(travellers)]
            encounter_id = f"r{round_}-{number}"
            ack = store.record_encounter(
                EncounterRecord(encounter_id, "P1", f"L{number % 3}", T0 + timedelta(minutes=number)),
                [CaptureRecord("occ-0", IMAGE, 0.9, T0, TEMPLATE), CaptureRecord("occ-1", IMAGE, 0.5, T0)],
                [DecisionRecord(f"{encounter_id}-d", "confirmed", "1:1-document", "occ-0", traveller, 0.9)],
            )
            os.write(out, f"{encounter_id} {ack.departures[0]}\n".encode())


def _run_and_kill(
    config: RecordsConfig, provider: StaticKeyProvider, travellers: list[str], rng: random.Random, round_: int
) -> list[tuple[str, str]]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        try:
            _ingest_forever(config, provider, round_, travellers, write_end)
        finally:
            os._exit(0)
    os.close(write_end)
    # Wait until the child has opened the store, then kill it at a random point among its blob
    # writes, commits and anchor updates.
    data = b""
    deadline = time.monotonic() + 30
    while b"ready\n" not in data and time.monotonic() < deadline:
        if _select.select([read_end], [], [], 1.0)[0]:
            data += os.read(read_end, 65536)
    time.sleep(rng.uniform(0.0, 0.3))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    while _select.select([read_end], [], [], 0)[0]:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        data += chunk
    os.close(read_end)
    acks = []
    for line in data.decode().splitlines():
        parts = line.split()
        if (
            len(parts) == 2 and parts[0] != "ready"
        ):  # a line cut by the kill was never a complete acknowledgement
            acks.append((parts[0], parts[1]))
    return acks


@pytest.mark.slow
def test_sigkill_during_ingest_loses_no_acknowledged_departure(
    records_config: RecordsConfig, provider: StaticKeyProvider
) -> None:
    with RecordsStore.open(records_config, provider=provider) as store:
        travellers = [store.add_traveller("non_citizen") for _ in range(3)] + [store.add_traveller("citizen")]
        for traveller in travellers[:3]:
            store.record_entry(
                traveller, port="P9", admitted_on=date(2026, 1, 1), admit_until=date(2026, 6, 1)
            )
    rng = random.Random(20261122)
    acknowledged: list[tuple[str, str]] = []
    for round_ in range(KILLS):
        acknowledged += _run_and_kill(records_config, provider, travellers, rng, round_)
    assert len(acknowledged) >= KILLS // 4  # the kills landed among commits, not only at start-up

    with RecordsStore.open(records_config, provider=provider) as store:
        report = reconcile(store, grace=timedelta(0))
        with Session(store.engine) as session:
            departures = dict(session.execute(select(m.Departure.encounter_id, m.Departure.id)).all())
            for encounter_id, departure_id in acknowledged:
                assert departures.get(encounter_id) == departure_id, f"acknowledged {encounter_id} lost"
            paths = set(session.execute(select(m.Blob.path)).scalars())
            blob_rows = session.execute(select(func.count()).select_from(m.Blob)).scalar_one()
            # Every committed encounter is whole: 2 captures, 4 files, 1 template, 1 decision, 1 departure.
            encounters = session.execute(select(func.count()).select_from(m.Encounter)).scalar_one()
            assert blob_rows == 4 * encounters
            assert (
                session.execute(select(func.count()).select_from(m.StoredTemplate)).scalar_one() == encounters
            )
            assert len(departures) == encounters
        assert report.rows_missing_total == 0  # no row lacks its file
        # Some kills fell between writing files and committing: their files were orphans.
        assert report.orphan_files_removed + report.temp_files_removed > 0
        assert set(store.blobs.names()) == paths  # no file lacks its row
        assert list(store.blobs.tmp.iterdir()) == []
        if store.engine.dialect.name == "sqlite":
            with store.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        verdict = store.audit.verify()
        assert verdict.ok, verdict.reason
        assert verdict.checked == encounters  # one decision entry per committed encounter
        # A replay of an acknowledged encounter is recognised, not stored twice.
        encounter_id, departure_id = acknowledged[-1]
        round_, number = (int(x) for x in encounter_id[1:].split("-"))
        again = store.record_encounter(
            EncounterRecord(encounter_id, "P1", f"L{number % 3}", T0 + timedelta(minutes=number)),
            [CaptureRecord("occ-0", IMAGE, 0.9, T0, TEMPLATE), CaptureRecord("occ-1", IMAGE, 0.5, T0)],
            [
                DecisionRecord(
                    f"{encounter_id}-d",
                    "confirmed",
                    "1:1-document",
                    "occ-0",
                    travellers[number % len(travellers)],
                    0.9,
                )
            ],
        )
        assert again.duplicate and again.departures == (departure_id,)
    Path(records_config.data_dir, "crash-summary.txt").write_text(
        f"kills={KILLS} acknowledged={len(acknowledged)} committed={encounters} orphans_removed="
        f"{report.orphan_files_removed} temp_removed={report.temp_files_removed}\n"
    )
    print(
        f"\nSIGKILL run ({store.engine.dialect.name}): {KILLS} kills, {len(acknowledged)} acknowledged, "
        f"{encounters} committed, {report.orphan_files_removed} orphan files and "
        f"{report.temp_files_removed} temp files removed"
    )
