"""Portrait choice, crop box, flags and the reference profile: pure functions on synthetic detections."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from bioexit.detection.types import Detection
from bioexit.documents import REFERENCE_PROFILE, Box, MRZBand, PortraitFlag
from bioexit.documents.portrait import (
    FLAG_OF_COMPONENT,
    PortraitChoice,
    choose_portrait,
    crop,
    portrait_box,
    portrait_flags,
)
from bioexit.errors import NoFaceError, NoPortraitError
from bioexit.quality import DEFAULT_PROFILE, FaceQuality, Validation, validate

PAGE = (880, 1334, 3)
BAND = MRZBand(
    box=Box(120, 670, 1180, 755), lines=(Box(120, 670, 1180, 698), Box(120, 727, 1180, 755)), glyphs=(44, 44)
)


def face(x: float, y: float, size: float, score: float = 0.99) -> Detection:
    marks = [
        (x + 0.3 * size, y + 0.4 * size),
        (x + 0.7 * size, y + 0.4 * size),
        (x + 0.5 * size, y + 0.6 * size),
    ]
    marks += [(x + 0.35 * size, y + 0.8 * size), (x + 0.65 * size, y + 0.8 * size)]
    return Detection(x, y, x + size, y + size * 1.25, score, np.array(marks, np.float32))


PORTRAIT = face(200, 310, 155)
GHOST = face(1000, 300, 70)  # under 60 % of the portrait's side


def test_largest_face_is_the_portrait_and_small_ones_are_secondary() -> None:
    choice = choose_portrait([GHOST, PORTRAIT], PAGE, band=BAND)
    assert choice == PortraitChoice(PORTRAIT, rivals=(), secondary=(GHOST,), off_layout=False)
    assert portrait_flags(_passed(), choice) == ()


def test_a_face_of_comparable_size_is_a_rival_and_flags_the_choice() -> None:
    rival = face(700, 300, 120)
    choice = choose_portrait([rival, PORTRAIT], PAGE, band=BAND)
    assert choice.portrait is PORTRAIT and choice.rivals == (rival,)
    assert portrait_flags(_passed(), choice) == (PortraitFlag.MULTIPLE_CANDIDATES,)


def test_equal_sizes_go_to_the_leftmost() -> None:
    right = face(500, 310, 155)
    assert choose_portrait([right, PORTRAIT], PAGE, band=BAND).portrait is PORTRAIT


def test_faces_below_the_band_are_not_candidates() -> None:
    low = face(200, 700, 300)  # larger, but its centre is inside the MRZ band
    choice = choose_portrait([low, PORTRAIT], PAGE, band=BAND)
    assert choice.portrait is PORTRAIT and not choice.rivals and not choice.secondary


def test_only_faces_below_the_band_is_no_portrait() -> None:
    with pytest.raises(NoPortraitError, match=r"above the machine-readable zone.*got 1 face"):
        choose_portrait([face(200, 700, 300)], PAGE, band=BAND)


def test_no_face_is_a_no_face_error() -> None:
    with pytest.raises(NoFaceError, match="no face that could be the document portrait"):
        choose_portrait([], PAGE, band=None)
    assert issubclass(NoPortraitError, NoFaceError)


def test_portrait_on_the_right_half_is_off_layout_on_a_page_only() -> None:
    right = face(900, 300, 155)
    assert choose_portrait([right], PAGE, band=BAND).off_layout
    assert not choose_portrait([right], PAGE, band=None, data_page=False).off_layout
    assert portrait_flags(_passed(), choose_portrait([right], PAGE)) == (PortraitFlag.OFF_LAYOUT,)


def test_chip_ignores_the_band_rule() -> None:
    low = face(200, 700, 300)
    assert choose_portrait([low], PAGE, band=BAND, data_page=False).portrait is low


def test_crop_box_adds_margins_and_stays_above_the_band_and_on_the_page() -> None:
    box = portrait_box(PORTRAIT, PAGE, band=BAND)
    assert box.x1 < PORTRAIT.x1 and box.y1 < PORTRAIT.y1 and box.x2 > PORTRAIT.x2 and box.y2 > PORTRAIT.y2
    assert box.x1 == int(PORTRAIT.x1 - 0.5 * PORTRAIT.width)
    edge = face(10, 640, 155)
    clipped = portrait_box(edge, PAGE, band=BAND)
    assert clipped.x1 == 0 and clipped.y2 == BAND.box.y1
    assert portrait_box(edge, PAGE).y2 == PAGE[0]


def test_crop_box_off_the_page_is_refused() -> None:
    with pytest.raises(NoPortraitError):
        portrait_box(face(2000, 100, 100), PAGE)


def test_crop_is_a_read_only_copy() -> None:
    image = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    out = crop(image, Box(5, 2, 15, 12))
    assert out.shape == (10, 10, 3) and not out.flags.writeable and out.flags.c_contiguous
    np.testing.assert_array_equal(out, image[2:12, 5:15])
    before = int(out[0, 0, 0])
    image[2, 5] = before + 1
    assert out[0, 0, 0] == before  # a copy, not a view


GOOD = FaceQuality(
    inter_eye_distance=80.0,
    yaw=3.0,
    pitch=-5.0,
    roll=0.5,
    sharpness=35.0,
    exposure=150.0,
    underexposed=0.0,
    overexposed=0.0,
    contrast=0.11,
    compression=0.03,
    occlusion=0.0,
    eyes_visible=1.0,
    unified=100.0,
)


def _passed() -> Validation:
    return validate(GOOD, REFERENCE_PROFILE)


@pytest.mark.parametrize(
    ("changes", "flags"),
    [
        ({"inter_eye_distance": 45.0}, (PortraitFlag.SMALL_FACE,)),
        ({"sharpness": 8.0}, (PortraitFlag.BLURRED,)),
        ({"roll": 12.0}, (PortraitFlag.POSE,)),
        ({"yaw": -25.0, "pitch": 22.0}, (PortraitFlag.POSE,)),
        ({"exposure": 50.0, "contrast": 0.02}, (PortraitFlag.EXPOSURE,)),
        ({"overexposed": 0.08}, (PortraitFlag.EXPOSURE,)),
        ({"compression": 0.4}, (PortraitFlag.COMPRESSED,)),
        ({"occlusion": 0.25}, (PortraitFlag.OCCLUDED,)),
        ({"eyes_visible": 0.2}, (PortraitFlag.OCCLUDED,)),
        ({"unified": 85.0}, (PortraitFlag.LOW_QUALITY,)),
        (
            {"sharpness": 3.0, "inter_eye_distance": 20.0, "unified": 10.0},
            (
                PortraitFlag.SMALL_FACE,
                PortraitFlag.BLURRED,
                PortraitFlag.LOW_QUALITY,
            ),
        ),
    ],
)
def test_failed_components_become_flags(changes: dict[str, float], flags: tuple[PortraitFlag, ...]) -> None:
    quality = FaceQuality(**{**{f.name: getattr(GOOD, f.name) for f in fields(GOOD)}, **changes})
    validation = validate(quality, REFERENCE_PROFILE)
    choice = PortraitChoice(PORTRAIT, (), (), False)
    assert portrait_flags(validation, choice) == flags


def test_every_quality_component_has_a_flag() -> None:
    assert set(FLAG_OF_COMPONENT) == {f.name for f in fields(FaceQuality)}


def test_reference_profile_is_at_least_as_strict_as_the_lane_profile() -> None:
    ref, lane = REFERENCE_PROFILE, DEFAULT_PROFILE
    assert ref.name == "bioexit-reference-v0"
    for minimum in ("min_inter_eye_distance", "min_sharpness", "min_exposure", "min_contrast", "min_unified"):
        assert getattr(ref, minimum) >= getattr(lane, minimum), minimum
    for maximum in (
        "max_abs_yaw",
        "max_abs_pitch",
        "max_abs_roll",
        "max_exposure",
        "max_underexposed",
        "max_overexposed",
        "max_compression",
        "max_occlusion",
    ):
        assert getattr(ref, maximum) <= getattr(lane, maximum), maximum
    assert ref.require_eyes_visible
    # A face that passes the lane profile can still be too poor as a reference.
    small = FaceQuality(
        **{**{f.name: getattr(GOOD, f.name) for f in fields(GOOD)}, "inter_eye_distance": 45.0}
    )
    assert validate(small).passed and not validate(small, ref).passed
