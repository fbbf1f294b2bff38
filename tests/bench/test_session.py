"""``bioexit lane session``: simulated vehicles recorded through the records and scored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bioexit.bench.session import run_session
from bioexit.cli import app
from bioexit.lane.pipeline import build_pipeline
from bioexit.lane.store import ResultStore
from bioexit.records import models as m
from bioexit.records.store import RecordsStore
from bioexit.settings import RecordsConfig, Settings

pytestmark = pytest.mark.slow


def test_session_records_every_vehicle_once(simulated_lane: Path, tmp_path: Path) -> None:
    settings = Settings()
    pipeline = build_pipeline(settings)
    with RecordsStore.open(RecordsConfig(data_dir=tmp_path / "records")) as store:
        results = ResultStore(tmp_path / "results")
        first = run_session(simulated_lane, store, pipeline, settings, results)
        vehicles = first["vehicle_results"]
        assert first["vehicles"] == len(vehicles) == 4
        assert first["travellers_enrolled"] > 0
        assert not any(v["replayed"] for v in vehicles)
        for v in vehicles:  # only confirmed occupants depart; every other one waits for an officer
            assert v["departures"] == v["confirmed"]
            assert v["pending_reviews"] == v["found"] - v["confirmed"]
            assert v["captured"] <= v["occupants"]
        with Session(store.engine) as session:
            departures = session.scalar(select(func.count()).select_from(m.Departure))
        assert departures == first["departures_recorded"] == sum(v["confirmed"] for v in vehicles)
        assert first["pending_reviews"] == len(store.pending_reviews())
        # Easy vehicles: the lane finds everyone and confirms nobody wrongly.
        assert first["all_occupants_captured_rate"] >= 0.75
        assert first["false_confirmations"] == 0

        again = run_session(simulated_lane, store, pipeline, settings, results)
        assert all(v["replayed"] for v in again["vehicle_results"])
        assert again["travellers_enrolled"] == 0
        with Session(store.engine) as session:
            assert session.scalar(select(func.count()).select_from(m.Departure)) == departures
        same = ("found", "captured", "confirmed", "departures", "pending_reviews")
        assert [{k: v[k] for k in same} for v in again["vehicle_results"]] == [
            {k: v[k] for k in same} for v in vehicles
        ]


def test_session_command_reuses_the_simulation(simulated_lane: Path, tmp_path: Path) -> None:
    out = tmp_path / "session"
    shutil.copytree(simulated_lane, out / "sim-easy-11-4")  # as the command names it: no new simulation
    args = ["lane", "session", "--faces", str(tmp_path / "unused"), "--vehicles", "4", "--seed", "11"]
    args += ["--difficulty", "easy", "--out", str(out), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["vehicles"] == 4
    assert report["session"] == str(out)
    assert (out / "records").is_dir() and (out / "results").is_dir()


def test_session_refuses_an_unknown_difficulty(tmp_path: Path) -> None:
    args = ["lane", "session", "--faces", str(tmp_path), "--difficulty", "medium", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "easy or hard" in result.output
