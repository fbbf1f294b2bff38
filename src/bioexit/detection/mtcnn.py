"""MTCNN (Zhang et al. 2016) run by ONNX Runtime, with the MIT weights shipped in the ``mtcnn`` wheel.

The ``mtcnn`` package runs its networks in TensorFlow, which we never install: we
read its Keras weight lists (joblib + lz4) and build the three small networks as
ONNX graphs in memory. The cascade is the usual one: P-Net over an image pyramid
proposes windows, R-Net (24×24) and O-Net (48×48) refine them, O-Net adds the
five landmarks.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from bioexit.detection.boxes import nms, require_rgb
from bioexit.detection.types import Detection, RGBImage
from bioexit.modelfiles import package_file
from bioexit.settings import MtcnnDetectorConfig

FloatArray = npt.NDArray[np.float32]

_PNET_CELL = 12
_PNET_STRIDE = 2


# --- building the networks ---------------------------------------------------------------


class _GraphBuilder:
    """A few helpers over onnx.helper to write the three small CNNs tersely."""

    def __init__(self, weights: Sequence[np.ndarray], input_hw: tuple[int | str, int | str]) -> None:
        from onnx import TensorProto, helper

        self._helper = helper
        self._weights = list(weights)
        self._nodes: list[Any] = []
        self._inits: list[Any] = []
        self._count = 0
        self.input = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 3, *input_hw])

    def use_uint8_nhwc_input(self) -> str:
        """Take raw uint8 NHWC pixels and normalise in the graph (cheaper than in NumPy)."""
        from onnx import TensorProto, helper

        self.input = helper.make_tensor_value_info("input", TensorProto.UINT8, ["n", "h", "w", 3])
        x = self._node("Cast", ["input"], to=TensorProto.FLOAT)
        x = self._node("Sub", [x, self._const(np.array(127.5, dtype=np.float32))])
        x = self._node("Mul", [x, self._const(np.array(1.0 / 128.0, dtype=np.float32))])
        return self._node("Transpose", [x], perm=[0, 3, 1, 2])

    def _take(self) -> np.ndarray:
        return np.asarray(self._weights.pop(0), dtype=np.float32)

    def _const(self, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self._count += 1
        name = f"w{self._count}"
        self._inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def _node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        self._count += 1
        out = f"t{self._count}"
        self._nodes.append(self._helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv_prelu(self, x: str) -> str:
        kernel = self._take().transpose(3, 2, 0, 1)  # Keras HWIO -> ONNX OIHW
        bias = self._take()
        alpha = self._take().reshape(-1, 1, 1)  # shared over H and W
        y = self._node("Conv", [x, self._const(kernel), self._const(bias)])
        return self._node("PRelu", [y, self._const(alpha)])

    def pool(self, x: str, size: int, same: bool) -> str:
        pad = "SAME_UPPER" if same else "VALID"  # TF's "same" pads the end, as SAME_UPPER does
        return self._node("MaxPool", [x], kernel_shape=[size, size], strides=[2, 2], auto_pad=pad)

    def conv(self, x: str) -> str:
        kernel = self._take().transpose(3, 2, 0, 1)
        return self._node("Conv", [x, self._const(kernel), self._const(self._take())])

    def flatten_transposed(self, x: str) -> str:
        # Keras Permute((2, 1, 3)) on NHWC then Flatten == NCHW -> NWHC then flatten.
        return self._node("Flatten", [self._node("Transpose", [x], perm=[0, 3, 2, 1])], axis=1)

    def dense(self, x: str) -> str:
        return self._node("Gemm", [x, self._const(self._take()), self._const(self._take())])

    def dense_prelu(self, x: str) -> str:
        y = self.dense(x)
        return self._node("PRelu", [y, self._const(self._take())])

    def softmax(self, x: str, axis: int) -> str:
        return self._node("Softmax", [x], axis=axis)

    def model_bytes(self, outputs: dict[str, str]) -> bytes:
        from onnx import TensorProto, helper

        for public, internal in outputs.items():
            self._nodes.append(helper.make_node("Identity", [internal], [public]))
        graph = helper.make_graph(
            self._nodes,
            "mtcnn",
            [self.input],
            [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
            self._inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        if self._weights:
            raise RuntimeError(f"{len(self._weights)} MTCNN weight arrays were left unused")
        return bytes(model.SerializeToString())


def _pnet(weights: Sequence[np.ndarray]) -> bytes:
    g = _GraphBuilder(weights, ("h", "w"))
    x = g.pool(g.conv_prelu(g.use_uint8_nhwc_input()), 2, same=True)
    x = g.conv_prelu(g.conv_prelu(x))
    reg = g.conv(x)
    prob = g.softmax(g.conv(x), axis=1)
    return g.model_bytes({"reg": reg, "prob": prob})


def _rnet(weights: Sequence[np.ndarray]) -> bytes:
    g = _GraphBuilder(weights, (24, 24))
    x = g.pool(g.conv_prelu("input"), 3, same=True)
    x = g.pool(g.conv_prelu(x), 3, same=False)
    x = g.dense_prelu(g.flatten_transposed(g.conv_prelu(x)))
    reg = g.dense(x)
    prob = g.softmax(g.dense(x), axis=1)
    return g.model_bytes({"reg": reg, "prob": prob})


def _onet(weights: Sequence[np.ndarray]) -> bytes:
    g = _GraphBuilder(weights, (48, 48))
    x = g.pool(g.conv_prelu("input"), 3, same=True)
    x = g.pool(g.conv_prelu(x), 3, same=False)
    x = g.pool(g.conv_prelu(x), 2, same=True)
    x = g.dense_prelu(g.flatten_transposed(g.conv_prelu(x)))
    reg = g.dense(x)
    marks = g.dense(x)
    prob = g.softmax(g.dense(x), axis=1)
    return g.model_bytes({"reg": reg, "marks": marks, "prob": prob})


# --- box arithmetic ----------------------------------------------------------------------


def _square(boxes: FloatArray) -> FloatArray:
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _regress(boxes: FloatArray, reg: FloatArray) -> FloatArray:
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out[:, 0] += reg[:, 0] * w
    out[:, 1] += reg[:, 1] * h
    out[:, 2] += reg[:, 2] * w
    out[:, 3] += reg[:, 3] * h
    return out


def _octaves(image: FloatArray, smallest: int) -> list[FloatArray]:
    """The image at full, half, quarter… size, down to about ``smallest`` pixels."""
    levels = [image]
    while min(levels[-1].shape[:2]) >= 4 * smallest:
        levels.append(np.asarray(cv2.pyrDown(levels[-1]), dtype=np.float32))
    return levels


def _crops(octaves: list[FloatArray], boxes: FloatArray, size: int) -> FloatArray:
    """Sample each box at size×size (zeros outside the image), NCHW.

    Each box is read from the octave where it is at most twice ``size`` wide, so the
    bilinear sampling never skips pixels (no aliasing); one remap call per octave.
    """
    n = len(boxes)
    out = np.zeros((n, size, size, 3), dtype=np.float32)
    widths = boxes[:, 2] - boxes[:, 0] + 1
    octave = np.clip(np.floor(np.log2(np.maximum(widths, 1) / size)), 0, len(octaves) - 1).astype(int)
    steps = (np.arange(size, dtype=np.float32) + 0.5) / size  # pixel centres across the box
    chunk = 32000 // size  # remap's output must stay under 32767 rows
    for level in np.unique(octave):
        scale = 0.5 ** int(level)
        in_level = np.nonzero(octave == level)[0]
        for start in range(0, len(in_level), chunk):
            index = in_level[start : start + chunk]
            b = boxes[index, :4] * scale
            w = (b[:, 2:3] - b[:, 0:1]) + scale
            h = (b[:, 3:4] - b[:, 1:2]) + scale
            xs = (b[:, 0:1] + steps[None, :] * w - 0.5).astype(np.float32)
            ys = (b[:, 1:2] + steps[None, :] * h - 0.5).astype(np.float32)
            k = len(index)
            map_x = np.ascontiguousarray(
                np.broadcast_to(xs[:, None, :], (k, size, size)).reshape(k * size, size)
            )
            map_y = np.ascontiguousarray(
                np.broadcast_to(ys[:, :, None], (k, size, size)).reshape(k * size, size)
            )
            sampled = cv2.remap(
                octaves[level], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
            )
            out[index] = sampled.reshape(k, size, size, 3)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


# --- the detector ------------------------------------------------------------------------


class MtcnnDetector:
    """MTCNN face detector; the default of bioexit. Thread-safe after loading."""

    def __init__(self, config: MtcnnDetectorConfig | None = None) -> None:
        self.config = config or MtcnnDetectorConfig()
        self._sessions: tuple[Any, Any, Any] | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "mtcnn"

    def _load(self) -> tuple[Any, Any, Any]:
        with self._lock:
            if self._sessions is None:
                import joblib
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = self.config.threads
                options.inter_op_num_threads = 1
                sessions = []
                for net, build in (("pnet", _pnet), ("rnet", _rnet), ("onet", _onet)):
                    weights = joblib.load(package_file("mtcnn", "assets", "weights", f"{net}.lz4"))
                    sessions.append(
                        ort.InferenceSession(build(weights), options, providers=["CPUExecutionProvider"])
                    )
                self._sessions = (sessions[0], sessions[1], sessions[2])
            return self._sessions

    def scales(self, height: int, width: int) -> list[float]:
        """Pyramid scales: the smallest face of interest maps onto P-Net's 12-pixel cell."""
        scale = _PNET_CELL / self.config.min_face_px
        side = min(height, width) * scale
        scales = []
        while side >= _PNET_CELL:
            scales.append(scale)
            scale *= self.config.scale_factor
            side *= self.config.scale_factor
        return scales

    def detect(self, image: RGBImage) -> list[Detection]:
        require_rgb(image)
        pnet, rnet, onet = self._load()
        t1, t2, t3 = self.config.thresholds
        height, width = image.shape[:2]

        # Stage 1: P-Net over the pyramid, each level resized from the one above (cheap).
        proposals: list[FloatArray] = []
        level = np.ascontiguousarray(image)
        for scale in self.scales(height, width):
            sh, sw = int(np.ceil(height * scale)), int(np.ceil(width * scale))
            level = np.asarray(cv2.resize(level, (sw, sh), interpolation=cv2.INTER_AREA), dtype=np.uint8)
            reg, prob = pnet.run(None, {"input": level[None]})
            score = prob[0, 1]
            ys, xs = np.nonzero(score > t1)
            if len(ys) == 0:
                continue
            cells = np.stack(
                [
                    (_PNET_STRIDE * xs) / scale,
                    (_PNET_STRIDE * ys) / scale,
                    (_PNET_STRIDE * xs + _PNET_CELL) / scale,
                    (_PNET_STRIDE * ys + _PNET_CELL) / scale,
                ],
                axis=1,
            ).astype(np.float32)
            side = _PNET_CELL / scale
            offsets = reg[0][:, ys, xs].T * side
            boxes = np.concatenate([cells + offsets, score[ys, xs][:, None]], axis=1)
            proposals.append(boxes[nms(boxes[:, :4], boxes[:, 4], 0.5)])
        if not proposals:
            return []
        boxes = np.concatenate(proposals)
        boxes = _square(boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)])
        octaves = _octaves((image.astype(np.float32) - 127.5) * (1.0 / 128.0), 24)

        # Stage 2: R-Net.
        reg, prob = rnet.run(None, {"input": _crops(octaves, boxes, 24)})
        keep = np.nonzero(prob[:, 1] > t2)[0]
        boxes, reg = boxes[keep], reg[keep]
        boxes[:, 4] = prob[keep, 1]
        kept = nms(boxes[:, :4], boxes[:, 4], 0.7)
        boxes = _square(_regress(boxes[kept], reg[kept]))
        if len(boxes) == 0:
            return []

        # Stage 3: O-Net, with landmarks relative to the box it was given.
        reg, marks, prob = onet.run(None, {"input": _crops(octaves, boxes, 48)})
        keep = np.nonzero(prob[:, 1] > t3)[0]
        boxes, reg, marks = boxes[keep], reg[keep], marks[keep]
        boxes[:, 4] = prob[keep, 1]
        w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
        h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
        xs = marks[:, 0:5] * w + boxes[:, 0:1] - 1
        ys = marks[:, 5:10] * h + boxes[:, 1:2] - 1
        boxes = _regress(boxes, reg)
        kept = nms(boxes[:, :4], boxes[:, 4], 0.7, containment=0.7)  # MTCNN's "min" overlap
        return [
            Detection(
                x1=float(boxes[i, 0]),
                y1=float(boxes[i, 1]),
                x2=float(boxes[i, 2]),
                y2=float(boxes[i, 3]),
                score=float(boxes[i, 4]),
                landmarks=np.stack([xs[i], ys[i]], axis=1),
            )
            for i in kept
        ]
