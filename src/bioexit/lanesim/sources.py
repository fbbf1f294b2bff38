"""Who travels: the split of a labelled face folder into document photos and probe photos.

One photo per enrolled person is set aside as the document photo; the rest are probes that
the simulator pastes into vehicles. A seeded share of the people is left out of the document
gallery altogether (everything of theirs is a probe), so a benchmark has non-mated searches.
A person with a single photo can only be a probe, so is always among those left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from bioexit.detection.types import Detection, RGBImage

SOURCE_FACE_WIDTH = 200.0
"""Probe crops are shrunk so the face box is at most this wide: larger than any lane face."""

SOURCE_CONTEXT = 2.0
"""Side of a probe crop, in face-box widths (hair, ears and some background around the box)."""

NON_ENROLLED_FRACTION = 0.15


def person_id(identity: str) -> str:
    """A file- and id-safe name for a dataset identity (``ageitgey/biden`` → ``ageitgey-biden``)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", identity).strip("-")


@dataclass(frozen=True, slots=True)
class CastSplit:
    """Which photo is whose document, and which photos are probes (paths as given)."""

    documents: Mapping[str, str]  # identity → document photo key
    probes: Mapping[str, tuple[str, ...]]  # identity → probe photo keys (every identity)
    enrolled: frozenset[str]

    @property
    def identities(self) -> list[str]:
        return sorted(self.probes)


def split_cast(
    photos: Mapping[str, Sequence[str]],
    rng: np.random.Generator,
    non_enrolled_fraction: float = NON_ENROLLED_FRACTION,
) -> CastSplit:
    """Choose the non-enrolled people and each enrolled person's document photo.

    ``photos`` maps an identity to its photo keys (any strings, e.g. dataset paths).
    """
    identities = sorted(i for i, keys in photos.items() if keys)
    if not identities:
        raise ValueError("no identities with photos")
    singles = [i for i in identities if len(photos[i]) < 2]
    wanted = max(1, round(non_enrolled_fraction * len(identities))) if non_enrolled_fraction > 0 else 0
    others = [i for i in identities if i not in singles]
    extra = max(0, min(len(others) - 1, wanted - len(singles)))
    left_out = set(singles) | {others[int(k)] for k in rng.choice(len(others), size=extra, replace=False)}
    documents: dict[str, str] = {}
    probes: dict[str, tuple[str, ...]] = {}
    for identity in identities:
        keys = sorted(photos[identity])
        if identity in left_out:
            probes[identity] = tuple(keys)
            continue
        doc = keys[int(rng.integers(len(keys)))]
        documents[identity] = doc
        probes[identity] = tuple(k for k in keys if k != doc)
    return CastSplit(documents, probes, frozenset(documents))


@dataclass(frozen=True, slots=True)
class FaceSource:
    """A probe face ready to paste: a square RGB crop, its face box and five landmarks in crop pixels."""

    key: str
    identity: str
    image: RGBImage
    box: tuple[float, float, float, float]
    landmarks: npt.NDArray[np.float32]
    mask: npt.NDArray[np.float32]  # feathered head ellipse, 0…1, same size as ``image``
    skin: tuple[int, int, int]  # mean colour of the face's centre, for the neck

    @property
    def box_width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)


def head_mask(side: int) -> npt.NDArray[np.float32]:
    """A feathered ellipse over the head part of a crop: hair and ears, little background."""
    mask = np.zeros((side, side), np.float32)
    axes = (int(side * 0.34), int(side * 0.44))
    cv2.ellipse(mask, (side // 2, int(side * 0.47)), axes, 0, 0, 360, 1.0, -1)
    return np.asarray(cv2.GaussianBlur(mask, (0, 0), max(1.0, side * 0.03)), np.float32)


DETECT_MAX_SIDE = 1024
"""Probe photos are shrunk to at most this side before detection: faster, and still far above lane size."""


def shrink_for_detection(photo: RGBImage) -> RGBImage:
    scale = DETECT_MAX_SIDE / max(photo.shape[:2])
    if scale >= 1:
        return photo
    size = (max(1, round(photo.shape[1] * scale)), max(1, round(photo.shape[0] * scale)))
    return np.ascontiguousarray(cv2.resize(photo, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def make_source(key: str, identity: str, photo: RGBImage, face: Detection) -> FaceSource:
    """Cut a probe crop around ``face`` (the photo's largest detection), shrunk to a lane-useful size."""
    cx, cy = (face.x1 + face.x2) / 2, (face.y1 + face.y2) / 2
    scale = min(1.0, SOURCE_FACE_WIDTH / face.width)
    width = face.width * scale
    side = max(8, round(SOURCE_CONTEXT * width))
    matrix = np.array([[scale, 0, side / 2 - scale * cx], [0, scale, side / 2 - scale * cy]])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    crop = cv2.warpAffine(photo, matrix, (side, side), flags=interpolation, borderMode=cv2.BORDER_REFLECT)
    half_w, half_h = width / 2, face.height * scale / 2
    box = (side / 2 - half_w, side / 2 - half_h, side / 2 + half_w, side / 2 + half_h)
    marks = face.landmarks.astype(np.float64) * scale + (matrix[:, 2])
    centre = crop[
        round(side / 2 - half_h / 3) : round(side / 2 + half_h / 3),
        round(side / 2 - half_w / 3) : round(side / 2 + half_w / 3),
    ]
    r, g, b = (int(v * 0.85) for v in centre.reshape(-1, 3).mean(axis=0)) if centre.size else (150, 120, 100)
    return FaceSource(
        key=key,
        identity=identity,
        image=np.ascontiguousarray(crop, dtype=np.uint8),
        box=box,
        landmarks=marks.astype(np.float32),
        mask=head_mask(side),
        skin=(r, g, b),
    )
