"""The lane benchmark: process simulated vehicles and score them against their ground truth.

Each system (the lane pipeline, and the baselines) turns a vehicle into *predicted occupants*:
boxes in frames, the boxes of captures that passed validation, a status and an identity, and the
template used to match. Scoring then links each predicted occupant to the truth face its boxes
cover most (centre inside the truth box grown by a quarter, most frames win), and counts:

* an occupant is **captured** when a capture box of some predicted occupant lies on it;
  ``all_occupants_captured_rate`` is the field metric (every occupant of the vehicle captured),
  also given over the vehicles where nobody wears sunglasses (``eyes_visible``: the profile
  requires visible eyes, so a vehicle with sunglasses throughout can never be fully captured);
* ``all_occupants_confirmed_rate``: vehicles the lane clears without an officer, rightly: every
  occupant confirmed as the right person, and nothing else found (no false confirmation, no
  duplicate or distractor left for an officer);
* a **false confirmation** is a confirmed predicted occupant whose identity is not the person
  under its boxes (a distractor's face, or another occupant's), or that covers no face at all;
* a **distractor accepted** is a distractor of the truth that some predicted occupant covers;
* **1:1 FNMR at FMR 1e-3**: captured, enrolled occupants whose template scores below the
  threshold at FMR 1e-3 against their own document photo;
* **TIR at FPIR 0.003**: the threshold is set on non-mated searches (captured occupants not
  enrolled, and every enrolled one searched with its own entries left out) so that at most
  0.3 % of them return a candidate; TIR is the share of mated searches whose best candidate is
  the right person at or above it.
* **Seconds per vehicle**, decoding included, p50 and p95, also by the vehicle's frame count
  (``seconds_per_vehicle_by_frames``: 1–6, 7–12, 13–24 frames).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bioexit.embedding.types import Template, similarity
from bioexit.encounters import Encounter
from bioexit.errors import DataError
from bioexit.lane.frames import FrameInput, read_encounter, read_frames
from bioexit.lane.gallery import LaneGallery
from bioexit.lane.pipeline import LanePipeline, analyse
from bioexit.lane.result import VehicleResult
from bioexit.lanesim.writer import TRUTH_FILE, simulated_vehicles
from bioexit.settings import Settings

BoxTuple = tuple[float, float, float, float]
Progress = Callable[[str, int, int], None]
SYSTEMS = ("lane", "single_shot", "face_recognition")


@dataclass
class Predicted:
    boxes: list[tuple[int, BoxTuple]]
    captures: list[tuple[int, BoxTuple]]
    status: str
    identity: str | None
    template: Template | None


@dataclass
class SystemRun:
    predicted: list[Predicted]
    seconds: float
    occupant_count: int


@dataclass
class VehicleTruth:
    encounter_id: str
    occupants: list[dict[str, Any]]
    distractors: list[dict[str, Any]]
    frames: dict[int, list[dict[str, Any]]]  # encounter frame index → faces
    degradations: dict[int, set[str]]  # occupant index → degradation tags


# --- truth ---------------------------------------------------------------------------------------

DEGRADATIONS = (
    "hat",
    "sunglasses",
    "tint",
    "low_light",
    "glare",
    "motion_blur",
    "noise",
    "jpeg",
    "partly_hidden",
    "none",
)
"""Occupant tags: worn occluders, vehicle-wide tint (≥ 0.3) and low light (gain < 0.9), and
frame conditions over the frames the occupant appears in: glare in any, median motion blur
≥ 4 px, median noise σ ≥ 6, median JPEG quality < 60; ``partly_hidden`` when the occupant is
less than half visible in at least half of its frames; ``none`` when no tag applies."""


def read_truth(folder: Path, encounter: Encounter) -> VehicleTruth:
    try:
        truth = json.loads((folder / TRUTH_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(
            "cannot read the ground truth", expected=f"{folder / TRUTH_FILE}", got=str(exc)
        ) from None
    index_of = {ref.file: k for k, ref in enumerate(encounter.frames)}
    frames: dict[int, list[dict[str, Any]]] = {}
    seen: dict[int, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
    for frame in truth["frames"]:
        k = index_of[frame["file"]]
        frames[k] = frame["faces"]
        for face in frame["faces"]:
            if face["kind"] == "occupant":
                seen[face["ref"]].append((face["visible"], frame["degradations"]))
    tags: dict[int, set[str]] = {}
    conditions = truth.get("conditions", {})
    for occupant in truth["occupants"]:
        k = occupant["index"]
        own: set[str] = set()
        own |= {"hat"} if occupant.get("hat") else set()
        own |= {"sunglasses"} if occupant.get("sunglasses") else set()
        own |= {"tint"} if conditions.get("tint", 0.0) >= 0.3 else set()
        own |= {"low_light"} if conditions.get("light_gain", 1.0) < 0.9 else set()
        views = seen.get(k, [])
        if views:
            degradations = [d for _, d in views]
            if any(d["glare"] > 0 for d in degradations):
                own.add("glare")
            if float(np.median([d["motion_blur_px"] for d in degradations])) >= 4.0:
                own.add("motion_blur")
            if float(np.median([d["noise_sigma"] for d in degradations])) >= 6.0:
                own.add("noise")
            if float(np.median([d["jpeg_quality"] for d in degradations])) < 60:
                own.add("jpeg")
            if sum(v < 0.5 for v, _ in views) * 2 >= len(views):
                own.add("partly_hidden")
        tags[k] = own or {"none"}
    return VehicleTruth(truth["encounter_id"], truth["occupants"], truth["distractors"], frames, tags)


def _covers(box: BoxTuple, truth_box: Sequence[float]) -> float:
    """0 unless the box's centre is in the truth box grown by a quarter; else closeness (higher = better)."""
    x1, y1, x2, y2 = truth_box
    grow_x, grow_y = 0.25 * (x2 - x1), 0.25 * (y2 - y1)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    if not (x1 - grow_x <= cx <= x2 + grow_x and y1 - grow_y <= cy <= y2 + grow_y):
        return 0.0
    tx, ty = (x1 + x2) / 2, (y1 + y2) / 2
    return 1.0 / (1.0 + math.hypot(cx - tx, cy - ty))


HIDDEN = 0.1
"""A truth face at most this visible cannot be what a box shows while a more visible face is
under it too (a dog's head wholly behind the driver's has nearly the same box)."""


def face_under(truth: VehicleTruth, frame: int, box: BoxTuple) -> tuple[str, int] | None:
    best: tuple[bool, float] = (False, 0.0)
    label = None
    for face in truth.frames.get(frame, []):
        score = _covers(box, face["box"])
        key = (float(face.get("visible", 1.0)) > HIDDEN, score)
        if score > 0.0 and key > best:
            best, label = key, (face["kind"], int(face["ref"]))
    return label


def label_of(truth: VehicleTruth, predicted: Predicted) -> tuple[str, int] | None:
    votes = Counter(face_under(truth, f, b) for f, b in predicted.boxes)
    votes.pop(None, None)
    return votes.most_common(1)[0][0] if votes else None


# --- scoring -------------------------------------------------------------------------------------


@dataclass
class Tally:
    vehicles: int = 0
    all_captured: int = 0
    all_confirmed: int = 0
    eyes_visible: int = 0  # vehicles where nobody wears sunglasses
    all_captured_eyes_visible: int = 0
    count_correct: int = 0
    occupants: int = 0
    captured: int = 0
    confirmed_right: int = 0
    false_confirmations: int = 0
    phantom_occupants: int = 0
    distractors: Counter[str] = field(default_factory=Counter)
    distractors_accepted: Counter[str] = field(default_factory=Counter)
    by_row: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_degradation: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    seconds: list[float] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)  # per vehicle, beside seconds
    genuine: list[float] = field(default_factory=list)
    mated: list[tuple[bool, float]] = field(default_factory=list)  # (top-1 right, its score)
    non_mated: list[float] = field(default_factory=list)

    def add(
        self, truth: VehicleTruth, run: SystemRun, gallery: LaneGallery, documents: dict[str, str]
    ) -> None:
        self.vehicles += 1
        self.seconds.append(run.seconds)
        self.frames.append(len(truth.frames))
        self.count_correct += run.occupant_count == len(truth.occupants)
        labels = [label_of(truth, p) for p in run.predicted]
        captured: set[int] = set()
        for p in run.predicted:
            for frame, box in p.captures:
                label = face_under(truth, frame, box)
                if label is not None and label[0] == "occupant":
                    captured.add(label[1])
        person = {o["index"]: o["person_id"] for o in truth.occupants}
        confirmed: set[int] = set()
        wrong = 0
        for p, label in zip(run.predicted, labels, strict=True):
            if label is None:
                self.phantom_occupants += 1
            if p.status != "confirmed":
                continue
            # Judged on the face that was matched: the best capture.
            matched = face_under(truth, *p.captures[0]) if p.captures else None
            if matched is not None and matched[0] == "occupant" and person[matched[1]] == p.identity:
                self.confirmed_right += 1
                confirmed.add(matched[1])
            else:
                wrong += 1
        self.false_confirmations += wrong
        cleared = all(p.status == "confirmed" for p in run.predicted)  # nothing left for an officer
        self.all_confirmed += cleared and not wrong and len(confirmed) == len(truth.occupants)
        taken = {label for label in labels if label is not None and label[0] != "occupant"}
        for d in truth.distractors:
            self.distractors[d["kind"]] += 1
            self.distractors_accepted[d["kind"]] += (d["kind"], d["index"]) in taken
        self.occupants += len(truth.occupants)
        self.captured += len(captured)
        self.all_captured += len(captured) == len(truth.occupants)
        if not any(o.get("sunglasses") for o in truth.occupants):
            self.eyes_visible += 1
            self.all_captured_eyes_visible += len(captured) == len(truth.occupants)
        for o in truth.occupants:
            got = o["index"] in captured
            self.by_row[o["row"]][0] += 1
            self.by_row[o["row"]][1] += got
            for tag in truth.degradations[o["index"]]:
                self.by_degradation[tag][0] += 1
                self.by_degradation[tag][1] += got
        # Matching accuracy of the templates of captured occupants (same threshold for every system).
        # The template is made of the captures, so it is the best capture's face that counts.
        for p in run.predicted:
            label = face_under(truth, *p.captures[0]) if p.captures else None
            if p.template is None or label is None or label[0] != "occupant":
                continue
            subject = person[label[1]]
            own_entry = documents.get(subject)
            if own_entry is not None:
                self.genuine.append(similarity(p.template, gallery.templates[own_entry]))
            scored = [(similarity(p.template, t), gallery.subjects[e]) for e, t in gallery.templates.items()]
            others = [s for s, who in scored if who != subject]
            if others:
                self.non_mated.append(max(others))
            if own_entry is not None:
                top_score, top_subject = max(scored)
                self.mated.append((top_subject == subject, top_score))

    def report(self, threshold_1e3: float) -> dict[str, Any]:
        def rate(a: int, b: int) -> float | None:
            return None if b == 0 else round(a / b, 4)

        non_mated = sorted(self.non_mated, reverse=True)
        allowed = math.floor(0.003 * len(non_mated))
        tir = None
        if non_mated and self.mated:
            tau = non_mated[allowed] if allowed < len(non_mated) else -math.inf
            tir = round(sum(right and score > tau for right, score in self.mated) / len(self.mated), 4)
        fnmr = None if not self.genuine else round(float(np.mean(np.array(self.genuine) < threshold_1e3)), 4)
        total_distractors = sum(self.distractors.values())
        seconds = np.array(self.seconds or [0.0])

        def percentiles(values: np.ndarray) -> dict[str, float]:
            return {
                "p50": round(float(np.percentile(values, 50)), 4),
                "p95": round(float(np.percentile(values, 95)), 4),
            }

        frames = np.array(self.frames or [0])
        by_frames = {}
        for name, low, high in (("1-6", 1, 6), ("7-12", 7, 12), ("13-24", 13, 24)):
            within = seconds[(frames >= low) & (frames <= high)]
            if within.size:
                by_frames[name] = {"vehicles": int(within.size), **percentiles(within)}
        return {
            "vehicles": self.vehicles,
            "all_occupants_captured_rate": rate(self.all_captured, self.vehicles),
            "all_occupants_confirmed_rate": rate(self.all_confirmed, self.vehicles),
            "eyes_visible": {
                "vehicles": self.eyes_visible,
                "all_occupants_captured_rate": rate(self.all_captured_eyes_visible, self.eyes_visible),
            },
            "occupant_fta_rate": rate(self.occupants - self.captured, self.occupants),
            "occupant_count_accuracy": rate(self.count_correct, self.vehicles),
            "false_confirmations": self.false_confirmations,
            "correct_confirmations": self.confirmed_right,
            "phantom_occupants": self.phantom_occupants,
            "distractors_accepted_rate": rate(sum(self.distractors_accepted.values()), total_distractors),
            "distractors": {
                k: [self.distractors_accepted[k], n] for k, n in sorted(self.distractors.items())
            },
            "tir_at_fpir_0.003": tir,
            "fnmr_at_fmr_0.001": fnmr,
            "searches": {
                "mated": len(self.mated),
                "non_mated": len(self.non_mated),
                "genuine": len(self.genuine),
            },
            "seconds_per_vehicle": percentiles(seconds),
            "seconds_per_vehicle_by_frames": by_frames,
            "occupants": self.occupants,
            "by_row": {
                str(r): {"occupants": n, "captured_rate": rate(c, n)}
                for r, (n, c) in sorted(self.by_row.items())
            },
            "by_degradation": {
                tag: {"occupants": n, "captured_rate": rate(c, n)}
                for tag, (n, c) in sorted(self.by_degradation.items())
            },
        }


# --- systems ------------------------------------------------------------------------------------


def single_shot_frame(encounter: Encounter, frames: Sequence[FrameInput]) -> FrameInput | None:
    """The frame a single-shot system takes: the windshield camera's last (nearest) usable frame."""
    cameras = [c.camera_id for c in encounter.cameras if c.position == "windshield"]
    cameras = cameras or [encounter.cameras[0].camera_id]
    usable = [f for f in frames if f.image is not None and f.ref.camera_id == cameras[0]]
    return max(usable, key=lambda f: (f.ref.captured_at, f.index)) if usable else None


def system_run(result: VehicleResult, templates: Sequence[Template | None], seconds: float) -> SystemRun:
    """A vehicle result as predicted occupants; ``templates`` are the occupants' (None: not scored)."""
    predicted = [
        Predicted(
            boxes=[(b.frame, (b.x1, b.y1, b.x2, b.y2)) for b in occupant.track],
            captures=[(c.box.frame, (c.box.x1, c.box.y1, c.box.x2, c.box.y2)) for c in occupant.captures],
            status=occupant.status,
            identity=occupant.identity,
            template=template,
        )
        for occupant, template in zip(result.occupants, templates, strict=True)
    ]
    return SystemRun(predicted, seconds, result.occupant_count)


def lane_run(
    encounter: Encounter,
    frames: Sequence[FrameInput],
    gallery: LaneGallery,
    pipeline: LanePipeline,
    decode_seconds: float,
    *,
    fusion: bool = True,
) -> SystemRun:
    analysis = analyse(encounter, frames, gallery, pipeline, fusion=fusion)
    templates = [found.template for found in analysis.finding.occupants]
    return system_run(analysis.result, templates, analysis.result.seconds + decode_seconds)


BaselineRun = Callable[[Encounter, Sequence[FrameInput], float], SystemRun]
Baseline = tuple[BaselineRun, LaneGallery]
"""A baseline's run, and the references its templates are scored against."""


def run_lane_bench(
    sim_dir: Path,
    settings: Settings,
    pipeline: LanePipeline,
    gallery: LaneGallery,
    *,
    baselines: dict[str, Baseline | str],
    progress: Progress | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Score every simulated vehicle under ``sim_dir`` with the lane pipeline and the baselines."""
    folders = simulated_vehicles(sim_dir)[:limit]
    documents = {subject: entry for entry, subject in gallery.subjects.items()}
    tallies = {"lane": Tally(), **{name: Tally() for name in baselines}}
    unavailable = {name: why for name, why in baselines.items() if isinstance(why, str)}
    for done, folder in enumerate(folders, start=1):
        encounter = read_encounter(folder)
        truth = read_truth(folder, encounter)
        started = time.perf_counter()
        frames = read_frames(folder, encounter, settings.images)
        decode = time.perf_counter() - started
        per_frame = decode / max(len(frames), 1)
        tallies["lane"].add(truth, lane_run(encounter, frames, gallery, pipeline, decode), gallery, documents)
        for name, baseline in baselines.items():
            if isinstance(baseline, str):
                continue
            run, references = baseline
            own = {subject: entry for entry, subject in references.subjects.items()}
            tallies[name].add(truth, run(encounter, frames, per_frame), references, own)
        if progress:
            progress("vehicles", done, len(folders))
    threshold = pipeline.matcher.table.threshold(1e-3)
    report = tallies["lane"].report(threshold)
    report["baselines"] = {
        name: tallies[name].report(threshold) if name not in unavailable else {"error": unavailable[name]}
        for name in baselines
    }
    report["settings"] = {
        "quality_profile": pipeline.profile.name,
        "fmr": pipeline.matcher.fmr,
        "threshold_at_fmr_0.001": round(threshold, 4),
        "detector": pipeline.engine.detector.name,
        "model": pipeline.engine.embedder.info.key,
        "fuse": pipeline.rules.fuse,
    }
    return report


def single_shot_baseline(gallery: LaneGallery, pipeline: LanePipeline) -> Baseline:
    """One windshield frame through the lane pipeline, no fusion."""

    def run(encounter: Encounter, frames: Sequence[FrameInput], decode_per_frame: float) -> SystemRun:
        frame = single_shot_frame(encounter, frames)
        if frame is None:
            return SystemRun([], decode_per_frame, 0)
        return lane_run(encounter, [frame], gallery, pipeline, decode_per_frame, fusion=False)

    return run, gallery


def plot_capture_by_row(report: dict[str, Any], path: Path) -> None:
    """A bar chart: share of occupants captured at validation quality, by row, per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = {"lane (fusion)": report, **report.get("baselines", {})}
    rows = sorted({r for s in systems.values() for r in s.get("by_row", {})})
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(len(systems), 1)
    for k, (name, s) in enumerate(systems.items()):
        values = [(s.get("by_row", {}).get(r, {}).get("captured_rate") or 0.0) for r in rows]
        xs = [i + k * width for i in range(len(rows))]
        ax.bar(xs, values, width, label=name)
    ax.set_xticks([i + width * (len(systems) - 1) / 2 for i in range(len(rows))], [f"row {r}" for r in rows])
    ax.set_ylim(0, 1)
    ax.set_ylabel("occupants captured at validation quality")
    ax.set_title(f"Capture rate by row ({report['vehicles']} vehicles)")
    ax.legend(loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def face_recognition_baseline(sim_dir: Path, settings: Settings) -> Baseline:
    """The ``face_recognition`` package with its defaults on the single-shot frame.

    Enrolled with the same document photos; in vehicles with documents it compares with the
    presented documents' photos only, otherwise with the whole gallery; nearest within its
    default tolerance wins. It has no quality check, so every face it encodes counts as a
    capture. Its templates are dlib's, from its own detector and alignment, so its FNMR and TIR
    are measured against its own encodings of the document photos.
    """
    from bioexit.bench.baselines import DEFAULT_TOLERANCE, FaceRecognitionBaseline, _package
    from bioexit.embedding.types import ModelInfo
    from bioexit.imaging import read_image
    from bioexit.lane.gallery import read_gallery_entries

    entries = read_gallery_entries(sim_dir / "gallery")
    photos = {
        e.subject_id: read_image(sim_dir / "gallery" / e.photo, limits=settings.images) for e in entries
    }
    baseline = FaceRecognitionBaseline(photos)
    numbers = {e.subject_id: e.document_number for e in entries}
    from bioexit.alignment import DLIB_CHIP_150

    info = ModelInfo("face_recognition-dlib", "1.3", 128, "euclidean", DLIB_CHIP_150)
    own = LaneGallery(info)
    for subject, vector in zip(baseline.ids, baseline._known, strict=True):
        vector32 = np.asarray(vector, np.float32)
        own.add(f"doc-{subject}", subject, Template(vector32, info.model_id, info.version, "euclidean"))
    fr = _package()

    def run(encounter: Encounter, frames: Sequence[FrameInput], decode_per_frame: float) -> SystemRun:
        frame = single_shot_frame(encounter, frames)
        if frame is None or frame.image is None:
            return SystemRun([], decode_per_frame, 0)
        started = time.perf_counter()
        image = np.ascontiguousarray(frame.image)
        locations = fr.face_locations(image)
        encodings = fr.face_encodings(image, locations)
        presented = {d.document_number for d in encounter.documents}
        allowed = [
            k for k, subject in enumerate(baseline.ids) if not presented or numbers.get(subject) in presented
        ]
        predicted = []
        for (top, right, bottom, left), encoding in zip(locations, encodings, strict=True):
            box = (float(left), float(top), float(right), float(bottom))
            identity = None
            if allowed:
                distances = fr.face_distance([baseline._known[k] for k in allowed], encoding)
                best = int(np.argmin(distances))
                if distances[best] <= DEFAULT_TOLERANCE:
                    identity = baseline.ids[allowed[best]]
            template = Template(np.asarray(encoding, np.float32), info.model_id, info.version, "euclidean")
            predicted.append(
                Predicted(
                    [(frame.index, box)],
                    [(frame.index, box)],
                    "confirmed" if identity else "no_match",
                    identity,
                    template,
                )
            )
        seconds = time.perf_counter() - started + decode_per_frame
        return SystemRun(predicted, seconds, len(predicted))

    return run, own
