"""Templates and the embedder protocol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from bioexit.alignment import CropSpec
from bioexit.detection.types import RGBImage
from bioexit.errors import ModelMismatchError, UnsupportedImageError

Metric = Literal["cosine", "euclidean"]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Identity of an embedding model: templates of different ids or versions never compare."""

    model_id: str
    version: str
    dim: int
    metric: Metric
    crop: CropSpec

    @property
    def key(self) -> str:
        return f"{self.model_id}@{self.version}"


@dataclass(frozen=True, slots=True)
class Template:
    """A face template: a read-only float32 vector tagged with the model that made it."""

    vector: npt.NDArray[np.float32]
    model_id: str
    model_version: str
    metric: Metric

    def __post_init__(self) -> None:
        vector = np.array(self.vector, dtype=np.float32).reshape(-1)
        vector.setflags(write=False)
        object.__setattr__(self, "vector", vector)

    @property
    def model_key(self) -> str:
        return f"{self.model_id}@{self.model_version}"

    def require_model(self, expected_key: str) -> None:
        """Raise ModelMismatchError unless this template comes from ``model_id@version`` = expected_key."""
        if self.model_key != expected_key:
            raise ModelMismatchError(
                "templates come from different models and cannot be compared",
                expected=expected_key,
                got=self.model_key,
            )


def scores(
    metric: Metric, probe: npt.NDArray[np.float32], gallery: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Similarity of one probe vector to each row of ``gallery``: higher means more alike.

    cosine: the cosine similarity. euclidean: ``1 - distance`` (dlib's customary
    distance threshold 0.6 is the score 0.4).
    """
    if metric == "cosine":
        norms = np.linalg.norm(gallery, axis=1) * np.linalg.norm(probe)
        result = gallery @ probe / np.maximum(norms, 1e-12)
    else:
        result = 1.0 - np.linalg.norm(gallery - probe, axis=1)
    return np.asarray(result, dtype=np.float32)


def similarity(a: Template, b: Template) -> float:
    """Score of two templates; ModelMismatchError if they come from different models."""
    b.require_model(a.model_key)
    return float(scores(a.metric, a.vector, b.vector[None, :])[0])


def require_chips(chips: Sequence[RGBImage], size: int) -> None:
    """Raise UnsupportedImageError unless every chip is an aligned size×size×3 uint8 crop."""
    for chip in chips:
        if chip.shape != (size, size, 3) or chip.dtype != np.uint8:
            raise UnsupportedImageError(
                "not an aligned crop", expected=f"({size}, {size}, 3) uint8", got=f"{chip.shape} {chip.dtype}"
            )


class Embedder(Protocol):
    """Turns aligned crops (``info.crop``) into templates. Loads its model lazily, once."""

    @property
    def info(self) -> ModelInfo: ...

    def embed(self, chips: Sequence[RGBImage]) -> list[Template]: ...
