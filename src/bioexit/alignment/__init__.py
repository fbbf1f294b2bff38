"""Five landmarks → the embedder's canonical crop, by a similarity transform."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from bioexit.detection.types import RGBImage
from bioexit.errors import UnsupportedImageError


@dataclass(frozen=True, slots=True)
class CropSpec:
    """Where an embedder wants the five landmarks to land in its square input crop."""

    size: int
    landmarks: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if len(self.landmarks) != 5:
            raise ValueError(f"expected 5 canonical landmarks, got {len(self.landmarks)}")


# Median positions of MTCNN's five landmarks inside dlib's own 150×150 chips
# (dlib.get_face_chip, padding 0.25) over the 130 photos of the shared labels.csv:
# a crop made with these matches what dlib's ResNet was trained on.
DLIB_CHIP_150 = CropSpec(
    size=150,
    landmarks=((46.11, 44.64), (100.86, 44.83), (73.48, 76.99), (48.69, 101.33), (99.63, 101.03)),
)

# The ArcFace / InsightFace 112×112 reference points.
ARCFACE_112 = CropSpec(
    size=112,
    landmarks=(
        (38.2946, 51.6963),
        (73.5318, 51.5014),
        (56.0252, 71.7366),
        (41.5493, 92.3655),
        (70.7299, 92.2041),
    ),
)


def similarity_transform(source: npt.ArrayLike, target: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The 2×3 least-squares similarity (rotation, uniform scale, shift) taking source to target (Umeyama)."""
    src = np.asarray(source, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(target, dtype=np.float64).reshape(-1, 2)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1, 1] = -1.0
    rotation = u @ d @ vt
    variance = (src_c**2).sum() / len(src)
    scale = float(np.trace(np.diag(s) @ d) / variance) if variance > 0 else 1.0
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def align(image: RGBImage, landmarks: npt.ArrayLike, spec: CropSpec) -> RGBImage:
    """Warp the face to ``spec``'s canonical crop (size×size×3 uint8, RGB)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise UnsupportedImageError(
            "cannot align", expected="an H×W×3 uint8 RGB image", got=f"{image.shape} {image.dtype}"
        )
    matrix = similarity_transform(landmarks, spec.landmarks)
    chip = cv2.warpAffine(
        image, matrix, (spec.size, spec.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.ascontiguousarray(chip, dtype=np.uint8)
