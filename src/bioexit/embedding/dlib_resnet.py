"""dlib's 128-D face ResNet (LFW 99.38 %), weights from the ``face-recognition-models`` package."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from bioexit.alignment import DLIB_CHIP_150
from bioexit.detection.types import RGBImage
from bioexit.embedding.types import ModelInfo, Template, require_chips
from bioexit.errors import ModelFileError
from bioexit.modelfiles import dlib_model_file
from bioexit.settings import DlibResnetEmbedderConfig

DLIB_RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
DLIB_RESNET_INFO = ModelInfo(
    model_id="dlib-resnet-v1",
    version="1",
    dim=128,
    metric="euclidean",
    crop=DLIB_CHIP_150,
)


class DlibResnetEmbedder:
    def __init__(self, config: DlibResnetEmbedderConfig | None = None) -> None:
        self.config = config or DlibResnetEmbedderConfig()
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def info(self) -> ModelInfo:
        return DLIB_RESNET_INFO

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    import dlib
                except ImportError as exc:
                    raise ModelFileError(
                        "dlib embedder unavailable", expected="package dlib-bin installed", got=str(exc)
                    ) from exc
                self._model = dlib.face_recognition_model_v1(str(dlib_model_file(DLIB_RESNET_FILE)))
            return self._model

    def embed(self, chips: Sequence[RGBImage]) -> list[Template]:
        require_chips(chips, self.info.crop.size)
        if not chips:
            return []
        model = self._load()
        batch = [np.ascontiguousarray(chip) for chip in chips]
        vectors = model.compute_face_descriptor(batch, num_jitters=self.config.jitter)
        return [
            Template(np.asarray(v, dtype=np.float32), self.info.model_id, self.info.version, self.info.metric)
            for v in vectors
        ]
