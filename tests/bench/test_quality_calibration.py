"""The quality calibration routine and the error-versus-discard curve, on synthetic scores."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bioexit.bench.quality import (
    OPEN_PROFILE,
    calibrate_profile,
    component_matrix,
    error_versus_discard,
    passes,
)
from bioexit.quality import DEFAULT_PROFILE, FaceQuality, validate


def random_qualities(n: int, seed: int) -> list[FaceQuality]:
    rng = np.random.default_rng(seed)
    return [
        FaceQuality(
            inter_eye_distance=float(rng.uniform(10, 70)),
            yaw=float(rng.normal(0, 12)),
            pitch=float(rng.normal(0, 10)),
            roll=float(rng.normal(0, 8)),
            sharpness=float(rng.uniform(0, 40)),
            exposure=float(rng.uniform(30, 230)),
            underexposed=float(rng.uniform(0, 0.2)),
            overexposed=float(rng.uniform(0, 0.2)),
            contrast=float(rng.uniform(0.02, 0.25)),
            compression=float(rng.uniform(0, 0.6)),
            occlusion=float(rng.choice([0.0, 0.0, 0.0, 0.25, 0.5])),
            eyes_visible=float(rng.uniform(0, 1)),
            unified=float(rng.uniform(0, 100)),
        )
        for _ in range(n)
    ]


def test_calibration_finds_the_limits_that_cause_the_failures() -> None:
    qualities = random_qualities(4000, 1)
    rng = np.random.default_rng(2)
    # Small faces and blurred faces fail; everything else matches, bar a 0.3 % residue.
    cause = np.array([q.inter_eye_distance < 25 or q.sharpness < 6 for q in qualities])
    matched = ~cause & (rng.random(len(qualities)) > 0.003)
    result = calibrate_profile(qualities, list(matched), name="test-profile", target_fnmr=0.01)
    assert result.reached and result.fnmr <= 0.01
    assert result.profile.name == "test-profile"
    assert 24 <= result.profile.min_inter_eye_distance <= 26
    assert 5.5 <= result.profile.min_sharpness <= 6.5
    # Only the limits that matter move off the open profile.
    moved = {
        f.name
        for f in dataclasses.fields(OPEN_PROFILE)
        if getattr(result.profile, f.name) != getattr(OPEN_PROFILE, f.name)
    }
    assert moved <= {"name", "min_inter_eye_distance", "min_sharpness"}
    # The discard is close to the share of captures that had to go.
    assert result.discarded == pytest.approx(float(cause.mean()), abs=0.03)
    keep = passes(component_matrix(qualities), result.profile)
    assert result.passing == int(keep.sum()) and 1 - matched[keep].mean() == pytest.approx(result.fnmr)


def test_calibration_reports_when_the_target_cannot_be_met() -> None:
    qualities = random_qualities(500, 3)
    matched = list(np.random.default_rng(4).random(500) > 0.2)  # failures unrelated to quality
    result = calibrate_profile(qualities, matched, name="x", target_fnmr=0.0001)
    assert not result.reached and result.fnmr > 0.0001


def test_calibration_refuses_mismatched_input() -> None:
    with pytest.raises(ValueError, match="match flag"):
        calibrate_profile(random_qualities(3, 0), [True], name="x")


def test_vectorised_passes_agrees_with_validate() -> None:
    qualities = random_qualities(600, 5)
    for profile in (
        DEFAULT_PROFILE,
        OPEN_PROFILE,
        dataclasses.replace(DEFAULT_PROFILE, require_eyes_visible=False),
    ):
        expected = [validate(q, profile).passed for q in qualities]
        assert list(passes(component_matrix(qualities), profile)) == expected


def test_error_versus_discard_drops_the_lowest_quality_first() -> None:
    unified = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    matched = [False, False, True, True, True, True, True, True, True, True]
    curve = error_versus_discard(unified, matched, fractions=(0.0, 0.1, 0.2, 0.5))
    assert [p["fnmr"] for p in curve] == [0.2, pytest.approx(1 / 9, abs=1e-4), 0.0, 0.0]
    assert [p["kept"] for p in curve] == [10, 9, 8, 5]
