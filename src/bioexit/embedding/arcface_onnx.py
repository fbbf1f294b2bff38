"""ArcFace-family embedders (InsightFace-style ONNX, 112×112 RGB) from a user-given, pinned path."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from bioexit.alignment import ARCFACE_112
from bioexit.detection.types import RGBImage
from bioexit.embedding.types import ModelInfo, Template, require_chips
from bioexit.errors import ModelFileError
from bioexit.modelfiles import pinned_file
from bioexit.settings import ArcfaceOnnxEmbedderConfig


class ArcfaceOnnxEmbedder:
    """Input ``(n, 3, 112, 112)`` float, ``(x - 127.5) / 127.5`` in RGB; output ``(n, d)``; cosine."""

    def __init__(self, config: ArcfaceOnnxEmbedderConfig) -> None:
        self.config = config
        self._session: Any = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                path = pinned_file(self.config.path, self.config.sha256)
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.config.threads
                try:
                    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                except Exception as exc:  # ORT raises its own untyped errors
                    raise ModelFileError(f"ONNX Runtime cannot load {path}: {exc}") from exc
                shape = session.get_inputs()[0].shape
                if len(shape) != 4 or shape[1] != 3 or shape[2:] != [112, 112]:
                    raise ModelFileError(
                        f"{path} is not an ArcFace-style model",
                        expected="input (n, 3, 112, 112)",
                        got=str(shape),
                    )
                out = session.get_outputs()[0].shape
                if len(out) != 2 or not isinstance(out[1], int):
                    raise ModelFileError(
                        f"{path} is not an ArcFace-style model", expected="output (n, d)", got=str(out)
                    )
                self._dim = out[1]
                self._session = session
            return self._session

    @property
    def info(self) -> ModelInfo:
        self._load()
        assert self._dim is not None
        return ModelInfo(self.config.model_id, self.config.version, self._dim, "cosine", ARCFACE_112)

    def embed(self, chips: Sequence[RGBImage]) -> list[Template]:
        require_chips(chips, 112)
        if not chips:
            return []
        session = self._load()
        batch = (np.stack(chips).astype(np.float32) - 127.5) / 127.5
        name = session.get_inputs()[0].name
        # Models exported with a fixed batch of 1 are common: feed one crop at a time then.
        fixed_one = session.get_inputs()[0].shape[0] == 1
        parts = [batch[i : i + 1] for i in range(len(batch))] if fixed_one else [batch]
        vectors = np.concatenate([session.run(None, {name: p.transpose(0, 3, 1, 2)})[0] for p in parts])
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        info = self.info
        return [Template(v, info.model_id, info.version, "cosine") for v in vectors]
