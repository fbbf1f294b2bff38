"""Enrolling document portraits with the default engine, on the shared specimens and photos."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from tests.documents.test_band import synthetic_page
from tests.documents.test_mrz import SPECIMENS

from bioexit.bench.dataset import load_dataset, read_dataset_image
from bioexit.detection.types import RGBImage
from bioexit.documents import PortraitFlag
from bioexit.documents.enrol import EnrolledPortrait, enrol_chip, enrol_chip_image, enrol_data_page
from bioexit.documents.portrait import crop, portrait_box
from bioexit.engine import Face, FaceEngine, build_matcher
from bioexit.errors import ImageError, NoFaceError, NoPortraitError
from bioexit.imaging import decode_image, read_image
from bioexit.settings import ImageLimits, Settings

LIMITS = ImageLimits()
PAGES = ["passport-td3.jpg", "passport-td2.jpg"]


@cache
def engine() -> FaceEngine:
    return FaceEngine.from_settings(Settings())


@cache
def _photo_face(path: Path) -> tuple[RGBImage, Face | None]:
    photo = read_dataset_image(path, LIMITS)
    return photo, engine().largest_face(photo)


def page(shared_data: Path, name: str) -> RGBImage:
    return read_image(shared_data / "documents" / name, limits=LIMITS)


@cache
def _enrolled(root: Path, name: str) -> EnrolledPortrait:
    return enrol_data_page(read_image(root / "documents" / name, limits=LIMITS), engine())


# --- data pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_specimen_portrait_is_found_left_of_the_page_and_above_the_mrz(shared_data: Path, name: str) -> None:
    image = page(shared_data, name)
    width = image.shape[1]
    portrait = _enrolled(shared_data, name)
    d = portrait.detection
    assert portrait.source == "data-page"
    assert (d.x1 + d.x2) / 2 < 0.35 * width  # the left part of the page
    assert 0.08 * width < d.width < 0.3 * width  # a portrait's size, not a ghost or the page
    assert portrait.mrz_band is not None and d.y2 < portrait.mrz_band.box.y1
    box = portrait.crop_box
    assert box.x1 <= d.x1 and box.y1 <= d.y1 and box.x2 >= d.x2 and box.y2 >= d.y2
    assert box.y2 <= portrait.mrz_band.box.y1
    assert portrait.crop.shape == (box.height, box.width, 3)
    np.testing.assert_array_equal(portrait.crop, image[box.y1 : box.y2, box.x1 : box.x2])
    assert portrait.secondary_faces == 0


@pytest.mark.parametrize("name", PAGES)
def test_specimen_portrait_quality_is_reported_and_usable(shared_data: Path, name: str) -> None:
    portrait = _enrolled(shared_data, name)
    assert portrait.validation.profile == "bioexit-reference-v0"
    assert portrait.usable, portrait.validation
    assert portrait.quality.inter_eye_distance >= 60
    report = portrait.report()
    assert json.loads(json.dumps(report)) == report
    assert report["usable_as_reference"] is True and report["flags"] == [] and report["failures"] == []
    assert set(report["quality"]) >= {"inter_eye_distance", "sharpness", "yaw", "unified"}
    assert "vector" not in json.dumps(report)
    assert report["mrz_band"]["lines"] == 2
    assert "array" not in repr(portrait) and "template" not in repr(portrait)


def test_both_specimens_show_the_same_holder(shared_data: Path) -> None:
    td3, td2 = (_enrolled(shared_data, name) for name in PAGES)
    matcher = build_matcher(Settings(), engine().embedder.info, 1e-3)
    assert matcher.verify(td3.template, td2.template).match


def test_a_ghost_image_is_set_aside(shared_data: Path) -> None:
    image = page(shared_data, "passport-td3.jpg")
    original = _enrolled(shared_data, "passport-td3.jpg")
    ghost = cv2.resize(np.asarray(original.crop), None, fx=0.45, fy=0.45, interpolation=cv2.INTER_AREA)
    with_ghost = image.copy()
    with_ghost[150 : 150 + ghost.shape[0], 1100 : 1100 + ghost.shape[1]] = ghost
    portrait = enrol_data_page(with_ghost, engine())
    assert portrait.secondary_faces == 1
    found, expected = portrait.detection, original.detection
    assert (found.x1, found.y1, found.x2, found.y2) == (expected.x1, expected.y1, expected.x2, expected.y2)
    assert portrait.usable


def test_a_second_full_size_portrait_makes_the_choice_ambiguous(shared_data: Path) -> None:
    image = page(shared_data, "passport-td3.jpg")
    original = np.asarray(_enrolled(shared_data, "passport-td3.jpg").crop)
    doubled = image.copy()
    doubled[100 : 100 + original.shape[0], 1000 : 1000 + original.shape[1]] = original
    portrait = enrol_data_page(doubled, engine())
    assert PortraitFlag.MULTIPLE_CANDIDATES in portrait.flags
    assert not portrait.usable


def test_a_page_without_a_face_is_a_no_face_error() -> None:
    with pytest.raises(NoPortraitError, match="no face") as info:
        enrol_data_page(synthetic_page(SPECIMENS["TD3"]), engine())
    assert isinstance(info.value, NoFaceError)


# --- poor portraits -------------------------------------------------------------------------------


def _blur(image: RGBImage) -> RGBImage:
    return np.asarray(cv2.GaussianBlur(image, (0, 0), 4.0))


def _downscale(image: RGBImage) -> RGBImage:
    return np.asarray(cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))


def _tilt(image: RGBImage) -> RGBImage:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 15, 1.0)
    return np.asarray(cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE))


def _dark(image: RGBImage) -> RGBImage:
    return (image.astype(np.float32) * 0.25).astype(np.uint8)


def _jpeg(image: RGBImage) -> RGBImage:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=5)
    return decode_image(buffer.getvalue(), limits=LIMITS)


def _mask(portrait: EnrolledPortrait) -> RGBImage:
    """A blue surgical-mask-like block over nose and mouth."""
    image = np.array(portrait.crop)
    marks = portrait.detection.landmarks - np.array([portrait.crop_box.x1, portrait.crop_box.y1])
    nose_y, mouth_y = int(marks[2, 1]), int(marks[3:, 1].mean())
    cv2.rectangle(
        image, (int(marks[3, 0] - 30), nose_y - 10), (int(marks[4, 0] + 30), mouth_y + 30), (90, 140, 200), -1
    )
    return image


@pytest.mark.parametrize(
    ("degrade", "flag"),
    [
        (_blur, PortraitFlag.BLURRED),
        (_downscale, PortraitFlag.SMALL_FACE),
        (_tilt, PortraitFlag.POSE),
        (_dark, PortraitFlag.EXPOSURE),
        (_jpeg, PortraitFlag.COMPRESSED),
        (None, PortraitFlag.OCCLUDED),
    ],
    ids=["blurred", "downscaled", "tilted", "dark", "jpeg-q5", "masked"],
)
def test_poor_versions_of_a_real_portrait_are_flagged(
    shared_data: Path, degrade: Callable[[RGBImage], RGBImage] | None, flag: PortraitFlag
) -> None:
    original = _enrolled(shared_data, "passport-td3.jpg")
    baseline = enrol_chip_image(np.asarray(original.crop), engine())
    assert baseline.usable, baseline.validation  # the same crop, untouched, is a good reference
    poor = _mask(original) if degrade is None else degrade(np.asarray(original.crop))
    portrait = enrol_chip_image(np.ascontiguousarray(poor), engine())
    assert flag in portrait.flags, portrait.validation
    assert not portrait.usable
    assert portrait.report()["usable_as_reference"] is False


def test_a_blank_chip_is_a_no_face_error() -> None:
    with pytest.raises(NoPortraitError, match="got 0 face"):
        enrol_chip_image(np.full((320, 240, 3), 200, np.uint8), engine())


def test_a_corrupt_chip_is_an_image_error() -> None:
    with pytest.raises(ImageError):
        enrol_chip(b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(50), engine(), limits=LIMITS)


# --- chip portraits (JPEG 2000) -----------------------------------------------------------------


def _chip_bytes(photo: RGBImage, container: str) -> bytes:
    """A chip-like portrait: the photo's face framed like a portrait, 360 px wide, as JPEG 2000."""
    face = engine().largest_face(photo)
    assert face is not None
    framed = np.asarray(crop(photo, portrait_box(face.detection, photo.shape)))
    height = round(framed.shape[0] * 360 / framed.shape[1])
    chip = cv2.resize(framed, (360, height), interpolation=cv2.INTER_AREA)
    if container == "jp2-opencv":
        ok, encoded = cv2.imencode(".jp2", cv2.cvtColor(chip, cv2.COLOR_RGB2BGR))
        assert ok
        return encoded.tobytes()
    buffer = io.BytesIO()  # a bare codestream at about 12 KB, the size of a real DG2 portrait
    Image.fromarray(chip).save(buffer, "JPEG2000", quality_mode="rates", quality_layers=[40], no_jp2=True)
    return buffer.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("container", "signature"), [("jp2-opencv", b"\x00\x00\x00\x0cjP  "), ("j2k-pillow", b"\xff\x4f\xff\x51")]
)
def test_chip_portrait_round_trip_matches_the_original_photo(
    faces_dir: Path, container: str, signature: bytes
) -> None:
    dataset = load_dataset(faces_dir)
    # The first photo (labels.csv order) large enough for a reference; not the dlib chips.
    chosen = None
    for item in dataset.images:
        if item.set == "dlib_johns":
            continue
        photo, face = _photo_face(item.path)
        if face is not None and face.detection.eye_distance >= 60:
            chosen = (item, photo, face)
            break
    assert chosen is not None
    item, photo, original = chosen
    data = _chip_bytes(photo, container)
    assert data.startswith(signature)
    portrait = enrol_chip(data, engine(), limits=LIMITS)
    assert portrait.source == "chip" and portrait.usable, portrait.validation
    assert portrait.crop.shape[1] == 360
    matcher = build_matcher(Settings(), engine().embedder.info, 1e-3)
    assert matcher.verify(portrait.template, original.template).match
    # As a reference, the chip also matches the same person's other photos (2 here).
    same = [other for other in dataset.images if other.identity == item.identity and other.path != item.path]
    assert same
    for other in same:
        _, probe = _photo_face(other.path)
        assert probe is not None and matcher.verify(portrait.template, probe.template).match, other.path
    # One photo of every other identity: none may match the chip at FMR 1e-3.
    seen = {item.identity}
    for other in dataset.images:
        if other.identity in seen or other.set == "dlib_johns":
            continue
        seen.add(other.identity)
        _, impostor = _photo_face(other.path)
        if impostor is not None:
            assert not matcher.verify(portrait.template, impostor.template).match, other.path
    assert len(seen) > 10
