"""Run the lane simulator over a labelled face folder and write encounters, truth and gallery to disk.

Layout of ``OUT``::

    simulation.json                 seed, difficulty, parameters, counts
    gallery/gallery.json            person id → document photo, number, kind, citizenship
    gallery/photos/<person>.jpg     the document photos (set aside: never used as probes)
    <encounter_id>/encounter.json   bioexit.encounter/1 (what a lane would send)
    <encounter_id>/frames/*.jpg     1920×1080 JPEG frames
    <encounter_id>/truth.json       ground truth, never read by the pipeline
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np

from bioexit.bench.dataset import FaceDataset, load_dataset, read_dataset_image
from bioexit.detection.types import Detector, RGBImage
from bioexit.encounters import ENCOUNTER_FILE, Camera, DocumentRead, Encounter, FrameRef
from bioexit.errors import DataError
from bioexit.lanesim.params import Difficulty, LaneSimParams, params_for
from bioexit.lanesim.render import RenderedFrame, render_frame
from bioexit.lanesim.scene import (
    DOCUMENT_KINDS_CITIZEN,
    DOCUMENT_KINDS_NON_CITIZEN,
    ISSUING_STATES,
    SEAT_NAMES,
    Person,
    VehiclePlan,
    document_number,
    plan_vehicle,
)
from bioexit.lanesim.sources import (
    CastSplit,
    FaceSource,
    make_source,
    person_id,
    shrink_for_detection,
    split_cast,
)
from bioexit.settings import ImageLimits

TRUTH_FILE: Final = "truth.json"
TRUTH_SCHEMA: Final = "bioexit.lanesim.truth/1"
GALLERY_SCHEMA: Final = "bioexit.lanesim.gallery/1"
SIMULATION_SCHEMA: Final = "bioexit.lanesim.simulation/1"
GALLERY_DIR: Final = "gallery"
PORT: Final = "SIM-PORT"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Cast:
    """The people of a simulation and the probe faces the vehicles are built from."""

    people: tuple[Person, ...]
    sources: tuple[FaceSource, ...]
    document_photos: dict[str, Path]  # person id → document photo file in the face folder
    probes_without_face: tuple[str, ...]


def build_cast(
    split: CastSplit,
    sources: Sequence[FaceSource],
    rng: np.random.Generator,
    document_photos: dict[str, Path] | None = None,
) -> tuple[Person, ...]:
    """People in identity order; each enrolled one gets a document number, kind and issuing state."""
    by_identity: dict[str, list[int]] = {}
    for index, source in enumerate(sources):
        by_identity.setdefault(source.identity, []).append(index)
    people: list[Person] = []
    numbers: set[str] = set()
    for identity in split.identities:
        citizen = bool(rng.random() < 0.5)
        enrolled = identity in split.enrolled
        number = kind = state = None
        if enrolled:
            number = document_number(rng)
            while number in numbers:
                number = document_number(rng)
            numbers.add(number)
            kinds = DOCUMENT_KINDS_CITIZEN if citizen else DOCUMENT_KINDS_NON_CITIZEN
            kind = kinds[int(rng.integers(len(kinds)))]
            state = (
                ISSUING_STATES[0]
                if citizen
                else ISSUING_STATES[1 + int(rng.integers(len(ISSUING_STATES) - 1))]
            )
        people.append(
            Person(
                identity=identity,
                person_id=person_id(identity),
                enrolled=enrolled,
                probes=tuple(by_identity.get(identity, ())),
                document_number=number,
                document_kind=kind,
                issuing_state=state,
                citizenship="citizen" if citizen else "non-citizen",
            )
        )
    return tuple(people)


def load_cast(
    dataset: FaceDataset,
    seed: int,
    detector: Detector,
    limits: ImageLimits,
    progress: Progress | None = None,
) -> Cast:
    """Split the folder, crop the largest face of every probe photo, number the documents."""
    rng = np.random.default_rng([seed, 0xCA57])
    photos: dict[str, list[str]] = {}
    paths = {}
    for image in dataset.images:
        key = image.path.relative_to(dataset.root).as_posix()
        photos.setdefault(image.identity, []).append(key)
        paths[key] = image.path
    split = split_cast(photos, rng)
    sources: list[FaceSource] = []
    missing: list[str] = []
    probe_keys = [(identity, key) for identity in split.identities for key in split.probes[identity]]
    for step, (identity, key) in enumerate(probe_keys):
        photo = shrink_for_detection(read_dataset_image(paths[key], limits))
        faces = detector.detect(photo)
        if faces:
            largest = max(faces, key=lambda d: d.width * d.height)
            sources.append(make_source(key, identity, photo, largest))
        else:
            missing.append(key)
        if progress:
            progress("probe faces", step + 1, len(probe_keys))
    people = build_cast(split, sources, rng)
    documents = {person_id(identity): paths[key] for identity, key in split.documents.items()}
    return Cast(people, tuple(sources), documents, tuple(missing))


# --- writing ---------------------------------------------------------------------------------------


def _jpeg(image: RGBImage, quality: int) -> bytes:
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise DataError("JPEG encoding failed", expected="an encodable frame", got=image.shape)
    return bytes(data.tobytes())


def simulated_vehicles(out: Path) -> list[Path]:
    """The vehicle folders of the simulation in ``out``, in encounter order."""
    folders = sorted(p.parent for p in out.glob(f"*/{TRUTH_FILE}"))
    if not folders:
        raise DataError("no simulated vehicles", expected=f"folders with {TRUTH_FILE} in {out}", got="none")
    return folders


def write_gallery(out: Path, cast: Cast, limits: ImageLimits) -> dict[str, Any]:
    folder = out / GALLERY_DIR / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    people: dict[str, Any] = {}
    for person in cast.people:
        if not person.enrolled:
            continue
        # Re-encoded, so that the file's extension matches its bytes (the shared set has WebP in .jpg).
        photo = read_dataset_image(cast.document_photos[person.person_id], limits)
        name = f"photos/{person.person_id}.jpg"
        (out / GALLERY_DIR / name).write_bytes(_jpeg(photo, 95))
        people[person.person_id] = {
            "photo": name,
            "document_number": person.document_number,
            "document_kind": person.document_kind,
            "issuing_state": person.issuing_state,
            "citizenship": person.citizenship,
        }
    gallery = {"schema": GALLERY_SCHEMA, "people": people}
    (out / GALLERY_DIR / "gallery.json").write_text(json.dumps(gallery, indent=2) + "\n", encoding="utf-8")
    return gallery


def frame_file(plan: VehiclePlan, frame: RenderedFrame) -> str:
    return f"frames/{plan.cameras[frame.plan.camera].camera_id}-{frame.plan.index:02d}.jpg"


def encounter_for(plan: VehiclePlan, people: Sequence[Person]) -> Encounter:
    frames = tuple(
        FrameRef(
            camera_id=plan.cameras[f.camera].camera_id,
            file=f"frames/{plan.cameras[f.camera].camera_id}-{f.index:02d}.jpg",
            captured_at=plan.started_at + timedelta(seconds=f.time_s),
        )
        for f in plan.frames
    )
    documents = tuple(
        DocumentRead(
            source="card_reader",
            document_number=people[p].document_number or "",
            issuing_state=people[p].issuing_state,
        )
        for p in plan.documents
    )
    return Encounter.model_validate(
        {
            "schema": "bioexit.encounter/1",
            "encounter_id": plan.encounter_id,
            "port": PORT,
            "lane": plan.lane,
            "direction": "outbound",
            "started_at": plan.started_at,
            "cameras": tuple(Camera(camera_id=c.camera_id, position=c.position) for c in plan.cameras),
            "frames": frames,
            "documents": documents,
            "plate": plan.plate,
        }
    )


def truth_for(
    plan: VehiclePlan, frames: Sequence[RenderedFrame], cast: Cast, difficulty: Difficulty, seed: int
) -> dict[str, Any]:
    people = cast.people
    documented = set(plan.documents)

    def who(kind: str, ref: int) -> str | None:
        if kind == "occupant":
            return people[plan.occupants[ref].person].person_id
        source = plan.distractors[ref].source
        return None if source is None else person_id(cast.sources[source].identity)

    return {
        "schema": TRUTH_SCHEMA,
        "encounter_id": plan.encounter_id,
        "difficulty": difficulty,
        "seed": seed,
        "vehicle_index": plan.index,
        "occupant_count": len(plan.occupants),
        "rows": plan.rows,
        "occupants": [
            {
                "index": k,
                "person_id": people[o.person].person_id,
                "identity": people[o.person].identity,
                "row": o.row,
                "seat": o.seat,
                "seat_name": SEAT_NAMES[(o.row, o.seat)],
                "enrolled": people[o.person].enrolled,
                "document_read": o.person in documented,
                "citizenship": people[o.person].citizenship,
                "probe_photo": cast.sources[o.source].key,
                "hat": o.hat is not None,
                "sunglasses": o.sunglasses,
            }
            for k, o in enumerate(plan.occupants)
        ],
        "distractors": [
            {
                "index": d,
                "kind": x.kind,
                "person_id": None if x.source is None else person_id(cast.sources[x.source].identity),
                "camera_id": None if x.camera is None else plan.cameras[x.camera].camera_id,
                "occupant": x.occupant,
            }
            for d, x in enumerate(plan.distractors)
        ],
        "documents_included": plan.documents_included,
        "documents": [
            {
                "person_id": people[p].person_id,
                "document_number": people[p].document_number,
                "in_vehicle": any(o.person == p for o in plan.occupants),
            }
            for p in plan.documents
        ],
        "conditions": {"tint": round(plan.tint, 3), "light_gain": round(plan.light_gain, 3)},
        "frames": [
            {
                "file": frame_file(plan, f),
                "camera_id": plan.cameras[f.plan.camera].camera_id,
                "position": plan.cameras[f.plan.camera].position,
                "index": f.plan.index,
                "distance_m": round(f.plan.distance, 2),
                "degradations": {
                    "tint": round(plan.tint, 3),
                    "glare": 0.0 if f.plan.glare is None else round(f.plan.glare.strength, 3),
                    "motion_blur_px": round(f.plan.motion_blur_px, 2),
                    "noise_sigma": float(round(f.plan.noise_sigma)),
                    "light_gain": round(plan.light_gain, 3),
                    "jpeg_quality": f.plan.jpeg_quality,
                },
                "faces": [
                    {
                        "kind": t.kind,
                        "ref": t.ref,
                        "person_id": who(t.kind, t.ref),
                        "box": list(t.box),
                        "landmarks": None if t.landmarks is None else [list(p) for p in t.landmarks],
                        "visible": t.visible,
                        "truncated": t.truncated,
                    }
                    for t in f.faces
                ],
            }
            for f in frames
        ],
    }


def write_vehicle(
    out: Path, plan: VehiclePlan, cast: Cast, difficulty: Difficulty, seed: int
) -> dict[str, Any]:
    """Render and write one encounter folder; returns its truth."""
    folder = out / plan.encounter_id
    (folder / "frames").mkdir(parents=True, exist_ok=True)
    frames = [render_frame(plan, f, cast.sources) for f in plan.frames]
    for frame in frames:
        (folder / frame_file(plan, frame)).write_bytes(_jpeg(frame.image, frame.plan.jpeg_quality))
    (folder / ENCOUNTER_FILE).write_text(encounter_for(plan, cast.people).to_json() + "\n", encoding="utf-8")
    truth = truth_for(plan, frames, cast, difficulty, seed)
    (folder / TRUTH_FILE).write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth


def simulate_lane(
    faces_dir: Path,
    out: Path,
    *,
    vehicles: int,
    seed: int,
    difficulty: Difficulty,
    detector: Detector,
    limits: ImageLimits,
    params: LaneSimParams | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Simulate ``vehicles`` vehicles into ``out`` (which must be new or empty); return simulation.json."""
    _check_request(out, vehicles)
    started = time.perf_counter()
    cast = load_cast(load_dataset(faces_dir), seed, detector, limits, progress)
    prepare_seconds = time.perf_counter() - started
    return write_simulation(
        cast,
        out,
        vehicles=vehicles,
        seed=seed,
        difficulty=difficulty,
        limits=limits,
        params=params,
        progress=progress,
        about={
            "faces_dir": str(faces_dir),
            "detector": detector.name,
            "prepare_seconds": round(prepare_seconds, 2),
        },
    )


def _check_request(out: Path, vehicles: int) -> None:
    if vehicles < 1:
        raise DataError("nothing to simulate", expected="--vehicles ≥ 1", got=vehicles)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(
            "simulation output folder is not empty", expected="a new or empty folder", got=str(out)
        )


def write_simulation(
    cast: Cast,
    out: Path,
    *,
    vehicles: int,
    seed: int,
    difficulty: Difficulty,
    limits: ImageLimits,
    params: LaneSimParams | None = None,
    progress: Progress | None = None,
    about: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the gallery and ``vehicles`` encounters of an already loaded cast; return simulation.json."""
    _check_request(out, vehicles)
    if not any(p.probes for p in cast.people):
        raise DataError("no probe photo has a detectable face", expected="at least one", got=0)
    params = params or params_for(difficulty)
    out.mkdir(parents=True, exist_ok=True)
    write_gallery(out, cast, limits)
    prepared = time.perf_counter()
    prefix = f"sim{seed}-{difficulty}"
    rows: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    occupants = frames = with_documents = 0
    for index in range(vehicles):
        plan = plan_vehicle(index, seed, params, cast.people, prefix)
        write_vehicle(out, plan, cast, difficulty, seed)
        occupants += len(plan.occupants)
        frames += len(plan.frames)
        with_documents += plan.documents_included
        rows.update(o.row for o in plan.occupants)
        kinds.update(d.kind for d in plan.distractors)
        if progress:
            progress("vehicles", index + 1, vehicles)
    finished = time.perf_counter()
    summary = {
        "schema": SIMULATION_SCHEMA,
        "seed": seed,
        "difficulty": difficulty,
        "vehicles": vehicles,
        "encounter_prefix": prefix,
        **(about or {}),
        "parameters": asdict(params),
        "counts": {
            "people": len(cast.people),
            "enrolled": sum(p.enrolled for p in cast.people),
            "not_enrolled": sum(not p.enrolled for p in cast.people),
            "document_photos": len(cast.document_photos),
            "probe_photos": len(cast.sources),
            "probes_without_face": list(cast.probes_without_face),
            "occupants": occupants,
            "occupants_by_row": {str(r): rows[r] for r in sorted(rows)},
            "frames": frames,
            "vehicles_with_documents": with_documents,
            "distractors": dict(sorted(kinds.items())),
        },
        "seconds": {
            "vehicles": round(finished - prepared, 2),
            "per_vehicle": round((finished - prepared) / vehicles, 4),
        },
    }
    (out / "simulation.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
