"""The document portrait: which face on a page is it, its crop, and is it good enough as a reference.

Pure functions over NumPy arrays and detections; :mod:`bioexit.documents.enrol` runs the
detector and embedder around them.

A data page shows the holder's portrait on the left, above the MRZ (Doc 9303 parts 4–7
place the zone at the foot and the portrait in zone V, at the left of the ID-1/ID-2/ID-3
page); many documents add a smaller *ghost image* of the same face, and some a second small
portrait. So the portrait is the largest face above the MRZ band; faces much smaller than it
(side under :data:`SECONDARY_FACE_RATIO` of its side) are ghosts or secondary portraits and
are ignored; faces of comparable size make the choice ambiguous, which is flagged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from bioexit.detection.types import Detection, RGBImage
from bioexit.documents.band import Box, MRZBand
from bioexit.errors import NoPortraitError
from bioexit.quality import QualityProfile, Validation

SECONDARY_FACE_RATIO = 0.6
"""A face whose box side is below this fraction of the largest face's is a ghost image or a
secondary portrait, not a candidate. Ghost images are printed at about ⅓–½ of the portrait's
size; two faces at ≥ 60 % of each other are both plausible portraits."""

PORTRAIT_MAX_CENTRE_X = 0.5
"""On a data page, the portrait's centre lies in the left half of the page."""

CROP_MARGIN = (0.5, 0.45, 0.5, 0.4)
"""Margin added around the face box (left, top, right, bottom) as fractions of its width or
height: with MTCNN's brow-to-chin box this frames head, hair and shoulders roughly as an
ICAO portrait does (head 50–75 % of the image width)."""

# How the "bioexit-reference-v0" numbers were chosen. A reference (the document portrait a
# lane capture is compared with) must be better than a lane capture: each limit is at least
# as strict as bioexit-lane-v0's, and where a standard gives a number, it is used.
#
#   component           limit          why
#   inter_eye_distance  ≥ 60 px        ISO/IEC 19794-5 token image (60 px between the eye
#                                      centres); ICAO recommends ≥ 90 for full-frontal
#                                      captures, which a scanned page rarely reaches (the
#                                      shared specimens: 71 and 84 px)
#   yaw, pitch          within ±20°    ISO/IEC 19794-5 asks ±5°; our 5-landmark estimate reads
#                                      ±10–15° on frontal faces (bioexit.quality.estimate_pose),
#                                      so 20° rejects clearly turned heads only
#   roll                within ±8°     ISO/IEC 19794-5 (roll is read exactly from the eye line)
#   sharpness           ≥ 12           2× the lane limit; 130 shared photos: 9.2 … 54.7 … 155,
#                                      specimens 35–38
#   exposure            60 … 200       inside the lane's 55 … 215 (shared photos 69 … 194)
#   under/overexposed   ≤ 0.05         half the lane's tenth of the face
#   contrast            ≥ 0.05         shared photos ≥ 0.055
#   compression         ≤ 0.30         lane 0.45; shared photos ≤ 0.34 at native size
#   occlusion, eyes     none, visible  as the lane
#   unified             ≥ 90           lane 80; shared photos ≥ 94.8
REFERENCE_PROFILE = QualityProfile(
    name="bioexit-reference-v0",
    min_inter_eye_distance=60.0,
    max_abs_yaw=20.0,
    max_abs_pitch=20.0,
    max_abs_roll=8.0,
    min_sharpness=12.0,
    min_exposure=60.0,
    max_exposure=200.0,
    max_underexposed=0.05,
    max_overexposed=0.05,
    min_contrast=0.05,
    max_compression=0.30,
    max_occlusion=0.0,
    require_eyes_visible=True,
    min_unified=90.0,
)
"""The profile a document portrait must pass to serve as a matching reference."""


class PortraitFlag(Enum):
    """Why a portrait is too poor to serve as a reference (none: it may)."""

    SMALL_FACE = "small-face"  # too few pixels between the eyes
    BLURRED = "blurred"  # not sharp enough
    POSE = "pose"  # head turned, nodded or tilted
    EXPOSURE = "exposure"  # too dark, too bright, clipped, or flat
    COMPRESSED = "compressed"  # JPEG blocking
    OCCLUDED = "occluded"  # a face part covered, or an eye not visible
    LOW_QUALITY = "low-quality"  # the unified score is below the profile's
    MULTIPLE_CANDIDATES = "multiple-candidates"  # more than one face could be the portrait
    OFF_LAYOUT = "off-layout"  # on a data page, not where the portrait belongs


FLAG_OF_COMPONENT: dict[str, PortraitFlag] = {
    "inter_eye_distance": PortraitFlag.SMALL_FACE,
    "yaw": PortraitFlag.POSE,
    "pitch": PortraitFlag.POSE,
    "roll": PortraitFlag.POSE,
    "sharpness": PortraitFlag.BLURRED,
    "exposure": PortraitFlag.EXPOSURE,
    "underexposed": PortraitFlag.EXPOSURE,
    "overexposed": PortraitFlag.EXPOSURE,
    "contrast": PortraitFlag.EXPOSURE,
    "compression": PortraitFlag.COMPRESSED,
    "occlusion": PortraitFlag.OCCLUDED,
    "eyes_visible": PortraitFlag.OCCLUDED,
    "unified": PortraitFlag.LOW_QUALITY,
    "detection_score": PortraitFlag.LOW_QUALITY,
    "head_overlap": PortraitFlag.OCCLUDED,
}
"""Which flag a failed quality component raises."""


@dataclass(frozen=True, slots=True)
class PortraitChoice:
    """The face taken as the portrait, the other plausible ones, and the ghosts set aside."""

    portrait: Detection
    rivals: tuple[Detection, ...]  # comparable in size: the choice is ambiguous
    secondary: tuple[Detection, ...]  # much smaller: ghost images, secondary portraits
    off_layout: bool


def _side(detection: Detection) -> float:
    return math.sqrt(max(detection.width, 0.0) * max(detection.height, 0.0))


def choose_portrait(
    detections: Sequence[Detection],
    page_shape: tuple[int, ...],
    *,
    band: MRZBand | None = None,
    data_page: bool = True,
) -> PortraitChoice:
    """Pick the portrait among the faces found on a data page (or in a chip portrait).

    On a data page (``data_page``), faces whose centre is not above the MRZ band (where one
    was found) cannot be the portrait. The largest remaining face is the portrait; ties in
    size go to the leftmost. It is ``off_layout`` when its centre is not in the left half
    of the page. :class:`NoPortraitError` when no face remains.
    """
    faces = list(detections)
    if band is not None and data_page:
        faces = [d for d in faces if (d.y1 + d.y2) / 2.0 < band.box.y1]
    if not faces:
        where = " above the machine-readable zone" if detections and band is not None else ""
        raise NoPortraitError(
            f"no face{where} that could be the document portrait",
            expected="one face (the holder's portrait)",
            got=f"{len(detections)} face(s) found",
        )
    ordered = sorted(faces, key=lambda d: (-round(_side(d)), d.x1))
    portrait, others = ordered[0], ordered[1:]
    limit = SECONDARY_FACE_RATIO * _side(portrait)
    rivals = tuple(d for d in others if _side(d) >= limit)
    secondary = tuple(d for d in others if _side(d) < limit)
    width = page_shape[1]
    off_layout = data_page and (portrait.x1 + portrait.x2) / 2.0 > PORTRAIT_MAX_CENTRE_X * width
    return PortraitChoice(portrait, rivals, secondary, off_layout)


def portrait_box(detection: Detection, page_shape: tuple[int, ...], *, band: MRZBand | None = None) -> Box:
    """The portrait's crop box: the face box with :data:`CROP_MARGIN`, inside the page and above the MRZ."""
    height, width = page_shape[0], page_shape[1]
    left, top, right, bottom = CROP_MARGIN
    x1 = detection.x1 - left * detection.width
    x2 = detection.x2 + right * detection.width
    y1 = detection.y1 - top * detection.height
    y2 = detection.y2 + bottom * detection.height
    floor = height if band is None else min(height, band.box.y1)
    box = Box(
        max(0, math.floor(x1)),
        max(0, math.floor(y1)),
        min(width, math.ceil(x2)),
        min(floor, math.ceil(y2)),
    )
    if box.width <= 0 or box.height <= 0:
        raise NoPortraitError(
            "the portrait's face box lies outside the page", expected="a box on the page", got=box
        )
    return box


def crop(image: RGBImage, box: Box) -> RGBImage:
    """A read-only, C-contiguous copy of ``box`` in ``image``."""
    out = np.ascontiguousarray(image[box.y1 : box.y2, box.x1 : box.x2]).copy()
    out.setflags(write=False)
    return out


def portrait_flags(validation: Validation, choice: PortraitChoice) -> tuple[PortraitFlag, ...]:
    """Every reason the portrait cannot serve as a reference, in :class:`PortraitFlag` order."""
    raised = {FLAG_OF_COMPONENT[component] for component in validation.failed_components}
    if choice.rivals:
        raised.add(PortraitFlag.MULTIPLE_CANDIDATES)
    if choice.off_layout:
        raised.add(PortraitFlag.OFF_LAYOUT)
    return tuple(flag for flag in PortraitFlag if flag in raised)
