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


@pytest.fixture(scope="session")
def simulated_lane(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four easy vehicles simulated from the real faces (seed 11), with their document gallery.

    Shared by the records wiring, service and browser tests; the cast is detected once.
    """
    from bioexit.bench.dataset import load_dataset
    from bioexit.engine import build_detector
    from bioexit.lanesim.writer import load_cast, write_simulation
    from bioexit.settings import Settings

    settings = Settings()
    cast = load_cast(load_dataset(faces_dir), 11, build_detector(settings.detector), settings.images)
    out = tmp_path_factory.mktemp("lane") / "sim"
    write_simulation(cast, out, vehicles=4, seed=11, difficulty="easy", limits=settings.images)
    return out


def vehicle_folders(lane: Path) -> list[Path]:
    return sorted(p for p in lane.iterdir() if (p / "encounter.json").is_file())
