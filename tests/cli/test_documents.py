"""``bioexit document read`` and ``bioexit document enrol``, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from tests.documents.test_mrz import SPECIMENS, replace
from typer.testing import CliRunner

from bioexit.cli import app

runner = CliRunner()
TD3 = " ".join(SPECIMENS["TD3"])


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.output


def test_read_json_masks_the_document_number() -> None:
    code, output = run("document", "read", TD3, "--json", "--today", "2010-01-01")
    assert code == 0, output
    body = json.loads(output)
    assert body["valid"] and body["format"] == "TD3" and body["kind"] == "passport"
    assert body["document_number"] == "******2C3" and body["document_number_revealed"] is False
    assert body["birth_date"] == "1974-08-12" and body["expiry_date"] == "2012-04-15"
    assert body["expired"] is False
    assert "L898902C3" not in output and "ZE184226B" not in output  # nor the personal number


def test_read_human_output_masks_too_and_reveal_shows_everything() -> None:
    code, output = run("document", "read", TD3)
    assert code == 0 and "******2C3" in output and "L898902C3" not in output
    code, output = run("document", "read", TD3, "--reveal", "--json")
    body = json.loads(output)
    assert body["document_number"] == "L898902C3" and body["optional_data_1"] == "ZE184226B"


def test_read_from_a_file_and_from_stdin(tmp_path: Path) -> None:
    zone = tmp_path / "zone.txt"
    zone.write_text("\n".join(SPECIMENS["TD1"]) + "\n")
    code, output = run("document", "read", str(zone), "--json")
    assert code == 0, output
    assert json.loads(output)["format"] == "TD1"
    code, output = run("document", "read", "-", "--json", stdin="\n".join(SPECIMENS["MRV-B"]))
    assert code == 0, output
    assert json.loads(output)["kind"] == "visa"


def test_read_with_a_stated_kind() -> None:
    td1 = " ".join(SPECIMENS["TD1"])
    code, output = run("document", "read", td1, "--kind", "border-crossing-card", "--json")
    assert code == 0 and json.loads(output)["kind"] == "border-crossing-card"
    code, output = run("document", "read", TD3, "--kind", "visa")
    assert code == 2 and "DocumentKindError" in output
    code, output = run("document", "read", TD3, "--kind", "spaceship")
    assert code == 2 and "unknown document kind" in output


def test_read_bad_check_digit_names_the_field_and_exits_2() -> None:
    bad = " ".join(replace(SPECIMENS["TD3"], 2, 20, "3"))
    code, output = run("document", "read", bad, "--json")
    assert code == 2
    assert "MRZCheckDigitError" in output and "date of birth check digit" in output
    assert "expected 2, got 3" in output
    assert "L898902C3" not in output


def test_read_wrong_shape_is_a_format_error() -> None:
    code, output = run("document", "read", SPECIMENS["TD3"][0], "--json")
    assert code == 2 and "MRZFormatError" in output


def test_read_refuses_an_image_file_with_a_pointer_to_enrol(tmp_path: Path) -> None:
    picture = tmp_path / "page.png"
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(picture)
    code, output = run("document", "read", str(picture))
    assert code == 2 and "is an image" in output and "document enrol" in output


def test_enrol_a_page_without_a_face_exits_2(tmp_path: Path) -> None:
    blank = tmp_path / "page.png"
    Image.fromarray(np.full((400, 600, 3), 255, np.uint8)).save(blank)
    code, output = run("document", "enrol", str(blank), "--json")
    assert code == 2 and "NoPortraitError" in output


def test_enrol_the_specimen_page_and_write_the_crop(shared_data: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "portrait.png"
    specimen = str(shared_data / "documents" / "passport-td3.jpg")
    code, output = run("document", "enrol", specimen, "--json")
    assert code == 0, output
    body = json.loads(output)
    assert body["source"] == "data-page" and body["usable_as_reference"] is True
    assert body["crop_written_to"] is None and not target.exists()
    code, output = run(
        "document",
        "enrol",
        str(shared_data / "documents" / "passport-td3.jpg"),
        "--out",
        str(target),
        "--json",
    )
    assert code == 0, output
    x1, y1, x2, y2 = json.loads(output)["crop_box"]
    assert Image.open(target).size == (x2 - x1, y2 - y1)


def test_enrol_a_chip(shared_data: Path, tmp_path: Path) -> None:
    page = Image.open(shared_data / "documents" / "passport-td2.jpg").convert("RGB")
    chip = tmp_path / "dg2.jp2"
    page.crop((60, 160, 440, 660)).save(chip, "JPEG2000")
    code, output = run("document", "enrol", str(chip), "--chip", "--json")
    assert code == 0, output
    body = json.loads(output)
    assert body["source"] == "chip" and body["mrz_band"] is None
    assert body["quality"]["inter_eye_distance"] > 60
