"""In-library fakes of the backend protocols, for tests of code built on the face engine.

Like httpx's ``MockTransport``: real objects with scripted behaviour, no model files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from bioexit.alignment import ARCFACE_112, CropSpec
from bioexit.detection.types import Detection, RGBImage
from bioexit.embedding.types import ModelInfo, Template


class FakeDetector:
    """Returns whatever ``script(image)`` returns (by default: no faces)."""

    def __init__(self, script: Callable[[RGBImage], Sequence[Detection]] | None = None) -> None:
        self._script = script or (lambda _image: [])
        self.calls = 0

    @property
    def name(self) -> str:
        return "fake"

    def detect(self, image: RGBImage) -> list[Detection]:
        self.calls += 1
        return sorted(self._script(image), key=lambda d: -d.score)


class FakeEmbedder:
    """Template = the crop's mean colour per cell of a 4×4 grid (48-D), cosine metric.

    Identical crops give identical templates and differently coloured crops give
    different ones, which is all a test of the plumbing needs.
    """

    def __init__(self, model_id: str = "fake", version: str = "1", crop: CropSpec = ARCFACE_112) -> None:
        self._info = ModelInfo(model_id, version, 48, "cosine", crop)

    @property
    def info(self) -> ModelInfo:
        return self._info

    def embed(self, chips: Sequence[RGBImage]) -> list[Template]:
        out = []
        for chip in chips:
            size = self._info.crop.size
            cells = chip.reshape(4, size // 4, 4, size // 4, 3).mean(axis=(1, 3)).ravel()
            vector = cells - cells.mean()
            out.append(Template(vector.astype(np.float32), self._info.model_id, self._info.version, "cosine"))
        return out
