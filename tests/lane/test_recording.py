"""The lane wired through the records, end to end on simulated vehicles built from real faces."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import vehicle_folders

from bioexit.clock import FakeClock
from bioexit.lane.pipeline import LanePipeline, build_pipeline
from bioexit.lane.recording import enrol_gallery, gallery_from_records, process_and_record_folder
from bioexit.lane.store import ResultStore
from bioexit.lanesim.scene import EPOCH
from bioexit.records import models as m
from bioexit.records.store import RecordsStore
from bioexit.settings import RecordsConfig, Settings

pytestmark = pytest.mark.slow
VEHICLES = 4  # as tests.conftest.simulated_lane makes them


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="module")
def pipeline(settings: Settings) -> LanePipeline:
    return build_pipeline(settings)


@pytest.fixture(scope="module")
def lane(simulated_lane: Path) -> Path:
    return simulated_lane


def _vehicles(lane: Path) -> list[Path]:
    return vehicle_folders(lane)


def test_vehicles_become_departures_and_reviews(
    lane: Path, pipeline: LanePipeline, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock(EPOCH)  # the simulated day, so citizens' 12 h deadlines lie ahead
    with RecordsStore.open(RecordsConfig(data_dir=tmp_path / "records"), clock=clock) as store:
        enrolled = enrol_gallery(lane / "gallery", store, pipeline.engine, settings)
        assert enrolled > 0
        assert enrol_gallery(lane / "gallery", store, pipeline.engine, settings) == 0  # idempotent
        results = ResultStore(tmp_path / "results")

        confirmed = pending = 0
        for folder in _vehicles(lane):
            clock.advance(timedelta(minutes=1))
            recorded = process_and_record_folder(folder, store, pipeline, settings, results)
            statuses = [o.status for o in recorded.result.occupants]
            assert len(recorded.acknowledgement.departures) == statuses.count("confirmed")
            assert len(recorded.acknowledgement.pending_reviews) == len(statuses) - statuses.count(
                "confirmed"
            )
            confirmed += statuses.count("confirmed")
            pending += len(statuses) - statuses.count("confirmed")

            again = process_and_record_folder(folder, store, pipeline, settings, results)
            assert again.acknowledgement.duplicate
            assert again.acknowledgement.departures == recorded.acknowledgement.departures
            assert again.result == recorded.result
        assert confirmed > 0

        with Session(store.engine) as session:
            departures = session.scalar(select(func.count()).select_from(m.Departure))
            encounters = session.scalar(select(func.count()).select_from(m.Encounter))
        assert departures == confirmed and encounters == VEHICLES
        assert len(store.pending_reviews()) == pending

        # Non-citizens' encounter photos joined the gallery that the next vehicle is searched in.
        gallery = gallery_from_records(store, pipeline.engine.embedder.info, actor="test")
        assert any(entry.startswith("encounter:") for entry in gallery.templates)


def test_a_no_match_departs_only_when_an_officer_confirms(
    lane: Path, pipeline: LanePipeline, settings: Settings, tmp_path: Path
) -> None:
    clock = FakeClock(EPOCH)
    with RecordsStore.open(RecordsConfig(data_dir=tmp_path / "records"), clock=clock) as store:
        # Nobody enrolled: every occupant is a no-match (or not captured) and waits for an officer.
        recorded = process_and_record_folder(_vehicles(lane)[0], store, pipeline, settings)
        assert recorded.acknowledgement.departures == ()
        reviews = store.pending_reviews()
        assert len(reviews) == len(recorded.result.occupants) > 0
        traveller = store.add_traveller("non_citizen")
        decided = store.adjudicate(
            reviews[0],
            officer="olivia",
            outcome="confirmed",
            reason="face matches passport",
            traveller_id=traveller,
        )
        assert decided.departure_id is not None
        rejected = [
            store.adjudicate(r, officer="olivia", outcome="rejected", reason="not the holder")
            for r in reviews[1:]
        ]
        assert all(r.departure_id is None for r in rejected)
        assert store.pending_reviews() == []


def test_lane_enrol_and_record_commands(lane: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from bioexit.cli import app

    monkeypatch.setenv("BIOEXIT_RECORDS__DATA_DIR", str(tmp_path / "records"))
    monkeypatch.setenv("BIOEXIT_LANE__RESULTS_DIR", str(tmp_path / "results"))
    enrolled = CliRunner().invoke(app, ["lane", "enrol", str(lane / "gallery"), "--json"])
    assert enrolled.exit_code == 0, enrolled.output
    assert json.loads(enrolled.stdout)["travellers_added"] > 0
    folder = str(_vehicles(lane)[0])
    first = CliRunner().invoke(app, ["lane", "record", folder, folder, "--json"])
    assert first.exit_code == 0, first.output
    once, twice = json.loads(first.stdout)
    assert not once["acknowledgement"]["duplicate"] and twice["acknowledgement"]["duplicate"]
    assert once["result"] == twice["result"]
    missing = CliRunner().invoke(app, ["lane", "record", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "encounter" in missing.output
