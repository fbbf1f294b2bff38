"""One vehicle, from frames to decisions: :func:`process` is pure (arrays in, a result out).

The IO edges are :func:`bioexit.lane.frames.read_frames` (decoding) and
:class:`bioexit.lane.store.ResultStore` (idempotent persistence); :func:`process_folder` joins them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from bioexit.alignment import align
from bioexit.detection.types import Detection, RGBImage
from bioexit.embedding.types import Template
from bioexit.encounters import Encounter
from bioexit.engine import FaceEngine, build_matcher
from bioexit.lane.decisions import Decision, decide_with_documents, decide_with_gallery
from bioexit.lane.frames import FrameInput, camera_error, read_encounter, read_frames
from bioexit.lane.gallery import LaneGallery
from bioexit.lane.occupants import (
    Embed,
    LaneRules,
    Observation,
    OccupantFinding,
    OccupantTrack,
    Rejected,
    Stillness,
    face_thumbnail,
    find_occupants,
)
from bioexit.lane.regions import Region, moving_regions
from bioexit.lane.result import (
    Box,
    Capture,
    Departure,
    FrameError,
    Occupant,
    RejectedFace,
    VehicleResult,
)
from bioexit.lane.store import ResultStore
from bioexit.matching import Matcher
from bioexit.quality import DEFAULT_PROFILE, QualityProfile, assess, lane_profile, validate
from bioexit.settings import Settings


@dataclass(frozen=True)
class LanePipeline:
    """Everything :func:`process` needs besides the vehicle: engine, matcher, profile and rules."""

    engine: FaceEngine
    matcher: Matcher
    profile: QualityProfile = DEFAULT_PROFILE
    rules: LaneRules = field(default_factory=LaneRules)
    regions: bool = True  # search only the moving vehicle (see bioexit.lane.regions)
    frames_per_camera: int | None = None  # only each camera's last (nearest) frames; None: all
    workers: int = 1  # frames searched at once

    @property
    def link_threshold(self) -> float:
        return self.matcher.table.threshold(self.rules.link_fmr)


def build_pipeline(settings: Settings) -> LanePipeline:
    """The default lane pipeline from settings; models load on first use."""
    from bioexit.engine import build_detector, build_embedder
    from bioexit.settings import MtcnnDetectorConfig

    detector_config = settings.detector
    if isinstance(detector_config, MtcnnDetectorConfig) and settings.lane.min_face_px is not None:
        detector_config = detector_config.model_copy(update={"min_face_px": settings.lane.min_face_px})
    if isinstance(detector_config, MtcnnDetectorConfig) and settings.lane.workers > 1:
        detector_config = detector_config.model_copy(update={"threads": 1})
    engine = FaceEngine(build_detector(detector_config), build_embedder(settings.embedder))
    matcher = build_matcher(settings, engine.embedder.info)
    rules = LaneRules(fuse=settings.lane.fuse, link_fmr=settings.lane.link_fmr)
    return LanePipeline(
        engine,
        matcher,
        profile=lane_profile(settings.lane.quality_profile, settings.detector.kind),
        rules=rules,
        regions=settings.lane.regions,
        frames_per_camera=settings.lane.frames_per_camera,
        workers=settings.lane.workers,
    )


def _detect(image: RGBImage, region: Region | None, pipeline: LanePipeline) -> list[Detection]:
    if region is None:
        return pipeline.engine.detector.detect(image)
    x1, y1, x2, y2 = region
    found = pipeline.engine.detector.detect(np.ascontiguousarray(image[y1:y2, x1:x2]))
    offset = np.array([x1, y1], np.float32)
    return [
        Detection(d.x1 + x1, d.y1 + y1, d.x2 + x1, d.y2 + y1, d.score, d.landmarks + offset) for d in found
    ]


def observe(
    frame: FrameInput, step: int, pipeline: LanePipeline, region: Region | None = None
) -> list[Observation]:
    """Detect (in ``region`` if given) and assess every face of one frame; templates come later."""
    assert frame.image is not None
    observations = []
    detections = _detect(frame.image, region, pipeline)
    for detection in detections:
        quality = assess(frame.image, detection, detections)  # the others: for head_overlap
        observations.append(
            Observation(
                frame.index,
                frame.ref.camera_id,
                step,
                detection,
                quality,
                validate(quality, pipeline.profile),
                thumbnail=face_thumbnail(frame.image, detection),
            )
        )
    return observations


STILL_SEARCH = 0.4
"""Stillness looks for a face's patch this many face sizes around its box (a bystander's sway)."""

STILL_SIZE = 16
"""Stillness compares patches with the face box scaled to this many pixels (cheap, and blind to
the noise and JPEG faults that differ between frames)."""


def _still_window(
    image: RGBImage, detection: Detection
) -> tuple[npt.NDArray[np.uint8], tuple[int, int, int, int]] | None:
    """The face's neighbourhood in grey, scaled so that the face box is :data:`STILL_SIZE` wide,
    and where the face box lies in it (x, y, width, height).

    The window's crop and scale depend on the box only, so the windows of one box in every frame
    of a camera share one sampling grid: a patch that did not move is found again exactly (a
    template resampled on its own grid would be off by a fraction of a sample, which costs a
    small patch much of its correlation).
    """
    width, height = max(detection.width, 1.0), max(detection.height, 1.0)
    x1 = int(max(detection.x1 - STILL_SEARCH * width, 0))
    y1 = int(max(detection.y1 - STILL_SEARCH * height, 0))
    x2 = int(min(detection.x2 + STILL_SEARCH * width, image.shape[1]))
    y2 = int(min(detection.y2 + STILL_SEARCH * height, image.shape[0]))
    sx, sy = STILL_SIZE / width, STILL_SIZE / height
    size = (round((x2 - x1) * sx), round((y2 - y1) * sy))
    # The face box on that grid, cut where it runs off the frame.
    fx, fy = round((detection.x1 - x1) * sx), round((detection.y1 - y1) * sy)
    fx1, fy1 = max(fx, 0), max(fy, 0)
    fx2, fy2 = min(fx + STILL_SIZE, size[0]), min(fy + STILL_SIZE, size[1])
    if fx2 - fx1 < 4 or fy2 - fy1 < 4:
        return None
    face = (fx1, fy1, fx2 - fx1, fy2 - fy1)
    grey = cv2.cvtColor(np.ascontiguousarray(image[y1:y2, x1:x2]), cv2.COLOR_RGB2GRAY)
    return np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), np.uint8), face


def _stillness(cameras: dict[str, list[FrameInput]]) -> Stillness:
    """:data:`bioexit.lane.occupants.Stillness` over each camera's frames (in time order)."""

    def still(o: Observation) -> float | None:
        own = cameras.get(o.camera_id, [])
        if not 0 <= o.step < len(own) or own[o.step].image is None:
            return None
        here = _still_window(own[o.step].image, o.detection)  # type: ignore[arg-type]
        if here is None:
            return None
        window, (x, y, w, h) = here
        template = window[y : y + h, x : x + w]
        best = None
        for step, frame in enumerate(own):
            if abs(step - o.step) < 2 or frame.image is None:
                continue
            there = _still_window(frame.image, o.detection)
            if there is None or there[0].shape[0] < h or there[0].shape[1] < w:
                continue  # a frame of another size cut the window short
            match = float(cv2.matchTemplate(there[0], template, cv2.TM_CCOEFF_NORMED).max())
            best = match if best is None else max(best, match)
        return best

    return still


def _embedder(frames: Sequence[FrameInput], pipeline: LanePipeline) -> Embed:
    images = {f.index: f.image for f in frames}

    crop = pipeline.engine.embedder.info.crop

    def embed(observations: Sequence[Observation]) -> list[Template]:
        chips = []
        for o in observations:
            image = images[o.frame]
            assert image is not None
            chips.append(align(image, o.detection.landmarks, crop))
        return list(pipeline.engine.embedder.embed(chips))  # one batch for the whole vehicle

    return embed


def _box(o: Observation) -> Box:
    d = o.detection
    return Box(
        camera_id=o.camera_id,
        frame=o.frame,
        x1=round(d.x1, 1),
        y1=round(d.y1, 1),
        x2=round(d.x2, 1),
        y2=round(d.y2, 1),
    )


def _capture(o: Observation) -> Capture:
    return Capture(
        box=_box(o),
        detection_score=round(o.detection.score, 4),
        quality=round(o.quality.unified, 2),
        passed=o.validation.passed,
        failures=o.validation.failed_components,
    )


def _occupant(index: int, occupant: OccupantTrack, decision: Decision, matcher: Matcher) -> Occupant:
    confirmed = decision.status == "confirmed"
    return Occupant(
        occupant_id=f"occ-{index}",
        status=decision.status,
        identity=decision.identity if confirmed else None,
        gallery_entry=decision.entry_id if confirmed else None,
        document=decision.document if confirmed else None,
        score=None if decision.score is None else round(decision.score, 4),
        threshold=round(matcher.threshold, 4) if occupant.captures else None,
        fmr=matcher.fmr if occupant.captures else None,
        reason=decision.reason,
        cameras=occupant.cameras,
        frames_seen=len({o.frame for o in occupant.observations}),
        track=tuple(_box(o) for o in sorted(occupant.observations, key=lambda o: (o.frame, o.detection.x1))),
        captures=tuple(_capture(o) for o in occupant.captures),
        best_attempt=None if occupant.best_attempt is None else _capture(occupant.best_attempt),
    )


def _rejected(r: Rejected) -> RejectedFace:
    return RejectedFace(
        reason=r.reason,
        detail=r.detail,
        boxes=tuple(_box(o) for o in r.track.observations),
    )


def process(
    encounter: Encounter,
    frames: Sequence[FrameInput],
    gallery: LaneGallery,
    pipeline: LanePipeline,
    *,
    fusion: bool = True,
    clock: Callable[[], float] = time.perf_counter,
) -> VehicleResult:
    """Find the vehicle's occupants in ``frames`` and decide on each.

    Bad frames (those carrying an error, or naming a camera the encounter does not list) are
    reported in ``frame_errors``; the others are processed. ``fusion=False`` keeps one capture
    per occupant (the single-shot baseline).
    """
    return analyse(encounter, frames, gallery, pipeline, fusion=fusion, clock=clock).result


@dataclass(frozen=True)
class Analysis:
    """A result and what led to it (occupants with templates), for benchmarks."""

    result: VehicleResult
    finding: OccupantFinding


def analyse(
    encounter: Encounter,
    frames: Sequence[FrameInput],
    gallery: LaneGallery,
    pipeline: LanePipeline,
    *,
    fusion: bool = True,
    clock: Callable[[], float] = time.perf_counter,
) -> Analysis:
    """:func:`process`, also returning the occupants it found (templates included)."""
    started = clock()
    errors: list[FrameError] = []
    usable: list[FrameInput] = []
    for frame in frames:
        error = frame.error or camera_error(encounter, frame.ref)
        if error is not None:
            errors.append(
                FrameError(
                    frame=frame.index,
                    camera_id=frame.ref.camera_id,
                    file=frame.ref.file,
                    error=type(error).__name__,
                    message=str(error),
                )
            )
        else:
            usable.append(frame)
    jobs: list[tuple[int, int, FrameInput, Region | None]] = []  # camera, step, frame, region
    in_order: dict[str, list[FrameInput]] = {}
    processed = 0
    for camera_index, camera in enumerate(encounter.cameras):
        own = sorted(
            (f for f in usable if f.ref.camera_id == camera.camera_id),
            key=lambda f: (f.ref.captured_at, f.index),
        )
        if pipeline.frames_per_camera is not None:
            own = own[-pipeline.frames_per_camera :]  # the nearest frames: the largest faces
        processed += len(own)
        in_order[camera.camera_id] = own
        images = [f.image for f in own if f.image is not None]
        regions = moving_regions(images) if pipeline.regions else [None] * len(own)
        jobs += [(camera_index, step, f, r) for step, (f, r) in enumerate(zip(own, regions, strict=True))]

    def search(job: tuple[int, int, FrameInput, Region | None]) -> list[Observation]:
        return observe(job[2], job[1], pipeline, job[3])

    if pipeline.workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(min(pipeline.workers, len(jobs))) as pool:
            found = list(pool.map(search, jobs))
    else:
        found = [search(job) for job in jobs]
    cameras: list[list[list[Observation]]] = [[] for _ in encounter.cameras]
    for (camera_index, _, _, _), observations in zip(jobs, found, strict=True):
        cameras[camera_index].append(observations)
    finding = find_occupants(
        cameras,
        pipeline.rules,
        pipeline.link_threshold,
        _embedder(usable, pipeline),
        fusion=fusion,
        stillness=_stillness(in_order),
        split_floor=pipeline.matcher.table.threshold(pipeline.rules.split_fmr),
    )
    if encounter.documents:
        mode = "documents"
        decisions, unmatched = decide_with_documents(
            finding.occupants, encounter.documents, gallery, pipeline.matcher
        )
    else:
        mode = "gallery"
        decisions, unmatched = decide_with_gallery(finding.occupants, gallery, pipeline.matcher), []
    occupants = tuple(
        _occupant(i, o, d, pipeline.matcher)
        for i, (o, d) in enumerate(zip(finding.occupants, decisions, strict=True), start=1)
    )
    confirmed = [o for o in occupants if o.status == "confirmed"]
    result = VehicleResult(
        encounter_id=encounter.encounter_id,
        port=encounter.port,
        lane=encounter.lane,
        direction=encounter.direction,
        mode=mode,
        model=pipeline.engine.embedder.info.key,
        quality_profile=pipeline.profile.name,
        fmr=pipeline.matcher.fmr,
        occupant_count=len(occupants),
        all_confirmed=bool(occupants) and len(confirmed) == len(occupants),
        occupants=occupants,
        departures=tuple(Departure(occupant_id=o.occupant_id, identity=o.identity or "") for o in confirmed),
        unmatched_documents=tuple(unmatched),
        rejected=tuple(_rejected(r) for r in finding.rejected),
        frame_errors=tuple(errors),
        frames_used=processed,
        seconds=round(clock() - started, 4),
    )
    return Analysis(result, finding)


def process_folder(
    folder: Path,
    gallery: LaneGallery,
    pipeline: LanePipeline,
    store: ResultStore | None,
    settings: Settings,
) -> tuple[VehicleResult, bool]:
    """Read, process and store one encounter folder; ``(result, True)`` if it was stored before.

    With a store, processing is idempotent on the encounter id: a second call returns the
    stored result and processes nothing.
    """
    started = time.perf_counter()
    encounter = read_encounter(folder)
    if store is not None:
        stored = store.get(encounter.encounter_id)
        if stored is not None:
            return stored, True
    frames = read_frames(folder, encounter, settings.images)
    result = process(encounter, frames, gallery, pipeline)
    result = result.model_copy(update={"seconds": round(time.perf_counter() - started, 4)})
    if store is None:
        return result, False
    return store.put(result)
