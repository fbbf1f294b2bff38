"""Enrol a document photo: a data-page image or a chip portrait → crop, quality, template, verdict.

The face engine (detector and embedder) is passed in; nothing here reads files. Quality is
measured on the source image at its native resolution (the page's own JPEG grid for
``compression``), against :data:`~bioexit.documents.portrait.REFERENCE_PROFILE` by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bioexit.detection.types import Detection, RGBImage
from bioexit.documents.band import Box, MRZBand, find_mrz_band
from bioexit.documents.portrait import (
    REFERENCE_PROFILE,
    PortraitChoice,
    PortraitFlag,
    choose_portrait,
    crop,
    portrait_box,
    portrait_flags,
)
from bioexit.embedding.types import Template
from bioexit.engine import FaceEngine
from bioexit.errors import MRZNotFoundError
from bioexit.imaging import decode_image
from bioexit.quality import FaceQuality, QualityProfile, Validation, assess, validate
from bioexit.settings import ImageLimits

PortraitSource = Literal["data-page", "chip"]


@dataclass(frozen=True, slots=True)
class EnrolledPortrait:
    """A document portrait, ready to serve as a reference unless ``flags`` says why not.

    ``detection`` and ``crop_box`` are in the source image's pixels (the page, or the chip
    portrait, whose crop is the whole image). ``secondary_faces`` counts the ghost images and
    small secondary portraits that were set aside. ``repr`` holds no pixels and no template.
    """

    source: PortraitSource
    crop: RGBImage = field(repr=False)
    crop_box: Box
    detection: Detection = field(repr=False)
    quality: FaceQuality
    validation: Validation
    template: Template = field(repr=False)
    flags: tuple[PortraitFlag, ...]
    secondary_faces: int
    mrz_band: MRZBand | None

    @property
    def usable(self) -> bool:
        """May this portrait serve as a matching reference?"""
        return not self.flags

    def report(self) -> dict[str, Any]:
        """A JSON-ready summary: where, how good, and why not usable. No pixels, no template."""
        d = self.detection
        return {
            "source": self.source,
            "usable_as_reference": self.usable,
            "flags": [flag.value for flag in self.flags],
            "profile": self.validation.profile,
            "failures": [
                {"component": f.component, "expected": f.expected, "got": round(f.got, 4)}
                for f in self.validation.failures
            ],
            "face_box": [round(v, 1) for v in (d.x1, d.y1, d.x2, d.y2)],
            "detection_score": round(d.score, 4),
            "crop_box": [self.crop_box.x1, self.crop_box.y1, self.crop_box.x2, self.crop_box.y2],
            "quality": {name: round(float(getattr(self.quality, name)), 4) for name in FaceQuality.__slots__},
            "secondary_faces": self.secondary_faces,
            "mrz_band": None
            if self.mrz_band is None
            else {
                "box": [
                    self.mrz_band.box.x1,
                    self.mrz_band.box.y1,
                    self.mrz_band.box.x2,
                    self.mrz_band.box.y2,
                ],
                "lines": len(self.mrz_band.lines),
                "glyphs": list(self.mrz_band.glyphs),
                "likely_formats": list(self.mrz_band.likely_formats),
            },
            "template_model": self.template.model_key,
        }


def enrol_data_page(
    page: RGBImage, engine: FaceEngine, *, profile: QualityProfile = REFERENCE_PROFILE
) -> EnrolledPortrait:
    """Find the portrait on an upright data-page image, crop it, grade it, make its template.

    Raises :class:`~bioexit.errors.NoPortraitError` when no face could be the portrait.
    """
    try:
        band: MRZBand | None = find_mrz_band(page)
    except MRZNotFoundError:
        band = None  # e.g. the photo side of a card: the layout rules that need it are skipped
    choice = choose_portrait(engine.detector.detect(page), page.shape, band=band, data_page=True)
    box = portrait_box(choice.portrait, page.shape, band=band)
    return _enrol(page, choice, crop(page, box), box, "data-page", band, engine, profile)


def enrol_chip(
    data: bytes, engine: FaceEngine, *, limits: ImageLimits, profile: QualityProfile = REFERENCE_PROFILE
) -> EnrolledPortrait:
    """Enrol the portrait read from a chip (DG2: JPEG 2000 or JPEG bytes), through the safe decoder."""
    return enrol_chip_image(decode_image(data, limits=limits), engine, profile=profile)


def enrol_chip_image(
    portrait: RGBImage, engine: FaceEngine, *, profile: QualityProfile = REFERENCE_PROFILE
) -> EnrolledPortrait:
    """Enrol an already decoded chip portrait: the whole image is the crop."""
    choice = choose_portrait(engine.detector.detect(portrait), portrait.shape, data_page=False)
    box = Box(0, 0, portrait.shape[1], portrait.shape[0])
    return _enrol(portrait, choice, crop(portrait, box), box, "chip", None, engine, profile)


def _enrol(
    image: RGBImage,
    choice: PortraitChoice,
    cropped: RGBImage,
    box: Box,
    source: PortraitSource,
    band: MRZBand | None,
    engine: FaceEngine,
    profile: QualityProfile,
) -> EnrolledPortrait:
    quality = assess(image, choice.portrait)
    validation: Validation = validate(quality, profile)
    (face,) = engine.embed_detections(image, [choice.portrait])
    return EnrolledPortrait(
        source=source,
        crop=cropped,
        crop_box=box,
        detection=choice.portrait,
        quality=quality,
        validation=validation,
        template=face.template,
        flags=portrait_flags(validation, choice),
        secondary_faces=len(choice.secondary),
        mrz_band=band,
    )
