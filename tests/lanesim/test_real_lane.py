"""Accuracy floors on lanes simulated from the shared real faces (not timing).

One cast (the default MTCNN crops every probe photo once) serves both simulations.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bioexit.bench.dataset import load_dataset
from bioexit.bench.quality import Scan, calibrate_profile, detection_summary, profile_report, scan_simulation
from bioexit.engine import FaceEngine, build_matcher
from bioexit.lanesim.writer import Cast, load_cast, write_simulation
from bioexit.quality import DEFAULT_PROFILE
from bioexit.settings import Settings

pytestmark = pytest.mark.slow
SEED = 3


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="module")
def engine(settings: Settings) -> FaceEngine:
    return FaceEngine.from_settings(settings)


@pytest.fixture(scope="module")
def cast(faces_dir: Path, engine: FaceEngine, settings: Settings) -> Cast:
    return load_cast(load_dataset(faces_dir), SEED, engine.detector, settings.images)


def _simulate(
    cast: Cast,
    root: Path,
    difficulty: str,
    vehicles: int,
    settings: Settings,
    engine: FaceEngine,
    embed: bool,
) -> Scan:
    out = root / difficulty
    level = "easy" if difficulty == "easy" else "hard"
    write_simulation(cast, out, vehicles=vehicles, seed=SEED, difficulty=level, limits=settings.images)
    return scan_simulation(out, engine.detector, settings.images, engine=engine if embed else None)


def test_every_probe_photo_gives_a_face(cast: Cast) -> None:
    assert cast.probes_without_face == ()
    assert len(cast.sources) + len(cast.document_photos) == 130


@pytest.fixture(scope="module")
def easy(
    cast: Cast, tmp_path_factory: pytest.TempPathFactory, settings: Settings, engine: FaceEngine
) -> Scan:
    return _simulate(cast, tmp_path_factory.mktemp("lane"), "easy", 8, settings, engine, embed=True)


@pytest.fixture(scope="module")
def hard(
    cast: Cast, tmp_path_factory: pytest.TempPathFactory, settings: Settings, engine: FaceEngine
) -> Scan:
    return _simulate(cast, tmp_path_factory.mktemp("lane"), "hard", 8, settings, engine, embed=True)


@pytest.fixture(scope="module")
def threshold(settings: Settings, engine: FaceEngine) -> float:
    return build_matcher(settings, engine.embedder.info, 1e-3).threshold


def test_the_default_detector_finds_front_row_faces_in_easy_frames(easy: Scan) -> None:
    summary = detection_summary(easy)
    front = summary["occupant_recall_by_row"]["1"]
    assert front["faces"] >= 50
    assert front["recall"] >= 0.95, summary
    assert front["clear_recall"] >= 0.97, summary
    # Rear rows are hidden in part; clearly visible rear faces are still found.
    rear = [summary["occupant_recall_by_row"][r] for r in ("2", "3")]
    clear = sum(r["clear_faces"] for r in rear)
    found = sum(r["clear_faces"] * (r["clear_recall"] or 0) for r in rear)
    assert clear == 0 or found / clear >= 0.9, summary


def test_front_row_captures_passing_the_default_profile_match_at_fmr_1e3_with_fnmr_at_most_1_percent(
    easy: Scan, threshold: float
) -> None:
    front = [c for c in easy.captures if c.row == 1]
    report = profile_report(front, threshold, DEFAULT_PROFILE)
    assert report["passing"] >= 30, report  # enough pass for the floor to mean something
    assert report["fnmr_of_passing"] <= 0.01, report


def test_on_hard_frames_the_default_profile_keeps_captures_that_match_better_than_the_rest(
    hard: Scan, threshold: float
) -> None:
    report = profile_report(hard.captures, threshold, DEFAULT_PROFILE)
    assert report["passing"] >= 20, report
    # With the windshield camera on its pole, hard captures fail far less often overall (about
    # 6 % on these 8 vehicles), so passing ones are held to "better", not "twice as good".
    assert report["fnmr_of_passing"] < report["fnmr_all"], report


def test_calibration_on_hard_frames_lowers_the_fnmr_of_what_passes(hard: Scan, threshold: float) -> None:
    mated = [c for c in hard.captures if c.genuine is not None]
    matched = [c.genuine is not None and c.genuine >= threshold for c in mated]
    calibration = calibrate_profile(
        [c.quality for c in mated],
        matched,
        name="test",
        require_eyes_visible=True,
        groups=[f"{c.encounter_id}/{c.person_id}" for c in mated],
    )
    open_fnmr = 1 - sum(matched) / len(matched)
    assert calibration.total == len(mated) and calibration.passing > 0
    assert calibration.fnmr <= open_fnmr
    if calibration.steps:
        assert calibration.fnmr < open_fnmr
