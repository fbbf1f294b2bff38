"""Shared fixtures: where the real test data and optional models live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _locate(env: str, default: Path) -> Path | None:
    value = os.environ.get(env)
    path = Path(value) if value else default
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or $BIOEXIT_TEST_DATA); skips the test where it is absent."""
    path = _locate("BIOEXIT_TEST_DATA", ROOT.parent / "shared" / "data")
    if path is None:
        pytest.skip("real test data absent: set BIOEXIT_TEST_DATA or provide ../shared/data")
    return path


@pytest.fixture(scope="session")
def faces_dir(shared_data: Path) -> Path:
    path = shared_data / "faces"
    if not (path / "labels.csv").is_file():
        pytest.skip(f"labelled faces absent: expected {path}/labels.csv")
    return path


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """``../shared/models`` (or $BIOEXIT_TEST_MODELS); skips the test where it is absent."""
    path = _locate("BIOEXIT_TEST_MODELS", ROOT.parent / "shared" / "models")
    if path is None:
        pytest.skip("optional ONNX models absent: set BIOEXIT_TEST_MODELS or provide ../shared/models")
    return path
