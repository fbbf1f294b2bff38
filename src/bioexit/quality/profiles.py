"""Quality profiles: named limits per component, and the check of a face against them."""

from __future__ import annotations

from dataclasses import dataclass, fields

from bioexit.errors import ConfigError
from bioexit.quality.components import EYE_VISIBLE_AT, FaceQuality


@dataclass(frozen=True, slots=True)
class QualityProfile:
    """Named limits on each quality component (units as in :class:`FaceQuality`).

    A face passes when every component is within its limit; a profile is the single place
    where a deployment says what "good enough to match" means, so it is named and versioned.
    """

    name: str
    min_inter_eye_distance: float
    max_abs_yaw: float
    max_abs_pitch: float
    max_abs_roll: float
    min_sharpness: float
    min_exposure: float
    max_exposure: float
    max_underexposed: float
    max_overexposed: float
    min_contrast: float
    max_compression: float
    max_occlusion: float
    require_eyes_visible: bool
    min_unified: float
    min_detection_score: float = 0.0
    max_head_overlap: float = 1.0
    score_detector: str | None = None
    """The detector (its settings ``kind``) whose confidence ``min_detection_score`` limits:
    detectors' scores are not comparable. None: any detector."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a quality profile needs a name")
        if self.min_exposure > self.max_exposure:
            raise ValueError(f"min_exposure {self.min_exposure} exceeds max_exposure {self.max_exposure}")


# How the "bioexit-lane-v0" numbers were chosen. assess() was run on the 130 labelled photos
# of the shared faces folder (../shared/data/faces/labels.csv), each with its largest MTCNN
# detection: good, roughly frontal photos that match well. Below, the observed range over the
# 130 (min … median … max), then the limit: for a lower limit about 0.8 × the observed
# minimum, for an upper limit the observed maximum plus about 25 % (5° for pose), each
# rounded outwards to a round number, so that every one of those photos passes with a margin.
# Where the photos give no useful extreme (clipped pixels, occlusion, eyes, unified) the note
# after the limit says what was used instead.
# Each photo was also shrunk (area averaging) to 42 px between the eyes, the lane regime just
# above the size limit; where that reads lower, the limit follows the lower reading.
#
#   component           native size                 at 42 px     limit
#   inter_eye_distance  49.9 … 78 … 598 px          (42)         ≥ 40 (also above ArcFace's 35 px crop)
#   yaw                 −25.3 … −0.6 … 17.7°        same         within ±30
#   pitch               −17.4 … −0.5 … 19.2°        same         within ±25
#   roll                −10.2 … −0.1 … 16.0°        same         within ±25
#   sharpness           9.2 … 54.7 … 155 grey²      min 7.8      ≥ 6
#   exposure            69.1 … 144 … 193.5          same         55 … 215 (headroom to 255 shrunk by ⅓)
#   underexposed        0 … 0 … 0.042               max 0.040    ≤ 0.10 (a tenth of the face)
#   overexposed         0 … 0 … 0.006               max 0.005    ≤ 0.10 (a tenth of the face)
#   contrast            0.055 … 0.137 … 0.268       min 0.054    ≥ 0.04
#   compression         0 … 0.043 … 0.343           max 0.166    ≤ 0.45 (JPEG quality 5 reads ≥ 0.5)
#   occlusion           0 for all 130               same         ≤ 0 (margin: in the part thresholds)
#   eyes_visible        1.0 for all 130             same         required (≥ 0.5)
#   unified             94.8 … 99.1 … 100           min 90.8     ≥ 80 (four components at half utility)
#
# These are enrolment-style photos, not lane captures: on simulated lanes, captures passing v0
# still fail to match at FMR 1e-3 in about 3 % of cases (docs/quality-calibration.md), so the
# default is now bioexit-lane-v1 below. v0 stays selectable.
LANE_V0 = QualityProfile(
    name="bioexit-lane-v0",
    min_inter_eye_distance=40.0,
    max_abs_yaw=30.0,
    max_abs_pitch=25.0,
    max_abs_roll=25.0,
    min_sharpness=6.0,
    min_exposure=55.0,
    max_exposure=215.0,
    max_underexposed=0.10,
    max_overexposed=0.10,
    min_contrast=0.04,
    max_compression=0.45,
    max_occlusion=0.0,
    require_eyes_visible=True,
    min_unified=80.0,
)
"""The first lane profile; see the comment above it for how each number was chosen."""

# v0 with 30 px between the eyes and a detector confidence of at least 0.999: the calibrated
# default. Chosen on the captures of the even-numbered vehicles of a hard simulation (`bioexit
# bench quality --vehicles 60 --seed 0`, before the windshield camera's longer lens), over
# min_inter_eye_distance 28–32, min_detection_score 0.995–0.999 and max_occlusion 0–0.25 on top
# of v0: the one with the most vehicles fully captured whose fit FNMR stayed well under 1 %.
# Checked on vehicles it was not chosen on (`bioexit bench quality --vehicles 120 --seed 0`,
# vehicles 40–119, current geometry): FNMR of passing captures 0.76 % (5 of 658; v0 2.9 %, 13
# of 447), occupants with a passing capture 152 of 244 (v0 156). In the lane (`bioexit bench
# lane --vehicles 300 --seed 1`) it captures more occupants than v0, and every captured
# occupant's template matches its own document photo (v0: 1.7 % miss). Figures in
# docs/quality-calibration.md. head_overlap stays open: v1 was chosen before the lane measured
# it, and the greedy calibration that does limit it does not reach 1 % (docs).
LANE_V1 = QualityProfile(
    **{
        **{f.name: getattr(LANE_V0, f.name) for f in fields(LANE_V0)},
        "name": "bioexit-lane-v1",
        "min_inter_eye_distance": 30.0,
        "min_detection_score": 0.999,
        "score_detector": "mtcnn",
    }
)
"""v0 with 30 px between the eyes and MTCNN's confidence at least 0.999 (see the comment above)."""

DEFAULT_PROFILE = LANE_V1
"""The default lane profile: captures passing it match at FMR 1e-3 with FNMR under 1 % on
held-out simulated lanes."""


@dataclass(frozen=True, slots=True)
class Failure:
    """One component outside its limit: ``expected`` states the limit (e.g. ``"≥ 40"``), ``got`` the value."""

    component: str
    expected: str
    got: float

    def __str__(self) -> str:
        return f"{self.component}: expected {self.expected}, got {self.got:.4g}"


@dataclass(frozen=True, slots=True)
class Validation:
    """The verdict of one face against one profile; ``failures`` is empty exactly when ``passed``."""

    profile: str
    passed: bool
    failures: tuple[Failure, ...]

    @property
    def failed_components(self) -> tuple[str, ...]:
        return tuple(failure.component for failure in self.failures)

    def __str__(self) -> str:
        if self.passed:
            return f"passes {self.profile}"
        return f"fails {self.profile}: " + "; ".join(str(f) for f in self.failures)


def _at_least(component: str, value: float, limit: float) -> Failure | None:
    # Written as "not ≥" so that NaN fails.
    return None if value >= limit else Failure(component, f"≥ {limit:g}", value)


def _at_most(component: str, value: float, limit: float) -> Failure | None:
    return None if value <= limit else Failure(component, f"≤ {limit:g}", value)


def _within(component: str, value: float, limit: float) -> Failure | None:
    return None if abs(value) <= limit else Failure(component, f"within ±{limit:g}", value)


def validate(quality: FaceQuality, profile: QualityProfile = DEFAULT_PROFILE) -> Validation:
    """Check every component of ``quality`` against ``profile``; name each one outside its limit.

    Every limit is checked (no early exit), so a rejected capture says everything that was wrong
    with it. A NaN component fails its check.
    """
    q, p = quality, profile
    checks = (
        _at_least("inter_eye_distance", q.inter_eye_distance, p.min_inter_eye_distance),
        _within("yaw", q.yaw, p.max_abs_yaw),
        _within("pitch", q.pitch, p.max_abs_pitch),
        _within("roll", q.roll, p.max_abs_roll),
        _at_least("sharpness", q.sharpness, p.min_sharpness),
        _at_least("exposure", q.exposure, p.min_exposure),
        _at_most("exposure", q.exposure, p.max_exposure),
        _at_most("underexposed", q.underexposed, p.max_underexposed),
        _at_most("overexposed", q.overexposed, p.max_overexposed),
        _at_least("contrast", q.contrast, p.min_contrast),
        _at_most("compression", q.compression, p.max_compression),
        _at_most("occlusion", q.occlusion, p.max_occlusion),
        _at_least("eyes_visible", q.eyes_visible, EYE_VISIBLE_AT) if p.require_eyes_visible else None,
        _at_least("unified", q.unified, p.min_unified),
        _at_least("detection_score", q.detection_score, p.min_detection_score),
        _at_most("head_overlap", q.head_overlap, p.max_head_overlap),
    )
    failures = tuple(check for check in checks if check is not None)
    return Validation(profile=p.name, passed=not failures, failures=failures)


PROFILES: dict[str, QualityProfile] = {p.name: p for p in (LANE_V0, LANE_V1)}
"""Every named profile a deployment may choose (``lane.quality_profile``)."""


def profile_named(name: str) -> QualityProfile:
    """The profile called ``name``; :class:`~bioexit.errors.ConfigError` for an unknown one."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(
            "unknown quality profile", expected=" | ".join(sorted(PROFILES)), got=name
        ) from None


def lane_profile(name: str | None, detector_kind: str) -> QualityProfile:
    """The profile lane captures must pass: the one called ``name``, or without a name the
    calibrated one for the detector (v1 for MTCNN, whose confidence it limits; v0 for others).

    :class:`~bioexit.errors.ConfigError` for an unknown name, or for a profile that limits another
    detector's confidence than ``detector_kind``'s.
    """
    if name is None:
        return LANE_V1 if detector_kind == LANE_V1.score_detector else LANE_V0
    profile = profile_named(name)
    if profile.min_detection_score > 0 and profile.score_detector not in (None, detector_kind):
        raise ConfigError(
            f"quality profile {name} limits the {profile.score_detector} detector's confidence",
            expected=f"detector {profile.score_detector}, or a profile without that limit",
            got=f"detector {detector_kind}",
        )
    return profile
