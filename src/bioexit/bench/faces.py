"""``bioexit bench faces``: detection recall by face width, speed, and verification accuracy."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bioexit.alignment import align
from bioexit.bench.dataset import FaceDataset, read_dataset_image
from bioexit.bench.scores import PairScores, plot_det
from bioexit.bench.synth import Background, compose_frames, cover_frame, prepare_background
from bioexit.detection.types import Detection, Detector, RGBImage
from bioexit.embedding.types import Embedder, scores
from bioexit.settings import ImageLimits

Progress = Callable[[str, int, int], None]
DEFAULT_WIDTHS = (16, 20, 24, 32, 48, 64, 96, 128)
FARS = (0.01, 0.001)


@dataclass(frozen=True, slots=True)
class FacesBenchOptions:
    widths: Sequence[int] = DEFAULT_WIDTHS
    faces_per_frame: int = 6
    seed: int = 0
    max_faces: int | None = None  # per width; None = every labelled face
    det_plot: Path | None = None
    limits: ImageLimits = field(default_factory=ImageLimits)


def largest(detections: Sequence[Detection]) -> Detection | None:
    return max(detections, key=lambda d: d.width * d.height, default=None)


def _median_ms(samples: list[float]) -> float | None:
    return round(statistics.median(samples) * 1000, 2) if samples else None


def detection_recall(
    detectors: Mapping[str, Detector],
    faces: Sequence[tuple[RGBImage, Detection]],
    backgrounds: Sequence[Background],
    options: FacesBenchOptions,
    progress: Progress | None = None,
) -> dict[str, dict[str, Any]]:
    """Recall by width and ms per 1080p frame, every detector on the very same frames."""
    rng = np.random.default_rng(options.seed)
    chosen = list(faces)
    if options.max_faces is not None and len(chosen) > options.max_faces:
        picks = rng.choice(len(chosen), size=options.max_faces, replace=False)
        chosen = [chosen[i] for i in sorted(picks)]
    hits = {name: {w: 0 for w in options.widths} for name in detectors}
    timings: dict[str, list[float]] = {name: [] for name in detectors}
    totals = dict.fromkeys(options.widths, 0)
    for step, width in enumerate(options.widths):
        frames = compose_frames(chosen, backgrounds, width, faces_per_frame=options.faces_per_frame, rng=rng)
        for frame in frames:
            totals[width] += len(frame.faces)
            for name, detector in detectors.items():
                start = time.perf_counter()
                found = detector.detect(frame.image)
                timings[name].append(time.perf_counter() - start)
                hits[name][width] += sum(any(face.found_by(d) for d in found) for face in frame.faces)
        if progress:
            progress("detection recall by width", step + 1, len(options.widths))
    return {
        name: {
            "recall_by_width": {
                str(w): round(hits[name][w] / totals[w], 4) for w in options.widths if totals[w]
            },
            "faces_per_width": {str(w): totals[w] for w in options.widths},
            "ms_per_frame_1080p": _median_ms(timings[name]),
            "frames_timed": len(timings[name]),
        }
        for name in detectors
    }


def backgrounds_from(photos: Sequence[RGBImage], reference: Detector) -> list[Background]:
    """1080p backgrounds from real photos, with the faces they already show marked."""
    covered = [cover_frame(photo) for photo in photos]
    return [prepare_background(frame, reference.detect(frame)) for frame in covered]


def verification_accuracy(
    embedder: Embedder,
    images: Sequence[RGBImage],
    boxes: Sequence[Detection],
    identities: list[str],
) -> tuple[dict[str, Any], PairScores]:
    info = embedder.info
    chips = [align(image, box.landmarks, info.crop) for image, box in zip(images, boxes, strict=True)]
    embedder.embed(chips[:1])  # load the model outside the timing
    per_face: list[float] = []
    vectors = []
    for chip in chips:
        start = time.perf_counter()
        vectors.append(embedder.embed([chip])[0].vector)
        per_face.append(time.perf_counter() - start)
    matrix = np.stack(vectors)
    similarity = np.stack([scores(info.metric, v, matrix) for v in matrix])
    pairs = PairScores.from_matrix(similarity, identities)
    result = {
        "model": info.key,
        "tar_at_far": {str(far): round(pairs.tar_at_far(far), 4) for far in FARS},
        "eer": round(pairs.eer(), 4),
        "ms_per_embedding": _median_ms(per_face),
        "genuine_pairs": len(pairs.genuine),
        "impostor_pairs": len(pairs.impostor),
        "genuine_score_median": round(float(np.median(pairs.genuine)), 4),
        "impostor_score_max": round(float(pairs.impostor[0]), 4),
    }
    return result, pairs


def run_faces_bench(
    dataset: FaceDataset,
    detectors: Mapping[str, Detector],
    embedders: Mapping[str, Embedder],
    reference: str,
    options: FacesBenchOptions,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The whole benchmark; ``reference`` names the detector whose boxes define face width."""
    images = [read_dataset_image(item.path, options.limits) for item in dataset.images]
    groups = [read_dataset_image(path, options.limits) for path in dataset.groups]

    backends: dict[str, dict[str, Any]] = {}
    found_boxes: dict[str, list[Detection | None]] = {}
    for name, detector in detectors.items():
        per_image = []
        for i, image in enumerate(images):
            per_image.append(largest(detector.detect(image)))
            if progress:
                progress(f"{name}: labelled photos", i + 1, len(images))
        found_boxes[name] = per_image
        backends[name] = {
            "failures_to_detect": sum(b is None for b in per_image),
            "failed_images": [
                str(dataset.images[i].path.relative_to(dataset.root))
                for i, b in enumerate(per_image)
                if b is None
            ],
            "group_faces": {
                path.name: len(detector.detect(g)) for path, g in zip(dataset.groups, groups, strict=True)
            },
        }

    ref_boxes = found_boxes[reference]
    pasted = [(img, box) for img, box in zip(images, ref_boxes, strict=True) if box is not None]
    backgrounds = backgrounds_from(groups or images, detectors[reference])
    recall = detection_recall(detectors, pasted, backgrounds, options, progress)
    for name in detectors:
        backends[name].update(recall[name])

    kept = [(i, box) for i, box in enumerate(ref_boxes) if box is not None]
    identities = [dataset.images[i].identity for i, _ in kept]
    embedder_results: dict[str, dict[str, Any]] = {}
    curves: dict[str, PairScores] = {}
    for name, embedder in embedders.items():
        result, pairs = verification_accuracy(
            embedder, [images[i] for i, _ in kept], [box for _, box in kept], identities
        )
        embedder_results[name] = result
        curves[name] = pairs

    first_embedder = next(iter(embedder_results.values()))
    report: dict[str, Any] = {
        "data": str(dataset.root),
        "images": len(images),
        "identities": len(dataset.identities),
        "group_photos": len(groups),
        "seed": options.seed,
        "face_width_definition": f"width of the {reference} box on the full-resolution photo",
        "default": {"detector": reference, "embedder": first_embedder["model"]},
        **{
            k: backends[reference][k] for k in ("recall_by_width", "ms_per_frame_1080p", "failures_to_detect")
        },
        **{k: first_embedder[k] for k in ("tar_at_far", "eer", "ms_per_embedding")},
        "backends": backends,
        "embedders": embedder_results,
    }
    if options.det_plot is not None:
        report["det_curve_png"] = str(plot_det(curves, options.det_plot))
    return report
