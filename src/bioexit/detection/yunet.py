"""YuNet (Wu et al. 2023, libfacedetection) in ONNX Runtime, from a given file pinned by sha256.

We decode the network's raw outputs ourselves rather than use ``cv2.FaceDetectorYN``, so
that the thread count is ours to set and all three published graphs behave alike. The
2023 graphs are anchor-free: for each stride ``s`` in (8, 16, 32) and grid cell
``(row, col)`` they output

* ``cls_s`` and ``obj_s``: the face score is ``sqrt(clip(cls) * clip(obj))``;
* ``bbox_s``: ``(dx, dy, log w, log h)``; centre ``((col + dx)·s, (row + dy)·s)``,
  size ``(exp(log w)·s, exp(log h)·s)``;
* ``kps_s``: five ``(dx, dy)`` pairs, each point ``((col + dx)·s, (row + dy)·s)``.

The input is a BGR float tensor in 0…255 (no mean or scale), its sides multiples of 32.

YuNet is reliable for faces of about 12 to 320 pixels (measured on the shared graphs;
larger faces come out as wrong boxes and face parts). So every frame is searched on a
small pyramid: first rescaled by ``upscale`` (2.0 finds ~24 px faces of a 1920×1080
frame), then a quarter of that each time, the last level being the whole frame fitted
into 640×640. On levels followed by a coarser one, boxes larger than 384 px are dropped.

Graphs with a dynamic input size see each level at once, zero-padded to multiples of 32.
A graph with a fixed input (``face_detection_yunet_2023mar.onnx``: 640×640) sees a level
larger than its input cut into tiles overlapping by a quarter of a tile: a face smaller
than the overlap lies wholly inside some tile, and detections touching an inner tile
border are dropped (larger faces are whole on a coarser level). All candidates meet in
one non-maximum suppression that also drops a box lying mostly inside a better one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from bioexit.detection.boxes import nms, require_rgb
from bioexit.detection.types import Detection, RGBImage
from bioexit.errors import ModelFileError
from bioexit.modelfiles import pinned_file
from bioexit.settings import YunetOnnxDetectorConfig

FloatArray = npt.NDArray[np.float32]

STRIDES = (8, 16, 32)
OUTPUT_NAMES = tuple(f"{kind}_{s}" for kind in ("cls", "obj", "bbox", "kps") for s in STRIDES)
_ALIGN = 32  # the input's sides must be multiples of the largest stride
_TILE_OVERLAP = 0.25  # fraction of the tile side shared with the neighbouring tile
_CUT_MARGIN = 2.0  # pixels: a box this close to an inner tile border is taken as cut
_PYRAMID_STEP = 4.0  # ratio between pyramid levels
_WHOLE_SIDE = 640  # a dynamic graph's coarsest level fits in this square
_MAX_FACE = 384.0  # pixels: larger boxes on a level that has a coarser one after it are dropped
_CONTAINMENT = 0.65  # NMS also drops a box lying this much inside a better one (face parts)
_MAX_CANDIDATES = 5000  # before NMS, as OpenCV's FaceDetectorYN does

# YuNet's landmarks are the subject's right eye, left eye, nose tip, right and left mouth
# corners. The subject's right is the image's left, so YuNet's order is already ours
# (eye_left, eye_right, nose, mouth_left, mouth_right as seen in the image). Kept explicit.
_LANDMARK_ORDER = (0, 1, 2, 3, 4)


def decode(
    outputs: dict[str, npt.NDArray[Any]], height: int, width: int, score_threshold: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Boxes (N×4, x1 y1 x2 y2), scores (N) and landmarks (N×5×2) in input-tensor pixels.

    ``outputs`` maps YuNet's output names to arrays for one image (batch index 0);
    ``height`` and ``width`` are the input tensor's, multiples of 32.
    """
    boxes, scores, marks = [], [], []
    for stride in STRIDES:
        rows, cols = height // stride, width // stride
        cls = outputs[f"cls_{stride}"][0].reshape(-1)
        obj = outputs[f"obj_{stride}"][0].reshape(-1)
        if cls.shape[0] != rows * cols:
            raise ModelFileError(
                f"YuNet output cls_{stride} does not match a {width}×{height} input",
                expected=f"{rows * cols} grid cells",
                got=f"{cls.shape[0]}",
            )
        score = np.sqrt(np.clip(cls, 0.0, 1.0) * np.clip(obj, 0.0, 1.0))
        keep = np.nonzero(score >= score_threshold)[0]
        if keep.size == 0:
            continue
        row = (keep // cols).astype(np.float32)[:, None]
        col = (keep % cols).astype(np.float32)[:, None]
        bbox = outputs[f"bbox_{stride}"][0].reshape(-1, 4)[keep].astype(np.float32)
        kps = outputs[f"kps_{stride}"][0].reshape(-1, 10)[keep].astype(np.float32)
        cx = (col[:, 0] + bbox[:, 0]) * stride
        cy = (row[:, 0] + bbox[:, 1]) * stride
        half_w = np.exp(bbox[:, 2]) * stride / 2.0
        half_h = np.exp(bbox[:, 3]) * stride / 2.0
        boxes.append(np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1))
        scores.append(score[keep])
        kx = (kps[:, 0::2] + col) * stride
        ky = (kps[:, 1::2] + row) * stride
        marks.append(np.stack([kx, ky], axis=2))
    if not boxes:
        return (
            np.empty((0, 4), np.float32),
            np.empty(0, np.float32),
            np.empty((0, 5, 2), np.float32),
        )
    return (
        np.concatenate(boxes).astype(np.float32),
        np.concatenate(scores).astype(np.float32),
        np.concatenate(marks).astype(np.float32),
    )


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of side ``tile`` covering ``length``, sharing ≥ ``overlap`` pixels."""
    if length <= tile:
        return [0]
    count = int(np.ceil((length - tile) / (tile - overlap))) + 1
    return [round(float(v)) for v in np.linspace(0, length - tile, count)]


@dataclass(frozen=True, slots=True)
class _Candidates:
    boxes: FloatArray
    scores: FloatArray
    marks: FloatArray


def _resize(image: RGBImage, width: int, height: int) -> RGBImage:
    if (height, width) == image.shape[:2]:
        return image
    shrink = width < image.shape[1]
    method = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, (width, height), interpolation=method), dtype=np.uint8)


class YunetOnnxDetector:
    """YuNet face detector from a pinned ONNX file. Loads on first use, once; thread-safe."""

    def __init__(self, config: YunetOnnxDetectorConfig) -> None:
        self.config = config
        self._session: Any = None
        self._input_name = "input"
        self._fixed_hw: tuple[int, int] | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"yunet-onnx:{self.config.path.stem}"

    @property
    def fixed_input_size(self) -> tuple[int, int] | None:
        """(height, width) of a fixed-size graph, None for a dynamic one; loads the model."""
        self.load()
        return self._fixed_hw

    def load(self) -> None:
        """Check the pin and build the ONNX Runtime session (done by the first detect anyway)."""
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort

            path = pinned_file(self.config.path, self.config.sha256)
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.config.threads
            options.inter_op_num_threads = 1
            try:
                session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # ORT raises its own untyped errors for a bad graph
                raise ModelFileError(
                    f"ONNX Runtime cannot load {path}", expected="a YuNet ONNX graph", got=str(exc)
                ) from exc
            inputs = session.get_inputs()
            outputs = {o.name for o in session.get_outputs()}
            shape = list(inputs[0].shape) if len(inputs) == 1 else []
            if len(shape) != 4 or not set(OUTPUT_NAMES) <= outputs:
                raise ModelFileError(
                    f"{path} is not a YuNet 2023 graph",
                    expected=f"one N×3×H×W input and outputs {', '.join(OUTPUT_NAMES)}",
                    got=f"inputs {[(i.name, i.shape) for i in inputs]}, outputs {sorted(outputs)}",
                )
            height, width = shape[2], shape[3]
            if isinstance(height, int) and isinstance(width, int):
                if height % _ALIGN or width % _ALIGN:
                    raise ModelFileError(
                        f"{path} has an unusable fixed input size",
                        expected=f"sides that are multiples of {_ALIGN}",
                        got=f"{width}×{height}",
                    )
                self._fixed_hw = (height, width)
            self._input_name = inputs[0].name
            self._session = session

    def _run(self, rgb: RGBImage, pad_h: int, pad_w: int) -> _Candidates:
        """Run on one RGB image (a view is fine), zero-padded at the bottom and right."""
        blob = np.zeros((1, 3, pad_h, pad_w), dtype=np.float32)
        h, w = rgb.shape[:2]
        for channel in range(3):  # YuNet wants BGR planes, 0…255, no normalisation
            blob[0, channel, :h, :w] = rgb[:, :, 2 - channel]
        values = self._session.run(list(OUTPUT_NAMES), {self._input_name: blob})
        boxes, scores, marks = decode(
            dict(zip(OUTPUT_NAMES, values, strict=True)), pad_h, pad_w, self.config.score_threshold
        )
        return _Candidates(boxes, scores, marks)

    def _whole(self, rgb: RGBImage) -> _Candidates:
        if self._fixed_hw is not None:
            return self._run(rgb, *self._fixed_hw)
        h, w = rgb.shape[:2]
        return self._run(rgb, -(-h // _ALIGN) * _ALIGN, -(-w // _ALIGN) * _ALIGN)

    def _tiled(self, rgb: RGBImage) -> _Candidates:
        assert self._fixed_hw is not None
        tile_h, tile_w = self._fixed_hw
        h, w = rgb.shape[:2]
        found: list[_Candidates] = []
        for y0 in tile_starts(h, tile_h, int(tile_h * _TILE_OVERLAP)):
            for x0 in tile_starts(w, tile_w, int(tile_w * _TILE_OVERLAP)):
                got = self._run(rgb[y0 : y0 + tile_h, x0 : x0 + tile_w], tile_h, tile_w)
                b = got.boxes
                # Inner borders only: a box may run past the frame's own edge.
                cut = np.zeros(len(b), dtype=bool)
                if x0 > 0:
                    cut |= b[:, 0] < _CUT_MARGIN
                if y0 > 0:
                    cut |= b[:, 1] < _CUT_MARGIN
                if x0 + tile_w < w:
                    cut |= b[:, 2] > tile_w - _CUT_MARGIN
                if y0 + tile_h < h:
                    cut |= b[:, 3] > tile_h - _CUT_MARGIN
                keep = ~cut
                offset = np.array([x0, y0], dtype=np.float32)
                found.append(
                    _Candidates(
                        got.boxes[keep] + np.tile(offset, 2),
                        got.scores[keep],
                        got.marks[keep] + offset,
                    )
                )
        return _merge(found)

    def _levels(self, height: int, width: int) -> list[tuple[int, int]]:
        """(width, height) of each pyramid level: the upscaled frame first, then coarser ones.

        Each level is a quarter of the one before; the last is the whole frame fitted into
        one tile (or 640×640 for a dynamic graph). YuNet is reliable for faces of about
        12 to 320 pixels, so consecutive levels overlap in the face sizes they cover.
        """
        tile_h, tile_w = self._fixed_hw or (_WHOLE_SIDE, _WHOLE_SIDE)
        fit = min(tile_w / width, tile_h / height)
        scale = self.config.upscale
        levels: list[tuple[int, int]] = []
        while True:
            w, h = max(1, round(width * scale)), max(1, round(height * scale))
            levels.append((w, h))
            if w <= tile_w and h <= tile_h:
                return levels
            scale = max(scale / _PYRAMID_STEP, fit)

    def detect(self, image: RGBImage) -> list[Detection]:
        require_rgb(image)
        self.load()
        height, width = image.shape[:2]
        found: list[_Candidates] = []
        levels = self._levels(height, width)
        for number, (w, h) in enumerate(levels):
            level = _resize(image, w, h)
            fixed = self._fixed_hw
            tiled = fixed is not None and (h > fixed[0] or w > fixed[1])
            got = self._tiled(level) if tiled else self._whole(level)
            if number < len(levels) - 1:
                # Faces too large for this level are found, better, on a coarser one.
                sides = np.maximum(got.boxes[:, 2] - got.boxes[:, 0], got.boxes[:, 3] - got.boxes[:, 1])
                small = sides <= _MAX_FACE
                got = _Candidates(got.boxes[small], got.scores[small], got.marks[small])
            scale = np.array([w / width, h / height], dtype=np.float32)
            found.append(
                _Candidates(
                    (got.boxes / np.tile(scale, 2)).astype(np.float32),
                    got.scores,
                    (got.marks / scale).astype(np.float32),
                )
            )
        merged = _merge(found)
        if len(merged.scores) > _MAX_CANDIDATES:
            top = np.argsort(-merged.scores, kind="stable")[:_MAX_CANDIDATES]
            merged = _Candidates(merged.boxes[top], merged.scores[top], merged.marks[top])
        kept = nms(merged.boxes, merged.scores, self.config.nms_threshold, _CONTAINMENT)
        detections = []
        for i in kept:
            # Boxes are clipped to the frame; landmarks are left where the network put them.
            x1, y1, x2, y2 = (float(v) for v in merged.boxes[i])
            x1, x2 = max(0.0, x1), min(float(width), x2)
            y1, y2 = max(0.0, y1), min(float(height), y2)
            if x2 <= x1 or y2 <= y1:
                continue
            detections.append(
                Detection(
                    x1=x1,
                    y1=y1,
                    x2=x2,
                    y2=y2,
                    score=float(merged.scores[i]),
                    landmarks=merged.marks[i][list(_LANDMARK_ORDER)],
                )
            )
        return detections


def _merge(parts: list[_Candidates]) -> _Candidates:
    if not parts:
        return _Candidates(
            np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty((0, 5, 2), np.float32)
        )
    return _Candidates(
        np.concatenate([p.boxes for p in parts]).astype(np.float32),
        np.concatenate([p.scores for p in parts]).astype(np.float32),
        np.concatenate([p.marks for p in parts]).astype(np.float32),
    )
