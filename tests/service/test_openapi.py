"""The committed OpenAPI document (docs/openapi.json) must match the app: CI fails on drift."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bioexit.cli import app
from bioexit.service.app import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_committed_openapi_document_matches_the_app() -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == openapi_document(), "run: bioexit openapi > docs/openapi.json"


def test_openapi_check_command_reports_drift(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["openapi", "--check", str(COMMITTED)]).exit_code == 0
    stale = tmp_path / "openapi.json"
    stale.write_text('{"openapi": "3.1.0"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["openapi", "--check", str(stale)])
    assert result.exit_code == 1 and "differs" in result.output


def test_every_operation_has_a_summary_and_a_description() -> None:
    document = openapi_document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary") and operation.get("description"), (method, path)
