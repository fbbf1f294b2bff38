"""Face image quality components, in the spirit of ISO/IEC 29794-5, from one frame and one detection.

Every component is a cheap, explainable measurement (well under 5 ms per face on a 1080p
frame): NumPy and OpenCV over a small canonical crop of the face, plus the five landmarks.
None is a learned quality score; each says what it measures, in which unit, which direction
is better, and how it fails.

Most components are measured on a *canonical crop*: the face warped by the least-squares
similarity transform that takes its five landmarks to a frontal template with an inter-eye
distance of :data:`CANONICAL_EYE_DISTANCE` pixels (the median MTCNN landmarks of
:data:`bioexit.alignment.DLIB_CHIP_150`, rescaled). Large faces are first shrunk by area
averaging, so the crop is a fair low-pass view of the face whatever its size in the frame,
and texture measures do not grow with the face. Only ``inter_eye_distance`` (pixels in the
frame) and ``compression`` (the frame's own JPEG 8×8 grid) look at the frame at its native
resolution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from types import MappingProxyType
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from bioexit.alignment import DLIB_CHIP_150, similarity_transform
from bioexit.detection.types import Detection, RGBImage
from bioexit.errors import EmptyImageError, UnsupportedImageError

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class FaceQuality:
    """The quality components of one face in one frame; see :func:`assess`.

    Units and the better direction of each:

    * ``inter_eye_distance``: pixels between the eye landmarks in the frame; higher is better.
    * ``yaw``, ``pitch``, ``roll``: degrees, 0 is frontal; smaller magnitude is better. Signs:
      yaw > 0 nose to the image right, pitch > 0 chin up, roll > 0 clockwise as displayed
      (see :func:`estimate_pose`).
    * ``sharpness``: variance of the Laplacian of Gaussian (σ = :data:`SHARPNESS_SIGMA` px)
      over the face ellipse, with the face resampled to :data:`CANONICAL_EYE_DISTANCE` px
      between the eyes, in grey levels²; higher is sharper. Faces at or above that size read
      the same within about 15 %; smaller ones read lower, as their detail is not there. It
      grows with contrast, and with noise and blocking artefacts.
    * ``exposure``: mean luminance (BT.601 Y, 0–255) over the face ellipse; mid-range is best.
      It also reads skin tone: dark skin well exposed sits near 70–90.
    * ``underexposed``, ``overexposed``: fraction of face-ellipse pixels with
      Y ≤ :data:`UNDEREXPOSED_LEVEL` or Y ≥ :data:`OVEREXPOSED_LEVEL` (crushed shadows,
      blown highlights); lower is better.
    * ``contrast``: RMS contrast, the standard deviation of Y over the face ellipse / 255;
      higher is better up to the point where exposure clips.
    * ``compression``: JPEG blockiness on the frame's 8×8 grid at the centre of the face box,
      in [0, 1): 0 is none; lower is better (see :func:`blockiness`).
    * ``occlusion``: fraction of the four face parts (eyes, nose, mouth) whose patch looks
      unlike a face part of the same face; 0 is none; lower is better (see :func:`face_parts`).
    * ``eyes_visible``: in [0, 1], the weaker eye's eye-likeness; an eye counts as visible at
      ≥ :data:`EYE_VISIBLE_AT`; higher is better.
    * ``unified``: in [0, 100], the geometric mean of every component's utility × 100; higher
      is better (see :func:`utilities`).
    * ``detection_score``: the face detector's confidence in [0, 1] that the box holds a face
      (MTCNN's last stage by default); higher is better. A face partly hidden, smeared or
      covered reads lower; unlike the part checks, it sees any kind of cover.
    * ``head_overlap``: the share of the face box that lies under a *nearer* face of the same
      frame (a larger detection, its box grown by :data:`HEAD_MARGIN` for hair and ears) in
      [0, 1]; lower is better. In a vehicle the larger of two overlapping faces is the nearer
      one, so the smaller face is the one partly hidden behind the other's head. Measured only
      when :func:`assess` is given the frame's other detections; 0 otherwise.

    The last two follow ``unified`` (and have defaults) so that qualities built by hand keep
    their positional order; they do not enter ``unified``.
    """

    inter_eye_distance: float
    yaw: float
    pitch: float
    roll: float
    sharpness: float
    exposure: float
    underexposed: float
    overexposed: float
    contrast: float
    compression: float
    occlusion: float
    eyes_visible: float
    unified: float
    detection_score: float = 1.0
    head_overlap: float = 0.0


# --- the canonical crop --------------------------------------------------------------------

CANONICAL_EYE_DISTANCE = 40.0
"""Inter-eye distance (px) of a frontal face in the canonical crop: near the 35 px of an
ArcFace crop and the 55 px of a dlib chip, so texture is judged near the scale an embedder sees."""

CANONICAL_SIZE = 112
"""Side (px) of the square canonical crop: brow to chin at :data:`CANONICAL_EYE_DISTANCE`."""

FACE_ELLIPSE_CENTRE = 0.5
"""Centre of the face ellipse below the eye line, in inter-eye distances (half way to the mouth)."""

FACE_ELLIPSE_AXES = (0.85, 1.0)
"""Semi-axes of the face ellipse in inter-eye distances: eyebrows (−0.5) to below the lower lip
(+1.5), outer eye corners and cheeks (±0.85); little hair or background in a frontal face."""


@dataclass(frozen=True, slots=True)
class _Crop:
    """The face in canonical coordinates: YCrCb planes (float32, 0–255) and the landmarks.

    ``sharpness`` is measured on the way, before the rotation (see :func:`_canonical_crop`).
    """

    luma: FloatArray
    cr: FloatArray
    cb: FloatArray
    landmarks: npt.NDArray[np.float64]
    sharpness: float


@cache
def _template() -> npt.NDArray[np.float64]:
    """The frontal five-landmark template of the canonical crop (DLIB_CHIP_150, rescaled)."""
    chip = np.asarray(DLIB_CHIP_150.landmarks, dtype=np.float64)
    scale = CANONICAL_EYE_DISTANCE / float(np.hypot(*(chip[1] - chip[0])))
    out: npt.NDArray[np.float64] = (chip - DLIB_CHIP_150.size / 2.0) * scale + CANONICAL_SIZE / 2.0
    out.setflags(write=False)
    return out


@cache
def _face_mask() -> BoolArray:
    """The face ellipse in the canonical crop (see :data:`FACE_ELLIPSE_AXES`)."""
    template = _template()
    eyes = (template[0] + template[1]) / 2.0
    unit = CANONICAL_EYE_DISTANCE
    cx, cy = eyes[0], eyes[1] + FACE_ELLIPSE_CENTRE * unit
    ax, ay = FACE_ELLIPSE_AXES[0] * unit, FACE_ELLIPSE_AXES[1] * unit
    yy, xx = np.mgrid[0:CANONICAL_SIZE, 0:CANONICAL_SIZE].astype(np.float64) + 0.5
    mask: BoolArray = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1.0
    mask.setflags(write=False)
    return mask


def _require_rgb(image: RGBImage) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = f"shape {image.shape}, dtype {image.dtype}" if isinstance(image, np.ndarray) else type(image)
        raise UnsupportedImageError("quality needs an RGB image", expected="an H×W×3 uint8 array", got=got)
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise EmptyImageError("quality got an image without pixels", expected="H, W > 0", got=image.shape)


def _canonical_crop(image: RGBImage, landmarks: npt.NDArray[np.float64]) -> _Crop:
    """Resample the face to the canonical scale, measure sharpness, then warp to the canonical crop.

    Only the frame region that maps into the crop is read, so the cost grows with the face, not
    the frame. Luminance is first resized, axis-aligned, to the canonical scale: by area
    averaging when shrinking (after :func:`cv2.pyrDown` halvings for faces more than four times
    too large, which keeps the cost bounded), bilinearly when enlarging. Sharpness is the
    Laplacian's variance over the face ellipse of that image: measuring it after the rotating
    warp would let the bilinear interpolation's sub-pixel phase blur it by up to a half. Colour
    is only ever averaged over patches, so it is warped from the frame directly. Parts of the
    crop outside the frame repeat the frame's border.
    """
    matrix = similarity_transform(landmarks, _template())
    scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))
    size = CANONICAL_SIZE
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], dtype=np.float64)
    back = corners @ cv2.invertAffineTransform(matrix).T
    height, width = image.shape[:2]
    x0 = int(np.clip(math.floor(back[:, 0].min()) - 2, 0, width - 1))
    y0 = int(np.clip(math.floor(back[:, 1].min()) - 2, 0, height - 1))
    x1 = int(np.clip(math.ceil(back[:, 0].max()) + 3, x0 + 1, width))
    y1 = int(np.clip(math.ceil(back[:, 1].max()) + 3, y0 + 1, height))
    roi = image[y0:y1, x0:x1]
    local = matrix.copy()  # ROI pixel -> canonical pixel
    local[:, 2] += matrix[:, :2] @ np.array([x0, y0], dtype=np.float64)
    flags, border = cv2.INTER_LINEAR, cv2.BORDER_REPLICATE
    warped = cv2.warpAffine(roi, local, (size, size), flags=flags, borderMode=border)
    colour = cv2.cvtColor(warped, cv2.COLOR_RGB2YCrCb)
    grey = cv2.cvtColor(roi, cv2.COLOR_RGB2GRAY)
    while scale < 0.25 and min(grey.shape) >= 8:
        # pyrDown's output pixel i is centred on input pixel 2i.
        grey = cv2.pyrDown(grey)
        local[:, :2] *= 2.0
        scale *= 2.0
    if abs(scale - 1.0) > 1e-3:
        new_w, new_h = max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))
        fx, fy = new_w / grey.shape[1], new_h / grey.shape[0]
        # cv2.resize's output pixel i is centred on input coordinate (i + 0.5) / f − 0.5.
        local[:, 2] += local[:, :2] @ np.array([0.5 / fx - 0.5, 0.5 / fy - 0.5])
        local[:, 0] /= fx
        local[:, 1] /= fy
        interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        grey = cv2.resize(grey, (new_w, new_h), interpolation=interpolation)
    sharpness = _sharpness(grey, local)
    luma = cv2.warpAffine(grey, local, (size, size), flags=flags, borderMode=border).astype(np.float32)
    marks = np.hstack([landmarks, np.ones((5, 1))]) @ matrix.T
    return _Crop(
        luma=luma,
        cr=colour[:, :, 1].astype(np.float32),
        cb=colour[:, :, 2].astype(np.float32),
        landmarks=marks,
        sharpness=sharpness,
    )


SHARPNESS_SIGMA = 1.0
"""Gaussian pre-smoothing (px at the canonical scale) of the sharpness Laplacian. The finest
detail, next to the pixel grid, depends on how the face was resampled (a face at 60 px between
the eyes and the same face shrunk to 40 px differ there by a factor of two); a Laplacian of
Gaussian with σ = 1 px reads detail at about a quarter of the sampling rate, where faces of
any size above the canonical agree within about 15 %, and sensor noise counts for less."""


def _sharpness(grey: npt.NDArray[Any], to_canonical: npt.NDArray[np.float64]) -> float:
    """Variance of the Laplacian of Gaussian of ``grey`` over the face ellipse mapped into it."""
    template = _template()
    eyes = (template[0] + template[1]) / 2.0
    unit = CANONICAL_EYE_DISTANCE
    cx, cy = eyes[0], eyes[1] + FACE_ELLIPSE_CENTRE * unit
    ax, ay = FACE_ELLIPSE_AXES[0] * unit, FACE_ELLIPSE_AXES[1] * unit
    yy, xx = np.mgrid[0 : grey.shape[0], 0 : grey.shape[1]].astype(np.float64)
    u = to_canonical[0, 0] * xx + to_canonical[0, 1] * yy + to_canonical[0, 2] + 0.5
    v = to_canonical[1, 0] * xx + to_canonical[1, 1] * yy + to_canonical[1, 2] + 0.5
    inside = ((u - cx) / ax) ** 2 + ((v - cy) / ay) ** 2 <= 1.0
    # Leave out the outermost pixels, where the Laplacian sees the border.
    inside[[0, -1], :] = False
    inside[:, [0, -1]] = False
    if not inside.any():
        return 0.0
    smooth = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), SHARPNESS_SIGMA)
    laplacian = cv2.Laplacian(smooth, cv2.CV_32F)
    return float(laplacian[inside].var())


def _window(centre: npt.NDArray[np.float64], half: tuple[float, float]) -> tuple[slice, slice]:
    """Rows and columns of an axis-aligned patch of the canonical crop; ``half`` in inter-eye distances."""
    unit, size = CANONICAL_EYE_DISTANCE, CANONICAL_SIZE
    cx, cy = float(centre[0]), float(centre[1])
    x0 = min(max(round(cx - half[0] * unit), 0), size - 1)
    x1 = min(max(round(cx + half[0] * unit), x0 + 1), size)
    y0 = min(max(round(cy - half[1] * unit), 0), size - 1)
    y1 = min(max(round(cy + half[1] * unit), y0 + 1), size)
    return slice(y0, y1), slice(x0, x1)


# --- head pose from five landmarks -----------------------------------------------------------

FRONTAL_NOSE_FRACTION = 0.571
"""Where the nose tip sits between the eye line (0) and the mouth line (1) in a frontal face:
the median MTCNN landmarks over the 130 shared photos (:data:`bioexit.alignment.DLIB_CHIP_150`)."""

NOSE_DEPTH = 0.55
"""How far the nose tip stands in front of the eye centres and mouth corners, in inter-eye
distances: the Multi-PIE 68-point mean 3-D face has eye centres 64.8 mm apart and the nose tip
35 mm in front of them and 37 mm in front of the mouth corners."""

EYE_MOUTH_HEIGHT = 1.03
"""Eye-line to mouth-line height of a frontal face, in inter-eye distances (MTCNN median; the
Multi-PIE mean face has 1.02)."""


@dataclass(frozen=True, slots=True)
class HeadPose:
    """Head rotation in degrees from five landmarks; signs as in :func:`estimate_pose`."""

    yaw: float
    pitch: float
    roll: float


def estimate_pose(landmarks: npt.ArrayLike) -> HeadPose:
    """Yaw, pitch and roll (degrees) from the five landmarks, under a rigid orthographic face model.

    Geometry (image axes x right, y down; landmarks in ``LANDMARK_NAMES`` order). The head
    rotation is ``R = R_roll · R_yaw · R_pitch``: nod, then turn, then tilt in the image plane.

    * **roll** is the angle of the eye line, ``atan2(ry − ly, rx − lx)``: positive when the
      image-right eye sits lower, i.e. the face is turned clockwise as displayed. Nodding and
      turning keep the eye line level, so this is exact in that convention.
    * The landmarks are rotated by −roll about the eye midpoint ``E``, so the eye line is the
      x axis. ``M`` is the mouth-corner midpoint, ``N`` the nose tip, ``D`` the observed
      inter-eye distance, ``h = M.y`` the observed eye-to-mouth height.
    * Model: the eye centres and mouth corners lie in one plane (within 2 mm in the Multi-PIE
      mean face); the nose tip stands :data:`NOSE_DEPTH` × (frontal inter-eye distance ``D0``)
      in front of that plane, on the midline, at :data:`FRONTAL_NOSE_FRACTION` of the way
      from the eye line to the mouth line; the mouth line is :data:`EYE_MOUTH_HEIGHT` × ``D0``
      below the eye line.
    * **pitch** moves the nose tip up by ``NOSE_DEPTH·D0·sin(pitch)`` while the eye-to-mouth
      height shrinks to ``EYE_MOUTH_HEIGHT·D0·cos(pitch)``; turning changes neither. With
      ``f = N.y / h`` the observed nose fraction,
      ``pitch = atan((FRONTAL_NOSE_FRACTION − f) · EYE_MOUTH_HEIGHT / NOSE_DEPTH)``;
      positive: chin up (the nose tip moves towards the eyes).
    * **yaw** moves the nose tip off the projected midline ``E→M`` (taken at the nose's height)
      by ``u = NOSE_DEPTH·D0·sin(yaw) / cos(pitch)`` while the eyes close up to
      ``D = D0·cos(yaw)``, so ``yaw = atan(u·cos(pitch) / (NOSE_DEPTH·D))``; positive: the nose
      points to the image right.

    All three are exact for a rotated model face under orthographic projection; perspective
    at lane distances (≥ 1 m, 15 inter-eye distances) costs at most about 2°. On real faces the
    model's proportions are the larger error: nose depth and nose height vary by ±20 % between
    people and MTCNN's landmarks are noisy by a few per cent of ``D``. A nose 20 % deeper than
    the model reads 30° of yaw as 35°, and a frontal face can read ±10–15° of pitch (the 130
    shared photos, all roughly frontal, read −25…19° yaw and −17…19° pitch). Use yaw and pitch
    to reject clearly turned heads, not to rank nearly frontal ones.
    """
    marks = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    eye_l, eye_r, nose = marks[0], marks[1], marks[2]
    mouth = (marks[3] + marks[4]) / 2.0
    delta = eye_r - eye_l
    roll = math.atan2(float(delta[1]), float(delta[0]))
    distance = float(np.hypot(*delta))
    cos_r, sin_r = math.cos(roll), math.sin(roll)
    unrotate = np.array([[cos_r, sin_r], [-sin_r, cos_r]])
    centre = (eye_l + eye_r) / 2.0
    n = unrotate @ (nose - centre)
    m = unrotate @ (mouth - centre)
    height = float(m[1])
    if distance <= 0.0 or height <= 1e-6 * distance:
        # Degenerate landmarks (mouth not below the eyes): no yaw or pitch can be read.
        return HeadPose(yaw=0.0, pitch=0.0, roll=math.degrees(roll))
    fraction = float(n[1]) / height
    offset = float(n[0]) - fraction * float(m[0])
    pitch = math.atan((FRONTAL_NOSE_FRACTION - fraction) * EYE_MOUTH_HEIGHT / NOSE_DEPTH)
    yaw = math.atan2(offset * math.cos(pitch), NOSE_DEPTH * distance)
    return HeadPose(yaw=math.degrees(yaw), pitch=math.degrees(pitch), roll=math.degrees(roll))


# --- compression -------------------------------------------------------------------------------

BLOCKINESS_WINDOW = 256
"""Blockiness reads at most this many pixels square at the centre of the face box: enough for a
stable mean (over 8,000 block edges), and it bounds the cost of faces that fill the frame."""


def _grid_window(low: float, high: float, limit: int) -> tuple[int, int]:
    """The central part of [low, high), at most BLOCKINESS_WINDOW long, on the 8-pixel grid, in the frame."""
    start, stop = max(0.0, low), min(float(limit), high)
    half = min(stop - start, BLOCKINESS_WINDOW) / 2.0
    centre = (start + stop) / 2.0
    first = max(0, math.ceil((centre - half) / 8) * 8)
    last = min(limit, math.floor((centre + half) / 8) * 8)
    return first, max(first, last)


def blockiness(image: RGBImage, detection: Detection) -> float:
    """JPEG blockiness at the centre of the face box (up to 256 px square), in [0, 1): 0 is none.

    JPEG codes 8×8 blocks of luminance independently, so strong compression leaves steps at
    block edges while smoothing block interiors. With ``B`` the mean absolute luminance step
    across block edges (between pixels 8k−1 and 8k of the frame, both directions) and ``I`` the
    mean step between any other neighbours, blockiness is ``max(0, (B − I) / (B + I))``.

    It needs the frame's own grid: a frame that was cropped by a non-multiple of 8, or resized,
    after compression reads as 0. Strong texture aligned with the grid (window blinds) reads
    as a little blockiness; the shared photos read 0–0.34, a JPEG quality-5 round trip ≥ 0.5.
    """
    height, width = image.shape[:2]
    x0, x1 = _grid_window(detection.x1, detection.x2, width)
    y0, y1 = _grid_window(detection.y1, detection.y2, height)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return 0.0
    grey = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(np.int16)
    # Step j lies between local pixels j and j + 1; x0 and y0 are multiples of 8, so the
    # steps across block edges are those with j % 8 == 7.
    across = np.abs(np.diff(grey, axis=1)).mean(axis=0)
    down = np.abs(np.diff(grey, axis=0)).mean(axis=1)
    edge_sum = float(across[7::8].sum() + down[7::8].sum())
    edge_count = len(across[7::8]) + len(down[7::8])
    inner_sum = float(across.sum() + down.sum()) - edge_sum
    inner_count = len(across) + len(down) - edge_count
    edge, inner = edge_sum / edge_count, inner_sum / inner_count
    if edge + inner <= 0.0:
        return 0.0
    return max(0.0, (edge - inner) / (edge + inner))


# --- face parts: occlusion and eyes ----------------------------------------------------------

PART_HALF_SIZES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "eye_left": (0.25, 0.15),
        "eye_right": (0.25, 0.15),
        "nose": (0.2, 0.18),
        "mouth": (0.35, 0.15),
    }
)
"""Half width and half height of each part's patch in inter-eye distances, centred on its
landmark (the mouth on the corners' midpoint): an eye patch holds lids, iris and sclera but not
the brow; the mouth patch holds both lips; the nose patch holds the tip and nostrils."""

FLAT_TEXTURE = 0.04
"""A part whose luminance standard deviation is below this fraction of the face's median
luminance is flat, i.e. covered (tape, a bar, a plain mask, a uniform lens). The 130 shared
photos have ≥ 0.09 in every eye, ≥ 0.07 in every nose and mouth patch."""

DARK_PART = 0.25
"""A part whose median luminance is below this fraction of the face's is covered by something
dark. The shared photos have ≥ 0.34 for eyes, ≥ 0.43 for mouths, ≥ 0.69 for noses."""

MAX_NOSE_CHROMA = 28.0
"""A nose whose mean colour is further than this (Cr/Cb levels) from the colour of the
forehead band is covered by something of another colour (a coloured mask, a hand in a glove).
The shared photos have ≤ 17.6. Only the nose is tested: lips, eyes and make-up differ in
colour from skin by design, the nose's skin does not."""

FOREHEAD_BAND = (0.3, (0.5, 0.15))
"""The colour reference: a band centred this far above the eye midpoint, with this half size
(inter-eye distances): glabella, lower forehead and upper lids, rarely covered by a mask."""

EYE_VISIBLE_AT = 0.5
"""An eye whose :attr:`PartCheck.eye_score` reaches this counts as visible."""

EYE_DARKNESS_RAMP = (0.04, 0.10)
"""Eye score from ``darkness``: 0 at or below the first value, 1 at or above the second.
The shared photos' eyes have ≥ 0.13 (median 0.58); a uniform lens or bar has 0."""

EYE_LUMINANCE_RAMP = (0.15, 0.30)
"""Eye score from ``luminance``: 0 at or below the first value, 1 at or above the second.
The shared photos' eyes have ≥ 0.34; black bars have 0, dark lenses 0.12–0.39."""


@dataclass(frozen=True, slots=True)
class PartCheck:
    """What the occlusion and eye heuristics saw in one face part, for explanations.

    ``luminance`` is the patch's median luminance and ``texture`` its standard deviation, both
    as fractions of the face ellipse's median luminance. ``darkness`` is the patch's own
    contrast of dark detail: (median − 5th percentile) / median, the pupil and iris against lids
    and sclera in an eye. ``chroma`` is the distance (Cr/Cb levels, 0–255 scale) of its mean
    colour from the forehead band's. ``eye_score`` is in [0, 1] for eyes and 1 for the others.
    """

    name: str
    luminance: float
    texture: float
    darkness: float
    chroma: float
    occluded: bool
    eye_score: float


def _ramp(value: float, low: float, high: float) -> float:
    return min(max((value - low) / (high - low), 0.0), 1.0)


def _mean_colour(crop: _Crop, window: tuple[slice, slice]) -> tuple[float, float]:
    return float(crop.cr[window].mean()), float(crop.cb[window].mean())


def _parts(crop: _Crop) -> tuple[PartCheck, ...]:
    """Check each face part's patch against the same face's statistics (see :func:`face_parts`)."""
    scale = max(float(np.median(crop.luma[_face_mask()])), 1.0)
    marks = crop.landmarks
    eyes = (marks[0] + marks[1]) / 2.0
    offset, band = FOREHEAD_BAND
    ref_cr, ref_cb = _mean_colour(
        crop, _window(eyes - np.array([0.0, offset * CANONICAL_EYE_DISTANCE]), band)
    )
    centres = {
        "eye_left": marks[0],
        "eye_right": marks[1],
        "nose": marks[2],
        "mouth": (marks[3] + marks[4]) / 2.0,
    }
    checks = []
    for name, centre in centres.items():
        window = _window(centre, PART_HALF_SIZES[name])
        luma = crop.luma[window]
        ordered = np.sort(luma, axis=None)
        low, median = float(ordered[(ordered.size - 1) // 20]), float(ordered[(ordered.size - 1) // 2])
        luminance = median / scale
        texture = float(luma.std()) / scale
        darkness = (median - low) / median if median > 0.0 else 0.0
        cr, cb = _mean_colour(crop, window)
        chroma = math.hypot(cr - ref_cr, cb - ref_cb)
        is_eye = name.startswith("eye")
        eye_score = (
            min(_ramp(darkness, *EYE_DARKNESS_RAMP), _ramp(luminance, *EYE_LUMINANCE_RAMP)) if is_eye else 1.0
        )
        occluded = (
            texture < FLAT_TEXTURE
            or luminance < DARK_PART
            or (name == "nose" and chroma > MAX_NOSE_CHROMA)
            or eye_score < EYE_VISIBLE_AT
        )
        checks.append(PartCheck(name, luminance, texture, darkness, chroma, occluded, eye_score))
    return tuple(checks)


def face_parts(image: RGBImage, detection: Detection) -> tuple[PartCheck, ...]:
    """The occlusion and eye checks of the four face parts: eye_left, eye_right, nose, mouth.

    Heuristic: an eye is *eye-like* when its patch has a dark detail well below its own median
    (pupil and iris against lids and sclera, :data:`EYE_DARKNESS_RAMP`) and is not much darker
    than the face (:data:`EYE_LUMINANCE_RAMP`). A part is *occluded* when its patch (placed
    from the landmarks in the canonical crop) is flat (:data:`FLAT_TEXTURE`), much darker than
    the face (:data:`DARK_PART`), for the nose of another colour than the forehead band
    (:data:`MAX_NOSE_CHROMA`), and for an eye when it is not eye-like.

    Known failure modes. Missed: occluders with texture and the face's colour and brightness
    (a hand, hair over an eye, a patterned skin-tone mask), tinted glasses through which the
    pupils show, and closed eyes (lashes make a dark detail). False alarms: an eye in deep
    shadow (reads dark and can read flat), a nose in a very soft frontal light (flat),
    a fringe or hat brim over the forehead band (the colour reference becomes hair), a
    landmark far off its part (the patch looks at cheek or background), and strong coloured
    light that differs between forehead and nose.
    """
    _require_rgb(image)
    return _parts(_canonical_crop(image, detection.landmarks.astype(np.float64)))


# --- unified score -----------------------------------------------------------------------------

UNDEREXPOSED_LEVEL = 15
"""Luminance at or below which a face pixel counts as crushed (0–255)."""

OVEREXPOSED_LEVEL = 245
"""Luminance at or above which a face pixel counts as blown (0–255)."""

UTILITY_CURVES: Mapping[str, tuple[tuple[float, ...], tuple[float, ...]]] = MappingProxyType(
    {
        "inter_eye_distance": ((20.0, 60.0), (0.0, 1.0)),
        "yaw": ((15.0, 45.0), (1.0, 0.0)),
        "pitch": ((10.0, 40.0), (1.0, 0.0)),
        "roll": ((10.0, 40.0), (1.0, 0.0)),
        "sharpness": ((2.0, 10.0), (0.0, 1.0)),
        "exposure": ((15.0, 55.0, 200.0, 230.0), (0.0, 1.0, 1.0, 0.0)),
        "underexposed": ((0.02, 0.18), (1.0, 0.0)),
        "overexposed": ((0.02, 0.18), (1.0, 0.0)),
        "contrast": ((0.01, 0.07), (0.0, 1.0)),
        "compression": ((0.2, 0.7), (1.0, 0.0)),
        "occlusion": ((0.0, 0.5), (1.0, 0.0)),
        "eyes_visible": ((0.0, 1.0), (0.0, 1.0)),
    }
)
"""Piecewise-linear utility of each component in [0, 1]: (component values, utilities), flat
outside them; yaw, pitch and roll enter by magnitude.

Utility 1 means "no obstacle to matching", 0 "this alone makes the face useless". Each curve
passes 0.5 at the matching limit of :data:`bioexit.quality.profiles.LANE_V0`, with two
exceptions: the dark end of exposure stays at 1 down to that profile's limit (55) so that
well-exposed dark skin (mean luminance 65–90) is not marked down, and occlusion, whose limit
is 0, gives 0.5 for one covered part of four.
``detection_score`` and ``head_overlap`` have no curve and do not enter ``unified`` (which the
profiles' ``min_unified`` limits were set on); they are checked by their own limits."""


def _utilities(values: Mapping[str, float]) -> dict[str, float]:
    out = {}
    for name, (xs, ys) in UTILITY_CURVES.items():
        value = abs(values[name]) if name in ("yaw", "pitch", "roll") else values[name]
        out[name] = float(np.interp(value, xs, ys))
    return out


def utilities(quality: FaceQuality) -> dict[str, float]:
    """Each component's utility in [0, 1] (see :data:`UTILITY_CURVES`): which ones pull ``unified`` down."""
    return _utilities({f.name: getattr(quality, f.name) for f in fields(quality) if f.name != "unified"})


def _unified(values: dict[str, float]) -> float:
    """100 × the geometric mean of the utilities.

    A geometric mean, because one useless component makes the face useless (unified 0) however
    good the rest is, while small shortfalls in several components add up: with twelve
    components, one at utility 0.5 gives 94, four give 79.
    """
    utils = np.array(list(_utilities(values).values()))
    if np.any(utils <= 0.0):
        return 0.0
    return float(100.0 * np.exp(np.log(utils).mean()))


# --- assess ------------------------------------------------------------------------------------


HEAD_MARGIN = 0.125
"""A nearer face's box is grown by this share of its size on every side before it counts as
covering: hair, ears and the back of the head hide more than the face box."""

NEARER_SIZE = 1.1
"""A neighbour counts as nearer when its box is at least this many times as wide: faces in one
row are about the same size, so a small margin keeps a row's neighbours from covering each other."""


def head_overlap(detection: Detection, neighbours: Sequence[Detection]) -> float:
    """Share of ``detection``'s box under the grown box of the nearer face that covers most of it."""
    width, height = max(detection.width, 1e-6), max(detection.height, 1e-6)
    worst = 0.0
    for other in neighbours:
        if other is detection or other.width < NEARER_SIZE * detection.width:
            continue
        gx, gy = HEAD_MARGIN * other.width, HEAD_MARGIN * other.height
        ix = min(detection.x2, other.x2 + gx) - max(detection.x1, other.x1 - gx)
        iy = min(detection.y2, other.y2 + gy) - max(detection.y1, other.y1 - gy)
        if ix > 0 and iy > 0:
            worst = max(worst, ix * iy / (width * height))
    return min(worst, 1.0)


def assess(image: RGBImage, detection: Detection, neighbours: Sequence[Detection] = ()) -> FaceQuality:
    """Measure every quality component of ``detection``'s face in ``image`` (RGB, H×W×3 uint8).

    ``neighbours`` are the other faces detected in the same frame (``detection`` itself may be
    among them); without them ``head_overlap`` reads 0. Pure: reads only the face's
    neighbourhood, writes nothing. Costs 1–2 ms per face in a 1080p frame (it grows with the
    face, not the frame); raises :class:`~bioexit.errors.UnsupportedImageError` for anything
    but an RGB uint8 array.
    """
    _require_rgb(image)
    marks = detection.landmarks.astype(np.float64)
    pose = estimate_pose(marks)
    crop = _canonical_crop(image, marks)
    mask = _face_mask()
    face = crop.luma[mask]
    parts = _parts(crop)
    values = {
        "inter_eye_distance": detection.eye_distance,
        "yaw": pose.yaw,
        "pitch": pose.pitch,
        "roll": pose.roll,
        "sharpness": crop.sharpness,
        "exposure": float(face.mean()),
        "underexposed": float(np.count_nonzero(face <= UNDEREXPOSED_LEVEL)) / face.size,
        "overexposed": float(np.count_nonzero(face >= OVEREXPOSED_LEVEL)) / face.size,
        "contrast": float(face.std()) / 255.0,
        "compression": blockiness(image, detection),
        "occlusion": sum(part.occluded for part in parts) / len(parts),
        "eyes_visible": min(part.eye_score for part in parts if part.name.startswith("eye")),
        "detection_score": float(detection.score),
        "head_overlap": head_overlap(detection, neighbours),
    }
    return FaceQuality(**values, unified=_unified(values))
