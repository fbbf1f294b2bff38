"""``bioexit bench quality``: does the quality profile predict which lane captures match?

On simulated lane frames (``bioexit.lanesim``), every face the default detector finds is
matched by box overlap to the simulator's truth. Each occupant capture gets its quality
components (:func:`bioexit.quality.assess`) and its comparison score against its person's
document photo (a genuine pair, where the person is enrolled) and against every other
document photo (impostor pairs). A capture *matches* when its genuine score reaches the
threshold for FMR 1e-3 from the embedder's shipped calibration table.

From these: the error-versus-discard curve (FNMR of the captures kept when the lowest-unified
fraction is discarded), and a calibration of the profile's per-component limits: the fewest
discards for which the captures that pass have FNMR ≤ 1 % (:func:`calibrate_profile`).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from bioexit.detection.types import Detection, Detector
from bioexit.embedding.types import Template, scores
from bioexit.engine import FaceEngine
from bioexit.imaging import read_image
from bioexit.lanesim.truth import encounters, match_detections
from bioexit.quality import EYE_VISIBLE_AT, PROFILES, FaceQuality, QualityProfile, assess
from bioexit.settings import ImageLimits

Progress = Callable[[str, int, int], None]
TARGET_FNMR = 0.01
DISCARD_GRID = tuple(round(0.05 * k, 2) for k in range(19))  # 0 … 0.9

Direction = Literal["min", "max", "abs_max"]
LIMITS: tuple[tuple[str, str, Direction], ...] = (
    ("min_inter_eye_distance", "inter_eye_distance", "min"),
    ("max_abs_yaw", "yaw", "abs_max"),
    ("max_abs_pitch", "pitch", "abs_max"),
    ("max_abs_roll", "roll", "abs_max"),
    ("min_sharpness", "sharpness", "min"),
    ("min_exposure", "exposure", "min"),
    ("max_exposure", "exposure", "max"),
    ("max_underexposed", "underexposed", "max"),
    ("max_overexposed", "overexposed", "max"),
    ("min_contrast", "contrast", "min"),
    ("max_compression", "compression", "max"),
    ("max_occlusion", "occlusion", "max"),
    ("min_unified", "unified", "min"),
    ("min_detection_score", "detection_score", "min"),
    ("max_head_overlap", "head_overlap", "max"),
)
"""Each numeric limit of :class:`QualityProfile`: (profile field, FaceQuality component, direction)."""


# --- scanning simulated frames -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrueFace:
    """One true face in one frame and whether the detector found it."""

    encounter_id: str
    kind: str
    row: int  # 0 for distractors
    visible: float
    truncated: bool
    height: float
    found: bool


@dataclass(frozen=True, slots=True)
class Capture:
    """One detected occupant face, its quality and its scores."""

    encounter_id: str
    frame: str
    position: str
    row: int
    person_id: str
    enrolled: bool
    visible: float
    degradations: dict[str, float]
    quality: FaceQuality
    genuine: float | None
    impostors: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Scan:
    faces: tuple[TrueFace, ...]
    captures: tuple[Capture, ...]
    frames: int
    false_detections: int
    detect_seconds: tuple[float, ...]


def document_templates(simulation: Path, engine: FaceEngine, limits: ImageLimits) -> dict[str, Template]:
    """Person id → template of the largest face in their document photo (skipped where none is found)."""
    gallery = json.loads((simulation / "gallery" / "gallery.json").read_text(encoding="utf-8"))
    out: dict[str, Template] = {}
    for person, entry in gallery["people"].items():
        face = engine.largest_face(read_image(simulation / "gallery" / entry["photo"], limits=limits))
        if face is not None:
            out[person] = face.template
    return out


def scan_simulation(
    simulation: Path,
    detector: Detector,
    limits: ImageLimits,
    *,
    engine: FaceEngine | None = None,
    progress: Progress | None = None,
) -> Scan:
    """Detect faces in every frame and match them to the truth; with an engine, also score and assess."""
    documents = document_templates(simulation, engine, limits) if engine is not None else {}
    ids = sorted(documents)
    matrix = np.stack([documents[i].vector for i in ids]) if ids else np.zeros((0, 1), np.float32)
    faces: list[TrueFace] = []
    captures: list[Capture] = []
    timings: list[float] = []
    false_detections = frames = 0
    items = list(encounters(simulation))
    for step, item in enumerate(items):
        truth = item.truth
        occupants = truth["occupants"]
        for frame in truth["frames"]:
            frames += 1
            image = read_image(item.folder / frame["file"], limits=limits)
            start = time.perf_counter()
            detections = detector.detect(image)
            timings.append(time.perf_counter() - start)
            true_faces = frame["faces"]
            matched = match_detections(detections, true_faces)
            found = {j for j in matched if j is not None}
            false_detections += sum(1 for j in matched if j is None)
            for j, face in enumerate(true_faces):
                occupant = face["kind"] == "occupant"
                faces.append(
                    TrueFace(
                        encounter_id=truth["encounter_id"],
                        kind=face["kind"],
                        row=occupants[face["ref"]]["row"] if occupant else 0,
                        visible=face["visible"],
                        truncated=face["truncated"],
                        height=face["box"][3] - face["box"][1],
                        found=j in found,
                    )
                )
            if engine is None:
                continue
            hits = [(d, true_faces[j]) for d, j in zip(detections, matched, strict=True) if j is not None]
            hits = [(d, f) for d, f in hits if f["kind"] == "occupant"]
            if not hits:
                continue
            embedded = engine.embed_detections(image, [d for d, _ in hits])
            for (detection, face), result in zip(hits, embedded, strict=True):
                captures.append(
                    _capture(truth, frame, face, detection, detections, image, result.template, ids, matrix)
                )
        if progress:
            progress("simulated vehicles scanned", step + 1, len(items))
    return Scan(tuple(faces), tuple(captures), frames, false_detections, tuple(timings))


def _capture(
    truth: dict[str, Any],
    frame: dict[str, Any],
    face: dict[str, Any],
    detection: Detection,
    neighbours: Sequence[Detection],
    image: npt.NDArray[np.uint8],
    template: Template,
    ids: list[str],
    matrix: npt.NDArray[np.float32],
) -> Capture:
    occupant = truth["occupants"][face["ref"]]
    person = occupant["person_id"]
    all_scores = scores(template.metric, template.vector, matrix) if ids else np.zeros(0, np.float32)
    genuine = None
    impostors: list[float] = []
    for other, score in zip(ids, all_scores, strict=True):
        if other == person:
            genuine = float(score)
        else:
            impostors.append(float(score))
    return Capture(
        encounter_id=truth["encounter_id"],
        frame=frame["file"],
        position=frame["position"],
        row=occupant["row"],
        person_id=person,
        enrolled=occupant["enrolled"],
        visible=face["visible"],
        degradations=frame["degradations"],
        quality=assess(image, detection, neighbours),
        genuine=genuine,
        impostors=tuple(impostors),
    )


def detection_summary(scan: Scan) -> dict[str, Any]:
    """Recall on occupant faces by row (all, and clearly visible ones), and how often distractors fire."""
    by_row: dict[str, Any] = {}
    for row in (1, 2, 3):
        faces = [f for f in scan.faces if f.kind == "occupant" and f.row == row]
        clear = [f for f in faces if f.visible >= 0.9 and not f.truncated]
        by_row[str(row)] = {
            "faces": len(faces),
            "recall": _rate(faces),
            "clear_faces": len(clear),
            "clear_recall": _rate(clear),
        }
    kinds = sorted({f.kind for f in scan.faces if f.kind != "occupant"})
    distractors = {
        kind: {"faces": n, "detected_rate": _rate([f for f in scan.faces if f.kind == kind])}
        for kind in kinds
        if (n := sum(1 for f in scan.faces if f.kind == kind))
    }
    return {
        "frames": scan.frames,
        "occupant_recall_by_row": by_row,
        "distractors_detected": distractors,
        "unmatched_detections_per_frame": round(scan.false_detections / max(1, scan.frames), 4),
        "ms_per_frame": round(statistics.median(scan.detect_seconds) * 1000, 1)
        if scan.detect_seconds
        else None,
    }


def _rate(faces: Sequence[TrueFace]) -> float | None:
    return round(sum(f.found for f in faces) / len(faces), 4) if faces else None


# --- error versus discard, and the calibration ---------------------------------------------------


def component_matrix(qualities: Sequence[FaceQuality]) -> dict[str, npt.NDArray[np.float64]]:
    return {
        f.name: np.array([getattr(q, f.name) for q in qualities], np.float64) for f in fields(FaceQuality)
    }


def passes(values: dict[str, npt.NDArray[np.float64]], profile: QualityProfile) -> npt.NDArray[np.bool_]:
    """Vectorised :func:`bioexit.quality.validate`: which captures pass ``profile``."""
    n = len(next(iter(values.values())))
    ok = np.ones(n, bool)
    for limit, component, direction in LIMITS:
        ok &= _within(values[component], direction, float(getattr(profile, limit)))
    if profile.require_eyes_visible:
        ok &= values["eyes_visible"] >= EYE_VISIBLE_AT
    return ok


def _within(values: npt.NDArray[np.float64], direction: Direction, limit: float) -> npt.NDArray[np.bool_]:
    # Written so that NaN fails, as in validate().
    if direction == "min":
        return np.asarray(values >= limit)
    if direction == "max":
        return np.asarray(values <= limit)
    return np.asarray(np.abs(values) <= limit)


def error_versus_discard(
    unified: npt.ArrayLike, matched: npt.ArrayLike, fractions: Sequence[float] = DISCARD_GRID
) -> list[dict[str, float]]:
    """FNMR of the captures kept after discarding the lowest-``unified`` fraction (ties: stable order)."""
    quality = np.asarray(unified, np.float64)
    ok = np.asarray(matched, bool)
    order = np.argsort(quality, kind="stable")
    curve = []
    for fraction in fractions:
        keep = order[int(math.floor(fraction * len(order))) :]
        fnmr = float(1.0 - ok[keep].mean()) if len(keep) else float("nan")
        curve.append({"discarded": fraction, "kept": int(len(keep)), "fnmr": round(fnmr, 5)})
    return curve


OPEN_PROFILE = QualityProfile(
    name="open",
    min_inter_eye_distance=0.0,
    max_abs_yaw=90.0,
    max_abs_pitch=90.0,
    max_abs_roll=180.0,
    min_sharpness=0.0,
    min_exposure=0.0,
    max_exposure=255.0,
    max_underexposed=1.0,
    max_overexposed=1.0,
    min_contrast=0.0,
    max_compression=1.0,
    max_occlusion=1.0,
    require_eyes_visible=False,
    min_unified=0.0,
)
"""Every limit wide open: where the calibration starts."""

QUANTILE_STEPS = (0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75)


@dataclass(frozen=True, slots=True)
class Calibration:
    profile: QualityProfile
    reached: bool
    fnmr: float
    discarded: float
    passing: int
    total: int
    steps: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": asdict(self.profile),
            "reached_target": self.reached,
            "fnmr_of_passing": round(self.fnmr, 5),
            "discarded": round(self.discarded, 5),
            "passing": self.passing,
            "total": self.total,
            "steps": list(self.steps),
        }


def _round_limit(value: float, direction: Direction) -> float:
    """Two significant digits, rounded towards the looser side so the chosen captures still pass."""
    if value == 0 or not math.isfinite(value):
        return value
    magnitude = float(10.0 ** (math.floor(math.log10(abs(value))) - 1))
    steps = math.floor(value / magnitude) if direction == "min" else math.ceil(value / magnitude)
    return float(round(steps * magnitude, 10))


SIGNIFICANCE_Z = 2.5
"""How far (in standard errors) the non-match rate of the captures a step rejects must exceed
that of the captures it keeps (one-sided two-proportion z-test) for the step to count."""


def _significant(failed_out: float, rejected: float, failed_in: float, kept: float) -> bool:
    """Do the rejected captures fail clearly more often than the kept ones?"""
    if rejected <= 0 or kept <= 0:
        return False
    pooled = (failed_out + failed_in) / (rejected + kept)
    spread = math.sqrt(max(pooled * (1.0 - pooled), 1e-12) * (1.0 / rejected + 1.0 / kept))
    return (failed_out / rejected - failed_in / kept) / spread >= SIGNIFICANCE_Z


def _with(profile: QualityProfile, limit: str, value: float) -> QualityProfile:
    return QualityProfile(**{**asdict(profile), limit: value})


def calibrate_profile(
    qualities: Sequence[FaceQuality],
    matched: Sequence[bool],
    *,
    name: str,
    target_fnmr: float = TARGET_FNMR,
    start: QualityProfile = OPEN_PROFILE,
    require_eyes_visible: bool = False,
    max_discard: float = 0.9,
    groups: Sequence[str] | None = None,
) -> Calibration:
    """The per-component limits that bring the FNMR of passing captures to ``target_fnmr``, discarding little.

    Greedy: from ``start``, repeatedly tighten the one limit whose next step (a quantile of the
    passing captures' values, :data:`QUANTILE_STEPS`) rejects the highest share of non-matches
    among the captures it rejects, until the passing captures' FNMR is at most the target.
    A step must reject captures that fail clearly more often than those it keeps
    (:func:`_significant`, z ≥ :data:`SIGNIFICANCE_Z`), so that noise is not carved away, and
    may not take the discard past ``max_discard``; when no step qualifies, the calibration stops
    short of the target and says so (``reached`` false). Then every limit is tried back at its
    ``start`` value and kept there where the target still holds. Limits are rounded to two
    significant digits on the loose side.

    ``groups`` names the unit each capture belongs to (one occupant of one vehicle): captures of
    one occupant fail or match together far more than independent draws would, so the test
    counts each side in effective captures (captures ÷ captures per group) and a step must
    reject the non-matches of at least two groups.
    """
    if len(qualities) != len(matched) or not qualities:
        raise ValueError("need one match flag per quality, and at least one")
    if groups is not None and len(groups) != len(qualities):
        raise ValueError("need one group per quality")
    group_ids = np.unique(
        np.asarray(groups if groups is not None else range(len(qualities))), return_inverse=True
    )[1]
    values = component_matrix(qualities)
    ok = np.asarray(matched, bool)
    profile = replace(start, name=name, require_eyes_visible=require_eyes_visible)
    steps: list[dict[str, Any]] = []

    def state(p: QualityProfile) -> tuple[npt.NDArray[np.bool_], float]:
        keep = passes(values, p)
        return keep, (float(1.0 - ok[keep].mean()) if keep.any() else 0.0)

    keep, fnmr = state(profile)
    while fnmr > target_fnmr:
        best: tuple[float, int, QualityProfile, str] | None = None
        for limit, component, direction in LIMITS:
            current = values[component][keep]
            if direction == "abs_max":
                current = np.abs(current)
            for q in QUANTILE_STEPS:
                edge = float(np.quantile(current, q if direction == "min" else 1 - q))
                candidate_limit = _round_limit(edge, direction)
                candidate = _with(profile, limit, candidate_limit)
                if candidate == profile:
                    continue
                rejected = keep & ~passes(values, candidate)
                n_rejected = int(rejected.sum())
                failures = int((rejected & ~ok).sum())
                if n_rejected == 0 or failures == 0 or n_rejected == int(keep.sum()):
                    continue
                n_kept = int(keep.sum()) - n_rejected
                if n_kept < (1.0 - max_discard) * len(keep):
                    continue
                kept_now = keep & ~rejected
                failed_groups = len(np.unique(group_ids[rejected & ~ok]))
                out_scale = n_rejected / len(np.unique(group_ids[rejected]))
                in_scale = n_kept / len(np.unique(group_ids[kept_now]))
                failed_in = int((kept_now & ~ok).sum())
                if failed_groups < 2 or not _significant(
                    failures / out_scale, n_rejected / out_scale, failed_in / in_scale, n_kept / in_scale
                ):
                    continue
                precision = failures / n_rejected
                if best is None or (precision, -n_rejected) > (best[0], -best[1]):
                    best = (precision, n_rejected, candidate, limit)
        if best is None:
            break
        profile = best[2]
        keep, fnmr = state(profile)
        steps.append(
            {
                "limit": best[3],
                "value": getattr(profile, best[3]),
                "fnmr": round(fnmr, 5),
                "passing": int(keep.sum()),
            }
        )
    # Loosen back whatever the target does not need.
    changed = True
    while changed and fnmr <= target_fnmr:
        changed = False
        for limit, _component, _direction in LIMITS:
            if getattr(profile, limit) == getattr(start, limit):
                continue
            loose = _with(profile, limit, getattr(start, limit))
            loose_keep, loose_fnmr = state(loose)
            if loose_fnmr <= target_fnmr and loose_keep.sum() > keep.sum():
                profile, keep, fnmr = loose, loose_keep, loose_fnmr
                steps.append(
                    {
                        "limit": limit,
                        "value": getattr(profile, limit),
                        "fnmr": round(fnmr, 5),
                        "loosened": True,
                    }
                )
                changed = True
    return Calibration(
        profile=profile,
        reached=fnmr <= target_fnmr,
        fnmr=fnmr,
        discarded=1.0 - float(keep.mean()),
        passing=int(keep.sum()),
        total=len(keep),
        steps=tuple(steps),
    )


def profile_report(captures: Sequence[Capture], threshold: float, profile: QualityProfile) -> dict[str, Any]:
    """FNMR (at ``threshold``) of the enrolled captures that pass ``profile``, with breakdowns."""
    mated = [c for c in captures if c.genuine is not None]
    if not mated:
        return {"profile": profile.name, "captures": 0}
    values = component_matrix([c.quality for c in mated])
    keep = passes(values, profile)
    ok = np.array([c.genuine is not None and c.genuine >= threshold for c in mated])
    by_row: dict[str, Any] = {}
    for row in (1, 2, 3):
        sel = np.array([c.row == row for c in mated])
        by_row[str(row)] = {
            "captures": int(sel.sum()),
            "passing": int((sel & keep).sum()),
            "fnmr_of_passing": _fnmr(ok[sel & keep]),
        }
    failed: Counter[str] = Counter()
    for limit, component, direction in LIMITS:
        failed[limit] = int((~_within(values[component], direction, float(getattr(profile, limit)))).sum())
    return {
        "profile": profile.name,
        "captures": len(mated),
        "passing": int(keep.sum()),
        "discarded": round(1.0 - float(keep.mean()), 4),
        "fnmr_all": _fnmr(ok),
        "fnmr_of_passing": _fnmr(ok[keep]),
        "by_row": by_row,
        "rejections_by_limit": dict(failed),
    }


def capture_rates(
    captures: Sequence[Capture], occupants: dict[str, list[str]], profile: QualityProfile
) -> dict[str, Any]:
    """Occupants with at least one capture passing ``profile``, and vehicles where every occupant has one.

    ``occupants`` maps each encounter to its occupants' person ids (from the truth), so that an
    occupant never detected counts as not captured. An upper bound for a pipeline that tracks
    perfectly: it ignores tracking and fusion, only asks whether a passing capture exists.
    """
    values = component_matrix([c.quality for c in captures]) if captures else {}
    keep = passes(values, profile) if captures else np.zeros(0, bool)
    passed = {(c.encounter_id, c.person_id) for c, k in zip(captures, keep, strict=True) if k}
    total = sum(len(people) for people in occupants.values())
    got = sum((e, p) in passed for e, people in occupants.items() for p in people)
    full = sum(all((e, p) in passed for p in people) for e, people in occupants.items())
    return {
        "occupants": total,
        "occupant_capture_rate": round(got / total, 4) if total else None,
        "vehicles": len(occupants),
        "vehicle_capture_rate": round(full / len(occupants), 4) if occupants else None,
    }


def _fnmr(ok: npt.NDArray[np.bool_]) -> float | None:
    return round(float(1.0 - ok.mean()), 5) if len(ok) else None


def empirical_fmr(captures: Sequence[Capture], threshold: float) -> dict[str, Any]:
    impostors = np.array([s for c in captures for s in c.impostors], np.float64)
    if not len(impostors):
        return {"impostor_pairs": 0}
    return {
        "impostor_pairs": int(len(impostors)),
        "false_matches": int((impostors >= threshold).sum()),
        "fmr": round(float((impostors >= threshold).mean()), 6),
    }


def degradation_breakdown(captures: Sequence[Capture], threshold: float) -> dict[str, Any]:
    """FNMR of all mated captures by coarse bins of each degradation."""
    out: dict[str, Any] = defaultdict(dict)
    mated = [c for c in captures if c.genuine is not None]
    bins = {
        "glare": (0.0, 0.3),
        "motion_blur_px": (2.0, 5.0),
        "noise_sigma": (4.0, 8.0),
        "light_gain": (0.5, 0.999),
        "jpeg_quality": (60.0, 75.0),
        "tint": (0.2, 0.35),
    }
    for name, (low, high) in bins.items():
        for label, lo, hi in (
            (f"<= {low:g}", -math.inf, low),
            (f"{low:g}..{high:g}", low, high),
            (f"> {high:g}", high, math.inf),
        ):
            sel = [c for c in mated if lo < float(c.degradations[name]) <= hi]
            if sel:
                ok = np.array([c.genuine is not None and c.genuine >= threshold for c in sel])
                out[name][label] = {"captures": len(sel), "fnmr": _fnmr(ok)}
    return dict(out)


def plot_error_versus_discard(
    curves: dict[str, list[dict[str, float]]],
    path: Path,
    target: float,
    profiles: dict[str, tuple[float, float]] | None = None,
) -> None:
    """FNMR against the discarded fraction; each profile as one point (its discard, its FNMR)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for label, curve in curves.items():
        ax.plot([p["discarded"] for p in curve], [p["fnmr"] for p in curve], marker="o", ms=3, label=label)
    for label, (discarded, fnmr) in (profiles or {}).items():
        ax.plot([discarded], [fnmr], marker="*", ms=12, ls="none", label=label)
    ax.axhline(target, color="grey", ls="--", lw=1, label=f"FNMR {target:g}")
    ax.set_xlabel("fraction of captures discarded")
    ax.set_ylabel("FNMR at FMR 1e-3")
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_ylim(bottom=0)
    ax.set_xlim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Error versus discard, simulated lane")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- the benchmark -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QualityBenchOptions:
    vehicles: int
    seed: int
    difficulty: Literal["easy", "hard"] = "hard"
    fmr: float = 1e-3
    target_fnmr: float = TARGET_FNMR
    calibrated_name: str = "bioexit-lane-calibrated"


def capture_records(captures: Sequence[Capture]) -> list[dict[str, Any]]:
    """One flat record per capture (no images, no templates): the evidence a calibration ran on."""
    return [
        {
            "encounter_id": c.encounter_id,
            "frame": c.frame,
            "position": c.position,
            "row": c.row,
            "person_id": c.person_id,
            "enrolled": c.enrolled,
            "visible": c.visible,
            "genuine": None if c.genuine is None else round(c.genuine, 5),
            "impostor_max": round(max(c.impostors), 5) if c.impostors else None,
            "degradations": c.degradations,
            "quality": {k: round(float(v), 5) for k, v in asdict(c.quality).items()},
        }
        for c in captures
    ]


def run_quality_bench(
    simulation: Path,
    engine: FaceEngine,
    threshold: float,
    current: QualityProfile,
    options: QualityBenchOptions,
    limits: ImageLimits,
    plot: Path | None = None,
    progress: Progress | None = None,
    records: Path | None = None,
) -> dict[str, Any]:
    """Scan a simulation, then calibrate on its even vehicles and check on its odd ones."""
    scan = scan_simulation(simulation, engine.detector, limits, engine=engine, progress=progress)
    if records is not None:
        records.parent.mkdir(parents=True, exist_ok=True)
        lines = (json.dumps(r) for r in capture_records(scan.captures))
        records.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mated = [c for c in scan.captures if c.genuine is not None]
    if not mated:
        return {"error": "no mated captures", "detection": detection_summary(scan)}

    def vehicle(c: Capture) -> int:
        return int(c.encounter_id.rsplit("-", 1)[1])

    fit = [c for c in mated if vehicle(c) % 2 == 0]
    held_out = [c for c in mated if vehicle(c) % 2 == 1] or fit
    matched = [c.genuine is not None and c.genuine >= threshold for c in fit]
    calibration = calibrate_profile(
        [c.quality for c in fit],
        matched,
        name=options.calibrated_name,
        target_fnmr=options.target_fnmr,
        require_eyes_visible=current.require_eyes_visible,
        groups=[f"{c.encounter_id}/{c.person_id}" for c in fit],
    )
    unified = [c.quality.unified for c in mated]
    ok = [c.genuine is not None and c.genuine >= threshold for c in mated]
    curves = {
        "discard by unified quality (all mated captures)": error_versus_discard(unified, ok),
        "discard by detection score": error_versus_discard([c.quality.detection_score for c in mated], ok),
        "discard by head overlap": error_versus_discard([-c.quality.head_overlap for c in mated], ok),
    }
    others = {name: p for name, p in PROFILES.items() if name != current.name}
    held = {
        "open": profile_report(held_out, threshold, OPEN_PROFILE),
        "current": profile_report(held_out, threshold, current),
        "calibrated": profile_report(held_out, threshold, calibration.profile),
        **{name: profile_report(held_out, threshold, p) for name, p in others.items()},
    }
    occupants = {
        item.truth["encounter_id"]: [o["person_id"] for o in item.truth["occupants"]]
        for item in encounters(simulation)
    }
    odd = {e: p for e, p in occupants.items() if int(e.rsplit("-", 1)[1]) % 2 == 1} or occupants
    odd_captures = [c for c in scan.captures if c.encounter_id in odd]
    named = {"open": OPEN_PROFILE, "current": current, "calibrated": calibration.profile, **others}
    for name, profile in named.items():
        held[name]["capture"] = capture_rates(odd_captures, odd, profile)
    if plot is not None:
        points = {
            f"{current.name} (held out)": held["current"],
            f"{calibration.profile.name} (held out)": held["calibrated"],
            **{f"{name} (held out)": held[name] for name in others},
        }
        plot_error_versus_discard(
            curves,
            plot,
            options.target_fnmr,
            {
                k: (v["discarded"], v["fnmr_of_passing"])
                for k, v in points.items()
                if v.get("fnmr_of_passing") is not None
            },
        )
    return {
        "vehicles": options.vehicles,
        "seed": options.seed,
        "difficulty": options.difficulty,
        "fmr": options.fmr,
        "threshold": round(threshold, 5),
        "target_fnmr": options.target_fnmr,
        "detection": detection_summary(scan),
        "captures": len(scan.captures),
        "mated_captures": len(mated),
        "empirical_fmr": empirical_fmr(scan.captures, threshold),
        "error_versus_discard": curves,
        "calibration": {
            "fit_on": "even vehicle indices",
            "fit_captures": len(fit),
            **calibration.as_dict(),
        },
        "held_out": {"captures": len(held_out), **held},
        "all": {
            "current": profile_report(mated, threshold, current),
            "calibrated": profile_report(mated, threshold, calibration.profile),
        },
        "fnmr_by_degradation": degradation_breakdown(mated, threshold),
        "plot": None if plot is None else str(plot),
    }
