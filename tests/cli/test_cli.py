"""The command line, run in-process through Typer's runner."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from bioexit.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_info_reports_settings_and_calibration_points_as_json() -> None:
    code, output = run("info", "--json")
    assert code == 0, output
    body = json.loads(output)
    assert body["settings"]["detector"]["kind"] == "mtcnn"
    points = {p["fmr"]: p for p in body["calibration"]["points"]}
    assert points[0.001]["supported"] and not points[1e-05]["supported"]


def test_bad_config_is_a_clear_error_with_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[matching]\nthreshold = 0.4\n")
    code, output = run("--config", str(config), "info")
    assert code == 2
    assert "ConfigError" in output and "threshold" in output


def test_detect_refuses_a_corrupt_image_with_a_typed_error(tmp_path: Path) -> None:
    bad = tmp_path / "frame.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    code, output = run("detect", str(bad), "--json")
    assert code == 2
    assert "TruncatedImageError" in output or "ImageDecodeError" in output


def test_detect_on_a_blank_frame_finds_nothing(tmp_path: Path) -> None:
    frame = tmp_path / "blank.png"
    Image.fromarray(np.full((270, 480, 3), 128, np.uint8)).save(frame)
    code, output = run("detect", str(frame), "--json")
    assert code == 0, output
    assert json.loads(output) == []


def test_bench_without_data_folder_says_what_to_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIOEXIT_DATA_DIR", raising=False)
    code, output = run("bench", "faces", "--json")
    assert code == 2
    assert "--data DIR" in output


@pytest.fixture
def small_faces(faces_dir: Path, tmp_path: Path) -> Path:
    """Two photos each of three people, plus one group photo, as a labelled folder."""
    rows = list(csv.DictReader((faces_dir / "labels.csv").open()))
    chosen: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        if row["set"] == "ageitgey" or len(chosen.get(row["identity"], [])) >= 2:
            continue
        chosen.setdefault(row["identity"], []).append(row)
    people = [p for p in chosen.values() if len(p) == 2][:3]
    root = tmp_path / "faces"
    root.mkdir()
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "identity", "set"])
        for person in people:
            for row in person:
                target = root / row["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(faces_dir / row["path"])
                writer.writerow([row["path"], row["identity"], row["set"]])
    (root / "groups").mkdir()
    (root / "groups" / "bald_guys.jpg").symlink_to(faces_dir / "groups" / "bald_guys.jpg")
    return root


@pytest.mark.slow
def test_demo_enrols_one_photo_per_person_and_identifies_the_rest(small_faces: Path) -> None:
    code, output = run("demo", "--data", str(small_faces), "--json")
    assert code == 0, output
    body = json.loads(output)
    assert body["enrolled"] == 3
    assert body["probes"] == 3
    assert body["correct_matches"] == 3 and body["false_matches"] == 0
    assert body["group_faces"] >= 20  # 25 people in bald_guys.jpg
    assert body["group_faces_matched"] == 0  # none of them is enrolled


@pytest.mark.slow
def test_bench_faces_prints_the_documented_keys_and_writes_a_det_plot(
    small_faces: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bench"
    code, output = run(
        "bench", "faces", "--data", str(small_faces), "--widths", "24,48", "--out", str(out), "--json"
    )
    assert code == 0, output
    body = json.loads(output[output.index("{") :])
    for key in (
        "recall_by_width",
        "ms_per_frame_1080p",
        "tar_at_far",
        "eer",
        "failures_to_detect",
        "ms_per_embedding",
    ):
        assert key in body
    assert set(body["recall_by_width"]) == {"24", "48"}
    assert set(body["tar_at_far"]) == {"0.01", "0.001"}
    assert body["backends"]["mtcnn"]["faces_per_width"] == {"24": 6, "48": 6}
    assert (out / "det_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "result.json").read_text()) == body


@pytest.mark.slow
def test_verify_same_and_different_people_and_refuses_an_unbacked_fmr(faces_dir: Path) -> None:
    rows = list(csv.DictReader((faces_dir / "labels.csv").open()))
    by_person: dict[str, list[Path]] = {}
    for row in rows:
        if row["set"] == "deepface":
            by_person.setdefault(row["identity"], []).append(faces_dir / row["path"])
    first, second = list(by_person.values())[:2]
    code, output = run("verify", str(first[0]), str(first[1]), "--json")
    assert code == 0, output
    same = json.loads(output)
    assert same["match"] is True and same["fmr"] == 0.001
    code, output = run("verify", str(first[0]), str(second[0]), "--json")
    assert code == 0, output
    assert json.loads(output)["match"] is False
    code, output = run("verify", str(first[0]), str(first[1]), "--fmr", "1e-5")
    assert code == 2
    assert "UnsupportedFMRError" in output and "impostor pairs" in output


def test_a_missing_image_is_a_typed_error_not_a_traceback(tmp_path: Path) -> None:
    code, output = run("detect", str(tmp_path / "absent[1].jpg"))
    assert code == 2
    assert "ImageFileError" in output and "absent[1].jpg" in output


@pytest.mark.parametrize(
    ("option", "spec"),
    [
        ("--compare", "retinaface"),
        ("--compare", "dlib-hog,upsample=9"),
        ("--compare-embedder", "dlib-resnet,jit"),
    ],
)
def test_bad_compare_specs_are_config_errors(tmp_path: Path, option: str, spec: str) -> None:
    (tmp_path / "labels.csv").write_text("path,identity\n")
    code, output = run("bench", "faces", "--data", str(tmp_path), option, spec)
    assert code == 2
    assert "ConfigError" in output and "KIND[,key=value...]" in output
