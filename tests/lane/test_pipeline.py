"""The lane on real faces: occupants, non-occupants, bad frames, idempotency, the CLI."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from tests.lane.scenes import Person, Placement, Scene, people, write_gallery, write_vehicle
from typer.testing import CliRunner

from bioexit.cli import app
from bioexit.lane.frames import read_encounter, read_frames
from bioexit.lane.gallery import LaneGallery, read_gallery
from bioexit.lane.pipeline import LanePipeline, build_pipeline, process, process_folder
from bioexit.lane.store import ResultStore
from bioexit.settings import Settings, load_settings

# Three occupants (two front, one smaller behind them), a poster of person 3 (enrolled!) on the
# booth wall, and person 4's face printed on the driver's shirt.
SCENE = Scene(
    [
        Placement(0, 800, 520, 70),
        Placement(1, 1130, 520, 70),
        Placement(2, 965, 470, 60, hidden_in=frozenset({2})),
        Placement(3, 250, 250, 90, moves=False),
        Placement(4, 800, 660, 40),
    ]
)


@pytest.fixture(scope="module")
def cast(faces_dir: Path) -> tuple[Person, ...]:
    return people(faces_dir)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="module")
def pipeline(settings: Settings) -> LanePipeline:
    return build_pipeline(settings)


@pytest.fixture(scope="module")
def lane_dirs(tmp_path_factory: pytest.TempPathFactory, cast: tuple[Person, ...]) -> Path:
    root = tmp_path_factory.mktemp("lane")
    write_gallery(root / "gallery", cast)
    write_vehicle(root / "gallery-mode", "veh-g", SCENE, cast)
    documented = Scene(SCENE.placements, documents=(1, 0, 5))  # person 5's document, nobody's face
    write_vehicle(root / "documents-mode", "veh-d", documented, cast)
    return root


@pytest.fixture(scope="module")
def gallery(lane_dirs: Path, pipeline: LanePipeline, settings: Settings) -> LaneGallery:
    return read_gallery(lane_dirs / "gallery", pipeline.engine, settings.images)


def _identities(result_json: dict) -> list[tuple[str, str | None]]:
    return [(o["status"], o["identity"]) for o in result_json["occupants"]]


@pytest.mark.parametrize("regions", [True, False])
def test_occupants_found_and_non_occupants_rejected(
    regions: bool,
    lane_dirs: Path,
    gallery: LaneGallery,
    pipeline: LanePipeline,
    settings: Settings,
    cast: tuple[Person, ...],
) -> None:
    used = dataclasses.replace(pipeline, regions=regions)
    result, _ = process_folder(lane_dirs / "gallery-mode", gallery, used, None, settings)
    body = json.loads(result.to_json())
    assert result.mode == "gallery"
    assert result.occupant_count == 3
    # Searching only the moving vehicle never even finds the poster on the wall; searching the
    # whole frame finds it and rejects it because it does not grow with the vehicle.
    expected = ["on_clothing"] if regions else ["on_clothing", "static"]
    assert sorted(r.reason for r in result.rejected) == expected
    confirmed = {o.identity for o in result.occupants if o.status == "confirmed"}
    # The rear passenger, hidden in one frame, passes the profile only in the last, largest frames.
    assert confirmed == {cast[0].identity, cast[1].identity, cast[2].identity}, _identities(body)
    assert result.all_confirmed
    assert [d.identity for d in result.departures] == [o.identity for o in result.occupants if o.identity]
    # Nobody on a poster or a shirt departs.
    assert not confirmed & {cast[3].identity, cast[4].identity}


def test_documents_are_assigned_one_to_one(
    lane_dirs: Path,
    gallery: LaneGallery,
    pipeline: LanePipeline,
    settings: Settings,
    cast: tuple[Person, ...],
) -> None:
    result, _ = process_folder(lane_dirs / "documents-mode", gallery, pipeline, None, settings)
    assert result.mode == "documents"
    by_identity = {o.identity: o for o in result.occupants if o.status == "confirmed"}
    assert set(by_identity) == {cast[0].identity, cast[1].identity}
    assert by_identity[cast[1].identity].document == 0
    assert by_identity[cast[0].identity].document == 1
    assert result.unmatched_documents == (2,)
    # The rear passenger presented no document: an officer decides, nobody departs on a guess.
    (rear,) = [o for o in result.occupants if o.status != "confirmed"]
    assert rear.status == "no_match" and rear.identity is None
    assert not result.all_confirmed


def test_bad_frames_are_reported_and_the_rest_is_processed(
    tmp_path: Path, lane_dirs: Path, gallery: LaneGallery, pipeline: LanePipeline, settings: Settings
) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(lane_dirs / "gallery-mode", folder)
    encounter = json.loads((folder / "encounter.json").read_text())
    frames = encounter["frames"]
    (folder / frames[1]["file"]).unlink()  # missing
    data = (folder / frames[2]["file"]).read_bytes()
    (folder / frames[2]["file"]).write_bytes(data[: len(data) // 2])  # truncated
    (folder / frames[3]["file"]).write_bytes(b"not an image at all")  # corrupt
    frames.append({**frames[4], "camera_id": "cam-x"})  # a camera the encounter does not list
    (folder / "encounter.json").write_text(json.dumps(encounter))

    result, _ = process_folder(folder, gallery, pipeline, None, settings)
    errors = {e.frame: e.error for e in result.frame_errors}
    assert errors == {
        1: "MissingFrameError",
        2: "TruncatedImageError",
        3: "UnsupportedImageError",
        5: "UnknownCameraError",
    }
    assert all(e.message for e in result.frame_errors)
    assert result.frames_used == 2
    # The two good frames still give the two front occupants and a confirmed departure.
    assert result.occupant_count >= 2
    assert any(o.status == "confirmed" for o in result.occupants)


def test_missing_encounter_json_is_a_clear_error(tmp_path: Path) -> None:
    from bioexit.errors import EncounterFormatError

    with pytest.raises(EncounterFormatError, match=r"encounter\.json"):
        read_encounter(tmp_path)
    (tmp_path / "encounter.json").write_text("{not json")
    with pytest.raises(EncounterFormatError, match="not JSON"):
        read_encounter(tmp_path)


def test_processing_twice_gives_one_result(
    tmp_path: Path, lane_dirs: Path, gallery: LaneGallery, pipeline: LanePipeline, settings: Settings
) -> None:
    store = ResultStore(tmp_path / "results")
    first, stored_before = process_folder(lane_dirs / "gallery-mode", gallery, pipeline, store, settings)
    second, stored_again = process_folder(lane_dirs / "gallery-mode", gallery, pipeline, store, settings)
    assert (stored_before, stored_again) == (False, True)
    assert second == first
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["veh-g.json"]
    # A racing writer that computed its own result still gets the first one back.
    encounter = read_encounter(lane_dirs / "gallery-mode")
    again = process(
        encounter, read_frames(lane_dirs / "gallery-mode", encounter, settings.images), gallery, pipeline
    )
    kept, existed = store.put(again)
    assert existed and kept == first


def test_cli_process_prints_json_and_stores(tmp_path: Path, lane_dirs: Path) -> None:
    runner = CliRunner()
    args = ["lane", "process", str(lane_dirs / "documents-mode"), "--gallery", str(lane_dirs / "gallery")]
    result = runner.invoke(app, [*args, "--results", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["encounter_id"] == "veh-d" and body["occupant_count"] == 3
    assert (tmp_path / "veh-d.json").is_file()
    missing = runner.invoke(app, ["lane", "process", str(tmp_path / "nowhere"), "--gallery", str(tmp_path)])
    assert missing.exit_code == 2
    assert "EncounterFormatError" in missing.output


def test_the_pipeline_takes_its_profile_from_the_settings_for_its_detector() -> None:
    from bioexit.errors import ConfigError
    from bioexit.quality import LANE_V0, LANE_V1

    assert build_pipeline(load_settings()).profile is LANE_V1
    # v1's limit is on MTCNN's confidence: another detector's scores are on another scale.
    assert build_pipeline(load_settings(detector={"kind": "dlib-hog"})).profile is LANE_V0
    mismatched = load_settings(detector={"kind": "dlib-hog"}, lane={"quality_profile": "bioexit-lane-v1"})
    with pytest.raises(ConfigError, match="limits the mtcnn detector's confidence"):
        build_pipeline(mismatched)
