"""Hand-made observations, templates and matchers for unit tests of the lane's logic (no models)."""

from __future__ import annotations

import numpy as np

from bioexit.alignment import ARCFACE_112, DLIB_CHIP_150
from bioexit.detection.types import Detection
from bioexit.embedding.types import ModelInfo, Template
from bioexit.lane.gallery import LaneGallery
from bioexit.lane.occupants import Observation
from bioexit.matching import CalibrationTable, Matcher
from bioexit.quality import FaceQuality, Failure, Validation

INFO = ModelInfo("fake", "1", 8, "cosine", ARCFACE_112)
# Impostor cosine scores spread over [-1, 0.5]: the threshold at FMR 1e-3 is about 0.5.
MATCHER = Matcher(CalibrationTable.from_scores(INFO, np.linspace(-1.0, 0.5, 20000)), 1e-3)


def template(direction: int, noise: float = 0.0, seed: int = 0) -> Template:
    """Unit vector along axis ``direction`` (one per person), plus a little noise."""
    vector = np.zeros(INFO.dim, np.float32)
    vector[direction] = 1.0
    vector += np.random.default_rng(seed).normal(0, noise, INFO.dim).astype(np.float32)
    return Template(vector, INFO.model_id, INFO.version, "cosine")


def quality(unified: float = 90.0) -> FaceQuality:
    return FaceQuality(60.0, 0.0, 0.0, 0.0, 20.0, 120.0, 0.0, 0.0, 0.15, 0.0, 0.0, 1.0, unified)


def observation(
    step: int,
    x: float,
    y: float,
    width: float,
    *,
    camera: str = "cam",
    passed: bool = True,
    unified: float = 90.0,
    score: float = 0.99,
    person: int | None = None,
    frame: int | None = None,
) -> Observation:
    """A face box centred at (x, y), with a frontal landmark layout scaled to it."""
    chip = np.asarray(DLIB_CHIP_150.landmarks, np.float32)
    marks = (chip - 75.0) * (width / 150.0) + np.array([x, y], np.float32)
    half = width / 2
    detection = Detection(x - half, y - half * 1.2, x + half, y + half * 1.2, score, marks)
    failures = () if passed else (Failure("inter_eye_distance", "≥ 40", 10.0),)
    return Observation(
        frame=step if frame is None else frame,
        camera_id=camera,
        step=step,
        detection=detection,
        quality=quality(unified),
        validation=Validation("test", passed, failures),
        template=None if person is None else template(person, 0.05, seed=step * 100 + int(x)),
    )


def gallery(people: int) -> LaneGallery:
    references = LaneGallery(INFO)
    for p in range(people):
        references.add(f"doc-{p}", f"person-{p}", template(p), f"DOC{p:04d}")
    return references
