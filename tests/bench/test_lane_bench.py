"""``bioexit bench lane`` end to end on two simulated vehicles from the real faces: keys, plot, baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bioexit.cli import app

KEYS = {
    "vehicles",
    "all_occupants_captured_rate",
    "occupant_fta_rate",
    "false_confirmations",
    "distractors_accepted_rate",
    "tir_at_fpir_0.003",
    "fnmr_at_fmr_0.001",
    "seconds_per_vehicle",
}


@pytest.mark.slow
def test_bench_lane_reports_every_key_for_lane_and_baselines(faces_dir: Path, tmp_path: Path) -> None:
    args = [
        "bench",
        "lane",
        "--faces",
        str(faces_dir),
        "--vehicles",
        "2",
        "--seed",
        "5",
        "--out",
        str(tmp_path),
    ]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["vehicles"] == 2
    assert set(report["baselines"]) == {"single_shot", "face_recognition"}
    for system in (report, *report["baselines"].values()):
        assert set(system) >= KEYS, system
        assert set(system["seconds_per_vehicle"]) == {"p50", "p95"}
        assert system["seconds_per_vehicle"]["p50"] > 0
        assert system["by_row"] and system["by_degradation"]
        assert 0.0 <= system["occupant_fta_rate"] <= 1.0
    assert (tmp_path / "capture-by-row.png").stat().st_size > 1000
    assert json.loads((tmp_path / "lane-report.json").read_text())["vehicles"] == 2
