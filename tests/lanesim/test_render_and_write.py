"""Rendering and writing on drawn faces: determinism, schema, truth geometry, gallery, errors."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from bioexit.bench.dataset import load_dataset
from bioexit.encounters import parse_encounter
from bioexit.errors import DataError
from bioexit.imaging import read_image
from bioexit.lanesim import HARD, PARAMETER_NAMES
from bioexit.lanesim.render import render_frame
from bioexit.lanesim.scene import plan_vehicle
from bioexit.lanesim.writer import load_cast, simulate_lane, simulated_vehicles
from bioexit.settings import ImageLimits
from tests.lanesim.synthetic import drawn_face_detector, synthetic_folder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_folder(tmp_path_factory.mktemp("faces"))


@pytest.fixture(scope="module")
def simulated(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "out"
    simulate_lane(
        folder,
        out,
        vehicles=6,
        seed=4,
        difficulty="hard",
        detector=drawn_face_detector(),
        limits=ImageLimits(),
    )
    return out


def test_every_encounter_validates_and_names_existing_frames(simulated: Path) -> None:
    encounters = simulated_vehicles(simulated)
    assert len(encounters) == 6
    for folder in encounters:
        encounter = parse_encounter((folder / "encounter.json").read_text(encoding="utf-8"))
        assert encounter.encounter_id == folder.name
        for frame in encounter.frames:
            assert encounter.camera(frame.camera_id) is not None
            image = read_image(folder / frame.file, limits=ImageLimits())
            assert image.shape == (1080, 1920, 3)


def test_truth_boxes_lie_inside_frames_and_faces_grow_as_the_vehicle_nears(simulated: Path) -> None:
    for folder in simulated_vehicles(simulated):
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
        assert truth["difficulty"] == "hard"
        assert 1 <= truth["occupant_count"] == len(truth["occupants"]) <= 7
        heights: dict[tuple[str, int], list[float]] = defaultdict(list)
        for frame in truth["frames"]:
            assert set(frame["degradations"]) == {
                "tint",
                "glare",
                "motion_blur_px",
                "noise_sigma",
                "light_gain",
                "jpeg_quality",
            }
            for face in frame["faces"]:
                x1, y1, x2, y2 = face["box"]
                assert 0 <= x1 < x2 <= 1920 and 0 <= y1 < y2 <= 1080
                assert 0.0 <= face["visible"] <= 1.0
                if face["kind"] == "occupant" and not face["truncated"]:
                    heights[(frame["camera_id"], face["ref"])].append(y2 - y1)
        assert heights, "no occupant face in any frame"
        for series in heights.values():
            assert series == sorted(series) and series[-1] > series[0] * 1.3


def test_gallery_holds_set_aside_photos_that_never_appear_as_probes(folder: Path, simulated: Path) -> None:
    gallery = json.loads((simulated / "gallery" / "gallery.json").read_text(encoding="utf-8"))
    summary = json.loads((simulated / "simulation.json").read_text(encoding="utf-8"))
    people = gallery["people"]
    assert 0 < len(people) < summary["counts"]["people"]  # someone is not enrolled
    numbers = [p["document_number"] for p in people.values()]
    assert len(set(numbers)) == len(numbers)
    assert {p["citizenship"] for p in people.values()} <= {"citizen", "non-citizen"}
    for entry in people.values():
        assert (simulated / "gallery" / entry["photo"]).is_file()
    cast = load_cast(load_dataset(folder), 4, drawn_face_detector(), ImageLimits())
    documents = {str(p) for p in cast.document_photos.values()}
    probes = {str(folder / s.key) for s in cast.sources}
    assert documents and not documents & probes
    for encounter in simulated_vehicles(simulated):
        truth = json.loads((encounter / "truth.json").read_text(encoding="utf-8"))
        for occupant in truth["occupants"]:
            assert str(folder / occupant["probe_photo"]) not in documents
            assert occupant["enrolled"] == (occupant["person_id"] in people)
        for document in truth["documents"]:
            assert people[document["person_id"]]["document_number"] == document["document_number"]
        encounter_json = json.loads((encounter / "encounter.json").read_text(encoding="utf-8"))
        assert [d["document_number"] for d in encounter_json["documents"]] == [
            d["document_number"] for d in truth["documents"]
        ]


def test_the_same_seed_gives_the_same_bytes(folder: Path, tmp_path: Path) -> None:
    kwargs = {"vehicles": 2, "seed": 9, "difficulty": "hard", "detector": drawn_face_detector()}
    simulate_lane(folder, tmp_path / "a", limits=ImageLimits(), **kwargs)  # type: ignore[arg-type]
    simulate_lane(folder, tmp_path / "b", limits=ImageLimits(), **kwargs)  # type: ignore[arg-type]
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        if rel.name == "simulation.json":
            continue  # holds timings
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_rendering_is_deterministic_and_seeds_differ(folder: Path) -> None:
    cast = load_cast(load_dataset(folder), 1, drawn_face_detector(), ImageLimits())
    plan = plan_vehicle(0, 1, HARD, cast.people, "t")
    first = render_frame(plan, plan.frames[-1], cast.sources)
    again = render_frame(plan, plan.frames[-1], cast.sources)
    assert np.array_equal(first.image, again.image) and first.faces == again.faces
    other = plan_vehicle(0, 2, HARD, cast.people, "t")
    assert not np.array_equal(render_frame(other, other.frames[-1], cast.sources).image, first.image)


def test_refuses_a_non_empty_output_folder_and_zero_vehicles(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(DataError, match="not empty"):
        simulate_lane(
            folder,
            tmp_path,
            vehicles=1,
            seed=0,
            difficulty="easy",
            detector=drawn_face_detector(),
            limits=ImageLimits(),
        )
    assert (tmp_path / "old.txt").read_text(encoding="utf-8") == "keep me"
    with pytest.raises(DataError, match="vehicles"):
        simulate_lane(
            folder,
            tmp_path / "new",
            vehicles=0,
            seed=0,
            difficulty="easy",
            detector=drawn_face_detector(),
            limits=ImageLimits(),
        )


def test_the_doc_describes_every_parameter() -> None:
    doc = (ROOT / "docs" / "lane-simulator.md").read_text(encoding="utf-8")
    missing = [name for name in PARAMETER_NAMES if f"`{name}`" not in doc]
    assert missing == []


def test_a_folder_without_vehicles_is_refused(tmp_path: Path) -> None:
    (tmp_path / "gallery").mkdir()
    with pytest.raises(DataError, match="no simulated vehicles"):
        simulated_vehicles(tmp_path)
