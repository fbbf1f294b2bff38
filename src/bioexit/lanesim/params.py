"""The lane simulator's parameters: one frozen dataclass, one instance per difficulty.

Every field is documented in ``docs/lane-simulator.md`` (a test checks that each name appears
there). Ranges are ``(low, high)`` and drawn uniformly unless the doc says otherwise;
probabilities are per vehicle unless the name ends in ``_per_frame``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from bioexit.errors import ConfigError

Difficulty = Literal["easy", "hard"]
Range = tuple[float, float]


@dataclass(frozen=True, slots=True)
class LaneSimParams:
    # --- vehicle and cameras ---
    occupant_weights: tuple[float, ...]
    cameras: tuple[int, int]
    frames_per_camera: tuple[int, int]
    start_distance_m: Range
    end_distance_m: Range
    focal_px: Range
    approach_duration_s: Range
    camera_height_m: Range
    windshield_height_m: Range
    windshield_offset_m: Range
    windshield_focal_factor: Range
    lateral_offset_m: float
    head_jitter_m: float
    face_roll_deg: float
    # --- occluders worn or in the cabin ---
    hat_probability: float
    sunglasses_probability: float
    headrest_height_m: float
    # --- degradations ---
    tint_strength: Range
    glare_probability_per_frame: float
    glare_strength: Range
    motion_blur_px: Range
    noise_sigma: Range
    low_light_probability: float
    low_light_gain: Range
    jpeg_quality: tuple[int, int]
    # --- distractors ---
    shirt_print_probability: float
    poster_probability: float
    dog_probability: float
    bystander_probability: float
    # --- gallery and documents ---
    documents_probability: float
    document_count_error_probability: float

    def __post_init__(self) -> None:
        if (
            len(self.occupant_weights) != 7
            or min(self.occupant_weights) < 0
            or sum(self.occupant_weights) <= 0
        ):
            raise ValueError("occupant_weights needs 7 non-negative weights (for 1..7 occupants), not all 0")
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith("probability") or "_probability_" in field.name:
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{field.name} must lie in [0, 1], got {value}")
            elif isinstance(value, tuple) and len(value) == 2 and value[0] > value[1]:
                raise ValueError(f"{field.name} must be (low, high) with low <= high, got {value}")


EASY = LaneSimParams(
    occupant_weights=(0.25, 0.25, 0.15, 0.15, 0.1, 0.05, 0.05),
    cameras=(1, 3),
    frames_per_camera=(4, 8),
    start_distance_m=(8.0, 9.0),
    end_distance_m=(2.8, 3.2),
    focal_px=(4200.0, 4600.0),
    approach_duration_s=(0.8, 1.2),
    camera_height_m=(1.5, 1.7),
    windshield_height_m=(1.8, 2.0),
    windshield_offset_m=(0.9, 1.3),
    windshield_focal_factor=(1.15, 1.25),
    lateral_offset_m=0.15,
    head_jitter_m=0.01,
    face_roll_deg=3.0,
    hat_probability=0.05,
    sunglasses_probability=0.0,
    headrest_height_m=0.14,
    tint_strength=(0.0, 0.15),
    glare_probability_per_frame=0.1,
    glare_strength=(0.1, 0.25),
    motion_blur_px=(0.0, 2.0),
    noise_sigma=(0.0, 3.0),
    low_light_probability=0.0,
    low_light_gain=(0.7, 0.9),
    jpeg_quality=(85, 95),
    shirt_print_probability=0.1,
    poster_probability=0.2,
    dog_probability=0.05,
    bystander_probability=0.1,
    documents_probability=0.5,
    document_count_error_probability=0.2,
)
"""Mild: clear glass, daylight, little blur; few occluders and distractors."""

HARD = LaneSimParams(
    occupant_weights=(0.15, 0.2, 0.15, 0.15, 0.15, 0.1, 0.1),
    cameras=(1, 3),
    frames_per_camera=(4, 8),
    start_distance_m=(10.0, 12.0),
    end_distance_m=(2.8, 4.0),
    focal_px=(3600.0, 4600.0),
    approach_duration_s=(0.6, 1.2),
    camera_height_m=(1.4, 1.8),
    windshield_height_m=(1.7, 2.0),
    windshield_offset_m=(0.7, 1.4),
    windshield_focal_factor=(1.2, 1.35),
    lateral_offset_m=0.3,
    head_jitter_m=0.04,
    face_roll_deg=10.0,
    hat_probability=0.2,
    sunglasses_probability=0.15,
    headrest_height_m=0.2,
    tint_strength=(0.1, 0.45),
    glare_probability_per_frame=0.4,
    glare_strength=(0.2, 0.6),
    motion_blur_px=(0.0, 5.0),
    noise_sigma=(1.0, 6.0),
    low_light_probability=0.25,
    low_light_gain=(0.4, 0.7),
    jpeg_quality=(50, 90),
    shirt_print_probability=0.25,
    poster_probability=0.5,
    dog_probability=0.15,
    bystander_probability=0.3,
    documents_probability=0.5,
    document_count_error_probability=0.3,
)
"""The full model: tinted glass, glare, blur, noise, night, heavy JPEG, hats, sunglasses, distractors."""


def difficulty_named(name: str) -> Difficulty:
    """A difficulty given as text (a command's option), or ConfigError."""
    if name == "easy":
        return "easy"
    if name == "hard":
        return "hard"
    raise ConfigError("unknown difficulty", expected="easy or hard", got=name)


def params_for(difficulty: Difficulty) -> LaneSimParams:
    return {"easy": EASY, "hard": HARD}[difficulty]


PARAMETER_NAMES: tuple[str, ...] = tuple(f.name for f in fields(LaneSimParams))
