"""Small vehicles built from real faces for the lane tests: an encounter folder and a gallery folder.

Faces of the shared labelled set are pasted (feathered, like :mod:`bioexit.bench.synth`) into
plain 1920×1080 frames; the vehicle approaches, so every face on it grows about one point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from bioexit.bench.dataset import load_dataset, read_dataset_image
from bioexit.detection.mtcnn import MtcnnDetector
from bioexit.detection.types import Detection, RGBImage
from bioexit.settings import ImageLimits

FRAME_W, FRAME_H = 1920, 1080
EXPANSION_CENTRE = (960.0, 420.0)


@dataclass(frozen=True)
class Person:
    identity: str
    probe: tuple[RGBImage, Detection]  # the photo pasted into frames
    document: Path  # another photo of the same person: the document photo


@cache
def people(faces_dir: Path, count: int = 6) -> tuple[Person, ...]:
    """The first ``count`` identities with at least two photos, in labels.csv order."""
    dataset = load_dataset(faces_dir)
    detector = MtcnnDetector()
    by_identity: dict[str, list[Path]] = {}
    for item in dataset.images:
        if item.set != "dlib_johns":  # 150 px chips are too small to paste large
            by_identity.setdefault(item.identity, []).append(item.path)
    chosen = []
    for identity, paths in by_identity.items():
        if len(paths) < 2:
            continue
        image = read_dataset_image(paths[0], ImageLimits())
        found = detector.detect(image)
        if not found:
            continue
        chosen.append(Person(identity, (image, max(found, key=lambda d: d.width)), paths[1]))
        if len(chosen) == count:
            break
    return tuple(chosen)


@dataclass
class Placement:
    person: int
    x: float  # centre in the first frame
    y: float
    width: float
    moves: bool = True  # False: a poster (stays put)
    hidden_in: frozenset[int] = frozenset()


@dataclass
class Scene:
    placements: list[Placement]
    frames: int = 5
    growth: float = 0.12  # per frame, about EXPANSION_CENTRE
    cameras: tuple[str, ...] = ("cam-w",)
    documents: tuple[int, ...] = ()  # persons whose document is read
    extra: dict[str, object] = field(default_factory=dict)


def _paste(frame: np.ndarray, face: tuple[RGBImage, Detection], cx: float, cy: float, width: float) -> None:
    image, box = face
    scale = width / box.width
    side = round(2.0 * width)
    bx, by = (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2
    matrix = np.array([[scale, 0, side / 2 - scale * bx], [0, scale, side / 2 - scale * by]])
    patch = cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
    mask = np.zeros((side, side), np.float32)
    cv2.ellipse(mask, (side // 2, side // 2), (int(side * 0.42), int(side * 0.47)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, side * 0.04))[..., None]
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    region = frame[y0 : y0 + side, x0 : x0 + side]
    frame[y0 : y0 + side, x0 : x0 + side] = mask * patch + (1 - mask) * region


def background(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ys = np.linspace(70, 150, FRAME_H, dtype=np.float32)[:, None, None]
    frame = np.broadcast_to(ys, (FRAME_H, FRAME_W, 3)).copy()
    return frame + rng.normal(0, 4, frame.shape).astype(np.float32)


def box_at(p: Placement, step: int, growth: float) -> tuple[float, float, float]:
    if not p.moves:
        return p.x, p.y, p.width
    s = (1 + growth) ** step
    ex, ey = EXPANSION_CENTRE
    return ex + s * (p.x - ex), ey + s * (p.y - ey), p.width * s


def write_vehicle(folder: Path, encounter_id: str, scene: Scene, cast: tuple[Person, ...]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    frames = []
    for camera in scene.cameras:
        for step in range(scene.frames):
            frame = background(step)
            for p in scene.placements:
                if step in p.hidden_in:
                    continue
                _paste(frame, cast[p.person].probe, *box_at(p, step, scene.growth))
            name = f"{camera}-{step}.jpg"
            Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8)).save(folder / name, quality=92)
            at = (start + timedelta(milliseconds=150 * step)).isoformat()
            frames.append({"camera_id": camera, "file": name, "captured_at": at})
    encounter = {
        "schema": "bioexit.encounter/1",
        "encounter_id": encounter_id,
        "port": "test-port",
        "lane": "L1",
        "started_at": start.isoformat(),
        "cameras": [{"camera_id": c, "position": "windshield"} for c in scene.cameras],
        "frames": frames,
        "documents": [{"source": "card_reader", "document_number": f"DOC{p:04d}"} for p in scene.documents],
    }
    (folder / "encounter.json").write_text(json.dumps(encounter, indent=1), encoding="utf-8")
    return folder


def write_gallery(folder: Path, cast: tuple[Person, ...]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for index, person in enumerate(cast):
        name = f"doc-{index}{person.document.suffix.lower()}"
        (folder / name).write_bytes(person.document.read_bytes())
        entries.append(
            {
                "entry_id": f"doc-{index}",
                "subject_id": person.identity,
                "photo": name,
                "kind": "document",
                "document_number": f"DOC{index:04d}",
            }
        )
    (folder / "gallery.json").write_text(json.dumps({"entries": entries}, indent=1), encoding="utf-8")
    return folder
