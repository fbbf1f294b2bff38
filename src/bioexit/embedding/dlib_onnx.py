"""dlib's 128-D face ResNet run in ONNX Runtime, its weights read from dlib's own ``.dat`` file.

dlib-bin is built without BLAS, so its ResNet takes ~110 ms a face; the same network as an ONNX
graph runs ~20x faster on the same cores. Nothing is converted offline: the weights are
parsed from ``dlib_face_recognition_resnet_model_v1.dat`` (``face-recognition-models``) and the
graph is built in memory at first use.

The file is ``dlib::serialize(anet_type)`` (examples/dnn_face_recognition_ex.cpp)::

    loss_metric<fc_no_bias<128, avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<
        max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>>>>>>

Format notes (dlib/serialize.h, dlib/dnn/core.h, layers.h, input.h, cuda/tensor.h):

* an integer is one byte ``n | 0x80 if negative`` then ``n`` little-endian magnitude bytes;
* a bool is the character ``'1'`` or ``'0'``; a string is its length (integer) then its bytes;
* a scalar float is two integers, mantissa and exponent (value = mantissa * 2**exponent);
* a tensor is version 2, num_samples, k, nr, nc, then raw little-endian float32 values;
  an alias_tensor is version 1 and its four dimensions (no data);
* each ``add_layer`` writes its version, then its sub-network, then its own layer and state, so
  the file holds every wrapper's version (outermost first: 2 for a layer, 1 for a tag or skip,
  3 for the layer that holds the input layer), then the layers themselves from input to output.
  Tags and skips write nothing else, so the topology comes from the definition above and the
  file is checked against it, byte for byte to its end.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bioexit.detection.types import RGBImage
from bioexit.embedding.dlib_resnet import DLIB_RESNET_FILE, DLIB_RESNET_INFO
from bioexit.embedding.types import ModelInfo, Template, require_chips
from bioexit.errors import ModelFileError
from bioexit.modelfiles import dlib_model_file

_CONV_MODE = 0  # dlib::layer_mode
_FC_NO_BIAS = 1  # dlib::fc_bias_mode

# ---------------------------------------------------------------------------------------------
# The architecture, input to output. ("tag", id) and ("skip", id) are wrappers with no content.


def _ares(n: int, down: bool) -> list[tuple[Any, ...]]:
    stride = 2 if down else 1
    block = [("tag", 1), ("con", n, 3, stride), ("affine",), ("relu",), ("con", n, 3, 1), ("affine",)]
    if down:
        return [*block, ("tag", 2), ("skip", 1), ("avg_pool", 2, 2), ("add_prev", 2), ("relu",)]
    return [*block, ("add_prev", 1), ("relu",)]


def _levels() -> list[tuple[Any, ...]]:
    plan = [(32, False, 3), (64, True, 3), (128, True, 2), (256, True, 2), (256, True, 0)]
    layers: list[tuple[Any, ...]] = []
    for n, down, plain in plan:  # alevel4 .. alevel0
        if down:
            layers += _ares(n, down=True)
        for _ in range(plain):
            layers += _ares(n, down=False)
    return layers


ARCHITECTURE: list[tuple[Any, ...]] = [
    ("con", 32, 7, 2),
    ("affine",),
    ("relu",),
    ("max_pool", 3, 2),
    *_levels(),
    ("avg_pool", 0, 1),  # avg_pool_everything
    ("fc", 128),
]


# ---------------------------------------------------------------------------------------------
# The reader.


class _Reader:
    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def fail(self, what: str, expected: Any, got: Any) -> ModelFileError:
        return ModelFileError(f"{self.source}: {what} at byte {self.pos}", expected=expected, got=got)

    def _take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise self.fail(what, f"{n} more bytes", f"end of file after {len(self.data) - self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def integer(self, what: str) -> int:
        head = self._take(1, what)[0]
        size = head & 0x0F
        if head & 0x70 or size > 8:
            raise self.fail(what, "an integer header (size <= 8, sign bit 0x80)", f"0x{head:02x}")
        value = int.from_bytes(self._take(size, what), "little")
        return -value if head & 0x80 else value

    def expect_int(self, what: str, expected: int) -> None:
        got = self.integer(what)
        if got != expected:
            raise self.fail(what, expected, got)

    def boolean(self, what: str) -> bool:
        char = self._take(1, what)
        if char not in (b"0", b"1"):
            raise self.fail(what, "'0' or '1'", char)
        return char == b"1"

    def string(self, what: str) -> str:
        size = self.integer(what)
        if not 0 <= size <= 256:
            raise self.fail(what, "a string length 0..256", size)
        return self._take(size, what).decode("latin-1")

    def expect_string(self, expected: str) -> None:
        got = self.string(f"{expected!r} version string")
        if got != expected:
            raise self.fail("layer version string", repr(expected), repr(got))

    def real(self, what: str) -> float:
        mantissa = self.integer(what)
        exponent = self.integer(what)
        if abs(exponent) > 2000:  # dlib's codes for inf and nan, or garbage
            raise self.fail(what, "a finite float (|exponent| <= 2000)", f"exponent {exponent}")
        return math.ldexp(mantissa, exponent)

    def dims(self, what: str) -> tuple[int, int, int, int]:
        shape = (self.integer(what), self.integer(what), self.integer(what), self.integer(what))
        if min(shape) < 0 or math.prod(shape) > 1 << 26:
            raise self.fail(what, "four non-negative tensor dimensions", shape)
        return shape

    def tensor(self, what: str) -> np.ndarray:
        self.expect_int(f"{what} tensor version", 2)
        shape = self.dims(what)
        raw = self._take(4 * math.prod(shape), what)
        return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)

    def alias(self, what: str) -> tuple[int, int, int, int]:
        self.expect_int(f"{what} alias_tensor version", 1)
        return self.dims(what)


@dataclass
class _Layer:
    kind: str
    arrays: dict[str, np.ndarray]
    ints: dict[str, int]


def _read_details(r: _Reader, spec: tuple[Any, ...], channels: int) -> tuple[_Layer, int]:
    """One layer's own record; returns it and its output channel count."""
    kind = spec[0]
    if kind == "con":
        n, size, stride = spec[1:]
        r.expect_string("con_4")
        params = r.tensor("con params").reshape(-1)
        fields = ["num_filters", "nr", "nc", "stride_y", "stride_x"]
        for field, expected in zip(fields, [n, size, size, stride, stride], strict=True):
            r.expect_int(f"con {field}", expected)
        pad_y, pad_x = r.integer("con padding_y"), r.integer("con padding_x")
        filters, biases = r.alias("con filters"), r.alias("con biases")
        if filters != (n, channels, size, size) or biases != (1, n, 1, 1):
            raise r.fail("con alias shapes", ((n, channels, size, size), (1, n, 1, 1)), (filters, biases))
        if params.size != n * channels * size * size + n:
            raise r.fail("con params size", n * channels * size * size + n, params.size)
        for field in ("learning_rate", "weight_decay", "bias_learning_rate", "bias_weight_decay"):
            r.real(f"con {field} multiplier")
        split = n * channels * size * size
        arrays = {"w": params[:split].reshape(n, channels, size, size), "b": params[split:]}
        return _Layer(kind, arrays, {"stride": stride, "pad_y": pad_y, "pad_x": pad_x}), n
    if kind == "affine":
        r.expect_string("affine_")
        params = r.tensor("affine params").reshape(-1)
        gamma, beta = r.alias("affine gamma"), r.alias("affine beta")
        if gamma != (1, channels, 1, 1) or beta != gamma or params.size != 2 * channels:
            raise r.fail("affine shapes", f"gamma = beta = (1, {channels}, 1, 1)", (gamma, beta, params.size))
        r.expect_int("affine mode (CONV_MODE)", _CONV_MODE)
        return _Layer(kind, {"gamma": params[:channels], "beta": params[channels:]}, {}), channels
    if kind in ("relu", "add_prev"):
        r.expect_string(f"{kind}_")
        return _Layer(kind, {}, {"tag": spec[1] if kind == "add_prev" else 0}), channels
    if kind in ("max_pool", "avg_pool"):
        size, stride = spec[1:]
        r.expect_string(f"{kind}_2")
        fields = ["nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x"]
        for field, expected in zip(fields, [size, size, stride, stride, 0, 0], strict=True):
            r.expect_int(f"{kind} {field}", expected)
        return _Layer(kind, {}, {"size": size, "stride": stride}), channels
    if kind == "fc":
        outputs = spec[1]
        r.expect_string("fc_2")
        r.expect_int("fc num_outputs", outputs)
        r.expect_int("fc num_inputs", channels)
        params = r.tensor("fc params").reshape(-1)
        weights, biases = r.alias("fc weights"), r.alias("fc biases")
        if (
            weights != (channels, outputs, 1, 1)
            or biases != (0, 0, 0, 0)
            or params.size != channels * outputs
        ):
            raise r.fail(
                "fc shapes", f"({channels}, {outputs}) weights, no bias", (weights, biases, params.size)
            )
        r.expect_int("fc bias mode (FC_NO_BIAS)", _FC_NO_BIAS)
        for field in ("learning_rate", "weight_decay", "bias_learning_rate", "bias_weight_decay"):
            r.real(f"fc {field} multiplier")
        return _Layer(kind, {"w": params.reshape(channels, outputs)}, {}), outputs
    raise AssertionError(kind)


def _read_state(r: _Reader) -> None:
    """An add_layer's trailing state: three bools, then x_grad, cached_output and params_grad
    (grad_final in the innermost layer): tensors that are empty in a saved model."""
    for field in ("this_layer_setup_called", "gradient_input_is_stale", "output_getters_disabled"):
        r.boolean(field)
    for field in ("x_grad", "cached_output", "params_grad"):
        r.tensor(field)


def _parse(data: bytes, source: str) -> tuple[np.ndarray, list[_Layer]]:
    r = _Reader(data, source)
    r.expect_int("add_loss_layer version", 1)
    r.expect_string("loss_metric_2")
    r.real("loss_metric margin")
    r.real("loss_metric distance threshold")
    # Wrapper versions, outermost first; the innermost add_layer (holding the input) is version 3.
    for spec in reversed(ARCHITECTURE[1:]):
        r.expect_int(f"{spec[0]} wrapper version", 1 if spec[0] in ("tag", "skip") else 2)
    r.expect_int("input add_layer version", 3)
    r.expect_string("input_rgb_image_sized")
    means = np.array([r.real("avg_red"), r.real("avg_green"), r.real("avg_blue")], dtype=np.float32)
    r.expect_int("input rows", 150)
    r.expect_int("input columns", 150)
    layers: list[_Layer] = []
    channels = 3
    for index, spec in enumerate(ARCHITECTURE):
        if spec[0] in ("tag", "skip"):
            layers.append(_Layer(spec[0], {}, {"tag": spec[1]}))
            continue
        layer, channels = _read_details(r, spec, channels)
        layers.append(layer)
        _read_state(r)
        if index == 0:  # the add_layer holding the input layer (version 3) has one more field
            r.integer("sample_expansion_factor")
    if r.pos != len(data):
        raise r.fail("end of network", f"end of file at byte {r.pos}", f"{len(data) - r.pos} bytes more")
    return means, layers


# ---------------------------------------------------------------------------------------------
# The graph.


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.count = 0

    def const(self, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.count += 1
        name = f"w{self.count}"
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        from onnx import helper

        self.count += 1
        out = f"t{self.count}"
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def pad_to(self, x: str, shape: tuple[int, int, int], target: tuple[int, int, int]) -> str:
        """dlib's add_prev adds tensors of different sizes as if zero-padded at the far ends."""
        if shape == target:
            return x
        pads = np.array([0, 0, 0, 0, 0, *(t - s for s, t in zip(shape, target, strict=True))], dtype=np.int64)
        return self.node("Pad", [x, self.const(pads)], mode="constant")


def _build(means: np.ndarray, layers: list[_Layer]) -> bytes:
    from onnx import TensorProto, helper

    g = _Graph()
    x = g.node("Cast", ["input"], to=TensorProto.FLOAT)
    x = g.node("Sub", [x, g.const(means)])
    x = g.node("Mul", [x, g.const(np.array(1.0 / 256.0, dtype=np.float32))])
    x = g.node("Transpose", [x], perm=[0, 3, 1, 2])
    shape = (3, 150, 150)  # (channels, rows, columns), tracked to size add_prev's padding
    tags: dict[int, tuple[str, tuple[int, int, int]]] = {}
    for layer in layers:
        kind, a, i = layer.kind, layer.arrays, layer.ints
        c, h, w = shape
        if kind == "tag":
            tags[i["tag"]] = (x, shape)
        elif kind == "skip":
            x, shape = tags[i["tag"]]
        elif kind == "con":
            k, s = a["w"].shape[2], i["stride"]
            pads = [i["pad_y"], i["pad_x"], i["pad_y"], i["pad_x"]]
            x = g.node("Conv", [x, g.const(a["w"]), g.const(a["b"])], strides=[s, s], pads=pads)
            size = (h + 2 * i["pad_y"] - k) // s + 1, (w + 2 * i["pad_x"] - k) // s + 1
            shape = (a["w"].shape[0], *size)
        elif kind == "affine":
            scale, shift = a["gamma"].reshape(1, -1, 1, 1), a["beta"].reshape(1, -1, 1, 1)
            x = g.node("Add", [g.node("Mul", [x, g.const(scale)]), g.const(shift)])
        elif kind == "relu":
            x = g.node("Relu", [x])
        elif kind in ("max_pool", "avg_pool") and i["size"] == 0:
            x = g.node("GlobalAveragePool", [x])
            shape = (c, 1, 1)
        elif kind in ("max_pool", "avg_pool"):
            k, s = i["size"], i["stride"]
            op = "MaxPool" if kind == "max_pool" else "AveragePool"
            x = g.node(op, [x], kernel_shape=[k, k], strides=[s, s])
            shape = (c, (h - k) // s + 1, (w - k) // s + 1)
        elif kind == "add_prev":
            other, other_shape = tags[i["tag"]]
            target = (max(c, other_shape[0]), max(h, other_shape[1]), max(w, other_shape[2]))
            x = g.node("Add", [g.pad_to(x, shape, target), g.pad_to(other, other_shape, target)])
            shape = target
        elif kind == "fc":
            x = g.node("MatMul", [g.node("Flatten", [x], axis=1), g.const(a["w"])])
    g.nodes.append(helper.make_node("Identity", [x], ["embedding"]))
    graph = helper.make_graph(
        g.nodes,
        "dlib_resnet_v1",
        [helper.make_tensor_value_info("input", TensorProto.UINT8, ["n", 150, 150, 3])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", 128])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def load_dlib_resnet_onnx(path: str | Path) -> bytes:
    """Parse dlib's ``dlib_face_recognition_resnet_model_v1.dat``; return an ONNX model.

    The model takes ``n×150×150×3`` uint8 RGB chips and returns ``n×128`` float32 descriptors, the
    same as ``dlib.face_recognition_model_v1(path).compute_face_descriptor(chip)``.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelFileError(
            "dlib model unreadable", expected=f"a readable file at {path}", got=str(exc)
        ) from exc
    means, layers = _parse(data, Path(path).name)
    return _build(means, layers)


class DlibResnetOnnxEmbedder:
    """:class:`~bioexit.embedding.dlib_resnet.DlibResnetEmbedder` in ONNX Runtime, same templates."""

    def __init__(self, path: str | Path | None = None, threads: int = 2) -> None:
        self.path = path
        self.threads = threads
        self._session: Any = None
        self._lock = threading.Lock()

    @property
    def info(self) -> ModelInfo:
        return DLIB_RESNET_INFO

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                path = self.path or dlib_model_file(DLIB_RESNET_FILE)
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                self._session = ort.InferenceSession(
                    load_dlib_resnet_onnx(path), options, providers=["CPUExecutionProvider"]
                )
            return self._session

    def embed(self, chips: Sequence[RGBImage]) -> list[Template]:
        require_chips(chips, self.info.crop.size)
        if not chips:
            return []
        session = self._load()
        batch = np.ascontiguousarray(np.stack(list(chips)))
        (vectors,) = session.run(["embedding"], {"input": batch})
        info = self.info
        return [
            Template(np.asarray(v, dtype=np.float32), info.model_id, info.version, info.metric)
            for v in vectors
        ]
