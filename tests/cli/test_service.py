"""bioexit users / keys issue|revoke|devices against a real records database (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bioexit.cli import app

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def records_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BIOEXIT_RECORDS__DATA_DIR", str(tmp_path))
    return tmp_path


def _json(args: list[str], stdin: str | None = None) -> object:
    result = CliRunner().invoke(app, [*args, "--json"], input=stdin)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_users_add_list_disable() -> None:
    added = _json(
        ["users", "add", "olivia", "--roles", "officer", "--ports", "P1,P2", "--password-stdin"], PASSWORD
    )
    assert added == {"username": "olivia", "roles": ["officer"]}
    _json(
        ["users", "add", "sam", "--roles", "supervisor,auditor", "--all-ports", "--password-stdin"], PASSWORD
    )
    listed = _json(["users", "list"])
    assert listed == [
        {"username": "olivia", "roles": ["officer"], "ports": ["P1", "P2"], "disabled": False},
        {"username": "sam", "roles": ["auditor", "supervisor"], "ports": "*", "disabled": False},
    ]
    _json(["users", "disable", "olivia"])
    assert _json(["users", "list"])[0]["disabled"] is True  # type: ignore[index]


@pytest.mark.parametrize(
    ("roles", "password", "message"),
    [
        ("pilot", PASSWORD, "unknown role"),
        ("lane-device", PASSWORD, "API keys"),
        ("officer", "short", "too short"),
    ],
)
def test_users_add_refuses_bad_input(roles: str, password: str, message: str) -> None:
    result = CliRunner().invoke(
        app, ["users", "add", "x", "--roles", roles, "--password-stdin"], input=password
    )
    assert result.exit_code == 2
    assert message in result.output


def test_device_keys_are_shown_once_and_can_be_revoked() -> None:
    issued = _json(["keys", "issue", "--device", "P1-lane-3", "--ports", "P1"])
    assert isinstance(issued, dict) and issued["api_key"].startswith("bxk_")
    devices = _json(["keys", "devices"])
    assert devices == [{"key_id": issued["key_id"], "device": "P1-lane-3", "ports": ["P1"], "revoked": False}]
    assert issued["api_key"] not in json.dumps(devices)
    _json(["keys", "revoke", issued["key_id"]])
    assert _json(["keys", "devices"])[0]["revoked"] is True  # type: ignore[index]
