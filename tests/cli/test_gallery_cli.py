"""Gate and gallery-bench commands, run in-process through Typer's runner."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bioexit.cli import app

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_bench_gallery_reports_every_backend_with_recall_against_exact(tmp_path: Path) -> None:
    options = "--size 3000 --dim 32 --backend numpy,faiss --structure ivf-flat --nprobe 4,16 --queries 100"
    code, output = run(
        "bench", "gallery", *options.split(), "--timed", "16", "--work-dir", str(tmp_path), "--json"
    )
    assert code == 0, output
    body = json.loads(output)
    numpy, faiss = body["backends"]
    assert numpy["backend"] == "numpy" and numpy["searches"][0]["recall_at_1"] == 1.0
    assert [s["nprobe"] for s in faiss["searches"]] == [4, 16]
    assert faiss["searches"][1]["recall_at_1"] >= 0.95
    assert {"p50", "p99"} <= set(faiss["searches"][0]["single_ms"]) and "batch8_ms" in faiss["searches"][0]
    assert body["gallery"]["distractors"] > 0 and body["fit"]["within_sd"] > 0


def test_bench_options_are_checked_before_work() -> None:
    code, output = run("bench", "gallery", "--size", "x", "--json")
    assert code == 2 and "ConfigError" in output
    code, output = run("bench", "gallery", "--backend", "annoy", "--json")
    assert code == 2 and "unknown backend" in output


def test_gate_close_of_an_unknown_flight_is_a_clear_error(tmp_path: Path) -> None:
    env = {"BIOEXIT_GALLERIES__STATE_DIR": str(tmp_path)}
    code, output = run("gate", "close", "--flight", "NO1", "--json", env=env)
    assert code == 2 and "GalleryError" in output and "gate open" in output


@pytest.mark.slow
def test_gate_open_process_close_on_real_photos(faces_dir: Path, tmp_path: Path) -> None:
    rows = list(csv.DictReader((faces_dir / "labels.csv").open()))
    by_person: dict[str, list[str]] = {}
    for row in rows:
        if row["set"] == "deepface":
            by_person.setdefault(row["identity"], []).append(row["path"])
    people = sorted(p for p, paths in by_person.items() if len(paths) >= 2)[:5]
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["traveller_id", "document_photo"])
        for person in people[:4]:  # the fifth person is not on this flight
            writer.writerow([person.replace("/", "-"), str(faces_dir / by_person[person][0])])
    boarding = [str(faces_dir / by_person[p][1]) for p in people]
    env = {"BIOEXIT_GALLERIES__STATE_DIR": str(tmp_path / "state")}

    code, output = run("gate", "open", "--flight", "XY123", "--manifest", str(manifest), "--json", env=env)
    assert code == 0, output
    opened = json.loads(output)
    assert opened["enrolled"] == 4 and opened["threshold"]["gallery_size"] == 4

    code, output = run("gate", "process", "--flight", "XY123", *boarding, "--json", env=env)
    assert code == 0, output
    events = json.loads(output)
    outcomes = {Path(e["photo"]).name: e["outcome"] for e in events}
    assert list(outcomes.values()).count("departed") >= 3  # one photo may be of a format read_image refuses
    assert events[-1]["outcome"] in {"no-match", "unreadable"}  # not on the manifest

    code, output = run("gate", "close", "--flight", "XY123", "--json", env=env)
    assert code == 0, output
    report = json.loads(output)
    assert report["counts"]["departed"] >= 3 and report["counts"]["for_officer"] >= 1
    assert {d["traveller_id"] for d in report["departures"]} == {p.replace("/", "-") for p in people[:4]}
    code, output = run("gate", "process", "--flight", "XY123", boarding[0], "--json", env=env)
    assert code == 2 and "GalleryClosedError" in output


def test_thresholds_by_gallery_size() -> None:
    code, output = run("thresholds", "--sizes", "1,420,10000000", "--json")
    assert code == 0, output
    rows = json.loads(output)["thresholds"]
    assert not rows[0]["extrapolated"] and rows[1]["extrapolated"]
    assert rows[1]["threshold"] > rows[0]["threshold"] and rows[1]["fmr"] == pytest.approx(0.003 / 420)
    assert "below what bioexit extrapolates to" in rows[2]["refused"]


def test_bench_refuses_milvus_lite_beyond_small_galleries() -> None:
    code, output = run("bench", "gallery", "--size", "100000", "--backend", "milvus", "--json")
    assert code == 2 and "Milvus Lite is for tests" in output
