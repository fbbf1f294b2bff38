"""Safe image input: JPEG, PNG, JPEG 2000 and WebP bytes or files, and NumPy frames, to RGB uint8.

Every input passes these gates, in order, and nothing is decoded until all have passed:

1. not empty (:class:`EmptyImageError`) and at most ``limits.max_bytes`` bytes;
2. the signature (magic bytes) is JPEG, PNG, JP2, a raw JPEG 2000 codestream or WebP
   (:class:`UnsupportedImageError`; WebP because photos collected from the web often
   are), and agrees with the file name's extension when the extension is a known image
   one (:class:`ImageFormatMismatchError`);
3. width × height, read from the header by this module, is at most ``limits.max_pixels``
   (:class:`ImageTooLargeError`, the decompression-bomb guard);
4. the container is complete: a JPEG ends with its EOI marker (trailing zero padding
   allowed), a PNG's chunks all arrive up to IEND with valid CRCs on the critical ones, a
   JPEG 2000 codestream ends with its EOC marker, a WebP file holds the bytes its RIFF
   header announces (:class:`TruncatedImageError`);
5. Pillow opens the data lazily, restricted to the one format the signature named; its
   size is checked again, and Pillow's own decompression-bomb warning or error becomes
   :class:`ImageTooLargeError` (only inside this call: no global is changed).

Then the pixels are decoded, turned upright by the EXIF orientation, and converted to a
C-contiguous H×W×3 uint8 RGB array. 16-bit samples are scaled with ``>> 8`` (65535 → 255,
32768 → 128), the same rule Pillow applies to 16-bit colour PNGs. Alpha is dropped, not
composited. JPEG 2000 colour images with more than 8 bits per sample are decoded by
OpenCV, because Pillow's JPEG 2000 unpacker rounds them up and wraps the brightest values
to 0.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Final, Literal

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from bioexit.detection.types import RGBImage
from bioexit.errors import (
    EmptyImageError,
    ImageDecodeError,
    ImageError,
    ImageFileError,
    ImageFormatMismatchError,
    ImageTooLargeError,
    TruncatedImageError,
    UnsupportedImageError,
)
from bioexit.settings import ImageLimits

_Kind = Literal["JPEG", "PNG", "JP2", "J2K", "WEBP"]

_SIGNATURES: Final[tuple[tuple[_Kind, bytes], ...]] = (
    ("JPEG", b"\xff\xd8\xff"),
    ("PNG", b"\x89PNG\r\n\x1a\n"),
    ("JP2", b"\x00\x00\x00\x0cjP  \r\n\x87\n"),
    ("J2K", b"\xff\x4f\xff\x51"),
)
_EXPECTED_SIGNATURES: Final = (
    "a JPEG (ff d8 ff), PNG (89 50 4e 47 0d 0a 1a 0a) or JPEG 2000 "
    "(00 00 00 0c 6a 50 20 20 0d 0a 87 0a, or ff 4f ff 51) or WebP (RIFF....WEBP) signature"
)
_FAMILY: Final[dict[_Kind, str]] = {
    "JPEG": "JPEG",
    "PNG": "PNG",
    "JP2": "JPEG 2000",
    "J2K": "JPEG 2000",
    "WEBP": "WebP",
}
_EXTENSION_FAMILY: Final[dict[str, str]] = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jfif": "JPEG",
    ".png": "PNG",
    ".jp2": "JPEG 2000",
    ".jpx": "JPEG 2000",
    ".jpf": "JPEG 2000",
    ".j2k": "JPEG 2000",
    ".j2c": "JPEG 2000",
    ".jpc": "JPEG 2000",
    ".webp": "WebP",
}
_PILLOW_FORMAT: Final[dict[_Kind, str]] = {
    "JPEG": "JPEG",
    "PNG": "PNG",
    "JP2": "JPEG2000",
    "J2K": "JPEG2000",
    "WEBP": "WEBP",
}
_DESCRIPTION: Final[dict[_Kind, str]] = {
    "JPEG": "JPEG",
    "PNG": "PNG",
    "JP2": "JPEG 2000 (JP2)",
    "J2K": "JPEG 2000 codestream",
    "WEBP": "WebP",
}

# JPEG start-of-frame markers (SOF0-SOF15 less DHT, JPG and DAC).
_JPEG_SOF: Final = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_EOI: Final = b"\xff\xd9"
_J2K_EOC: Final = b"\xff\xd9"
_PNG_CRITICAL: Final = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})

# Pillow modes by how they become RGB.
_MODES_16BIT: Final = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
_MODES_CONVERTIBLE: Final = frozenset(
    {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"}
)
_EXIF_ORIENTATION: Final = 0x0112


@dataclass(frozen=True, slots=True)
class _Header:
    """What this module reads from a header itself, before any decoder sees the data."""

    width: int | None = None
    height: int | None = None
    bits: int = 8
    """Largest sample precision in bits."""


# --- public API ---------------------------------------------------------------------------


def decode_image(data: bytes, *, limits: ImageLimits, filename: str | None = None) -> RGBImage:
    """Decode JPEG, PNG or JPEG 2000 bytes into an upright H×W×3 uint8 RGB array.

    ``filename`` (optional) is used for messages and, when its extension is a known image
    one (.jpg, .jpeg, .png, .jp2, .j2k, .jpx, .jpf, ...), must agree with the signature.

    Raises a subclass of :class:`~bioexit.errors.ImageError`; see the module docstring for
    the order of checks.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UnsupportedImageError(
            f"{_where(filename)}image data has the wrong type",
            expected="bytes",
            got=type(data).__name__,
        )
    raw = data if isinstance(data, bytes) else bytes(data)
    if not raw:
        raise EmptyImageError(
            f"{_where(filename)}image data is empty",
            expected="JPEG, PNG or JPEG 2000 bytes",
            got="0 bytes",
        )
    if len(raw) > limits.max_bytes:
        raise ImageTooLargeError(
            f"{_where(filename)}image data is over the byte cap",
            expected=f"at most {limits.max_bytes} bytes (limits.max_bytes)",
            got=f"{len(raw)} bytes",
        )
    kind = _sniff(raw)
    if kind is None:
        raise UnsupportedImageError(
            f"{_where(filename)}unrecognised image signature",
            expected=_EXPECTED_SIGNATURES,
            got=f"first bytes {raw[:12].hex(' ')} ({len(raw)} bytes in all)",
        )
    if filename is not None:
        _check_extension(filename, kind)

    header = _read_header(kind, raw)
    if header.width is not None and header.height is not None:
        _check_pixels(header.width, header.height, limits, filename, "header")
    _check_complete(kind, raw, filename)
    return _decode(raw, kind, header, limits, filename)


def read_image(path: Path, *, limits: ImageLimits) -> RGBImage:
    """Read and decode one image file (the only file IO in :mod:`bioexit.imaging`).

    The file's size is checked against ``limits.max_bytes`` before it is read, and at most
    ``max_bytes + 1`` bytes are ever read. The file name's extension must agree with the
    signature (see :func:`decode_image`). A missing or unreadable file raises
    :class:`ImageFileError`.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limits.max_bytes:
                raise ImageTooLargeError(
                    f"image file {str(path)!r} is over the byte cap",
                    expected=f"at most {limits.max_bytes} bytes (limits.max_bytes)",
                    got=f"{size} bytes",
                )
            data = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise ImageFileError(
            f"cannot read image file {str(path)!r}",
            expected="a readable image file",
            got=exc.strerror or type(exc).__name__,
        ) from exc
    return decode_image(data, limits=limits, filename=str(path))


def from_array(array: npt.NDArray[Any], *, limits: ImageLimits) -> RGBImage:
    """Convert a NumPy frame into a new C-contiguous H×W×3 uint8 RGB array.

    Accepted: H×W grey, H×W×3 RGB (not BGR: convert OpenCV frames first), H×W×4 RGBA (alpha
    dropped); dtype uint8, uint16 (scaled with ``>> 8``) or float with every value in
    [0, 1] (scaled by 255 and rounded). The input is never modified or aliased.
    """
    if not isinstance(array, np.ndarray):
        raise UnsupportedImageError(
            "image frame has the wrong type", expected="a numpy.ndarray", got=type(array).__name__
        )
    shape = tuple(int(n) for n in array.shape)
    shape_ok = array.ndim == 2 or (array.ndim == 3 and shape[2] in (3, 4))
    if array.size == 0:
        raise EmptyImageError(
            "image frame has no pixels",
            expected="H×W, H×W×3 or H×W×4 with H, W > 0",
            got=f"shape {shape}",
        )
    if not shape_ok:
        raise UnsupportedImageError(
            "image frame has an unsupported shape",
            expected="H×W (grey), H×W×3 (RGB) or H×W×4 (RGBA)",
            got=f"shape {shape}",
        )
    height, width = shape[0], shape[1]
    _check_pixels(width, height, limits, None, "array")

    dtype = array.dtype
    samples: npt.NDArray[np.uint8]
    if dtype.kind == "u" and dtype.itemsize == 1:
        samples = np.asarray(array, dtype=np.uint8)
    elif dtype.kind == "u" and dtype.itemsize == 2:
        samples = _scale_16bit(array)
    elif dtype.kind == "f":
        samples = _scale_float(array)
    else:
        raise UnsupportedImageError(
            "image frame has an unsupported dtype",
            expected="uint8, uint16, or float with values in [0, 1]",
            got=f"dtype {dtype} with shape {shape}",
        )
    if samples.ndim == 2:
        return _grey_to_rgb(samples)
    return np.array(samples[:, :, :3], dtype=np.uint8, order="C", copy=True)


# --- signature, extension, header ---------------------------------------------------------


def _where(filename: str | None) -> str:
    return f"{filename!r}: " if filename else ""


def _sniff(data: bytes) -> _Kind | None:
    for kind, signature in _SIGNATURES:
        if data.startswith(signature):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _check_extension(filename: str, kind: _Kind) -> None:
    suffix = PurePath(filename).suffix.lower()
    promised = _EXTENSION_FAMILY.get(suffix)
    if promised is None or promised == _FAMILY[kind]:
        return
    raise ImageFormatMismatchError(
        f"{_where(filename)}file extension and content disagree",
        expected=f"{promised} data for the extension {suffix!r}",
        got=f"a {_DESCRIPTION[kind]} signature",
    )


def _read_header(kind: _Kind, data: bytes) -> _Header:
    if kind == "PNG":
        return _png_header(data)
    if kind == "JPEG":
        return _jpeg_header(data)
    if kind == "J2K":
        return _siz_header(data, 0)
    if kind == "WEBP":
        return _webp_header(data)
    located = _jp2_codestream(data)
    return _Header() if located is None else _siz_header(data, located[0])


def _png_header(data: bytes) -> _Header:
    if len(data) < 26 or data[12:16] != b"IHDR":
        return _Header()
    width, height = struct.unpack_from(">II", data, 16)
    return _Header(width, height, bits=data[24])


def _webp_header(data: bytes) -> _Header:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        return _Header(width, 1 + int.from_bytes(data[27:30], "little"))
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 26)
        return _Header(width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack_from("<I", data, 21)
        return _Header(1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF))
    return _Header()  # unknown layout: Pillow's lazy open gives the size, checked again


def _jpeg_header(data: bytes) -> _Header:
    pos, size = 2, len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            break  # not at a marker: leave the verdict to the decoder
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # EOI or start of scan before any frame header
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if marker in _JPEG_SOF and pos + 10 <= size:
            bits = data[pos + 4]
            height, width = struct.unpack_from(">HH", data, pos + 5)
            # A height of 0 is defined later by a DNL marker; Pillow's size is checked then.
            return _Header(width, height or None, bits=bits)
        pos += 2 + length
    return _Header()


def _siz_header(data: bytes, start: int) -> _Header:
    """Read the SIZ marker segment that follows SOC at ``start`` in a JPEG 2000 codestream."""
    if len(data) < start + 42 or data[start : start + 4] != b"\xff\x4f\xff\x51":
        return _Header()
    xsiz, ysiz, x_offset, y_offset = struct.unpack_from(">IIII", data, start + 8)
    (components,) = struct.unpack_from(">H", data, start + 40)
    precisions = [
        (data[start + 42 + 3 * index] & 0x7F) + 1
        for index in range(components)
        if start + 42 + 3 * index < len(data)
    ]
    return _Header(max(xsiz - x_offset, 0), max(ysiz - y_offset, 0), bits=max(precisions, default=8))


def _jp2_codestream(data: bytes) -> tuple[int, int] | None:
    """Start and end of the contiguous-codestream (jp2c) box payload; end may pass the data."""
    pos, size = 0, len(data)
    while pos + 8 <= size:
        length, box = struct.unpack_from(">I4s", data, pos)
        header = 8
        if length == 1:  # 64-bit length follows
            if pos + 16 > size:
                return None
            (length,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif length == 0:  # box runs to the end of the file
            length = size - pos
        if length < header:
            return None
        if box == b"jp2c":
            return pos + header, pos + length
        pos += length
    return None


def _check_pixels(width: int, height: int, limits: ImageLimits, filename: str | None, source: str) -> None:
    pixels = width * height
    if pixels > limits.max_pixels:
        raise ImageTooLargeError(
            f"{_where(filename)}image is over the pixel cap (a possible decompression bomb); "
            "nothing was decoded",
            expected=f"at most {limits.max_pixels} pixels (limits.max_pixels)",
            got=f"{width}×{height} = {pixels} pixels, from the {source}",
        )


# --- completeness -------------------------------------------------------------------------


def _check_complete(kind: _Kind, data: bytes, filename: str | None) -> None:
    if kind == "JPEG":
        _check_ends_with(data, len(data), _JPEG_EOI, "JPEG", "an end-of-image marker (ff d9)", filename)
    elif kind == "PNG":
        _check_png_chunks(data, filename)
    elif kind == "WEBP":
        (announced,) = struct.unpack_from("<I", data, 4) if len(data) >= 8 else (0,)
        if len(data) < announced + 8:
            raise TruncatedImageError(
                f"{_where(filename)}WebP data is truncated",
                expected=f"{announced + 8} bytes as its RIFF header announces",
                got=f"{len(data)} bytes",
            )
    else:
        start, end = (0, len(data)) if kind == "J2K" else (_jp2_codestream(data) or (-1, -1))
        if start < 0:
            raise TruncatedImageError(
                f"{_where(filename)}JPEG 2000 data is truncated",
                expected="a contiguous-codestream (jp2c) box",
                got=f"none in {len(data)} bytes",
            )
        if end > len(data):
            raise TruncatedImageError(
                f"{_where(filename)}JPEG 2000 data is truncated",
                expected=f"a codestream box ending at byte {end}",
                got=f"{len(data)} bytes",
            )
        _check_ends_with(data, end, _J2K_EOC, "JPEG 2000", "an end-of-codestream marker (ff d9)", filename)


def _check_ends_with(
    data: bytes, end: int, marker: bytes, name: str, expected: str, filename: str | None
) -> None:
    """Require ``marker`` just before ``end``; zero padding is allowed only at the file's end."""
    body = data.rstrip(b"\x00") if end == len(data) else data[max(end - 16, 0) : end]
    if body.endswith(marker):
        return
    raise TruncatedImageError(
        f"{_where(filename)}{name} data is truncated",
        expected=f"{expected} at the end",
        got=f"last bytes {body[-8:].hex(' ') or '(only zeros)'}",
    )


def _check_png_chunks(data: bytes, filename: str | None) -> None:
    pos, size = 8, len(data)
    while True:
        if pos + 8 > size:
            raise TruncatedImageError(
                f"{_where(filename)}PNG data is truncated",
                expected="every chunk complete, up to and including IEND",
                got=f"the data ends at byte {size}, before the chunk header at byte {pos}",
            )
        length, chunk = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        name = chunk.decode("latin-1")
        if end > size:
            raise TruncatedImageError(
                f"{_where(filename)}PNG data is truncated",
                expected=f"the {name!r} chunk at byte {pos} to end at byte {end}",
                got=f"{size} bytes",
            )
        if chunk in _PNG_CRITICAL:
            (stored,) = struct.unpack_from(">I", data, end - 4)
            computed = zlib.crc32(memoryview(data)[pos + 4 : end - 4])
            if stored != computed:
                raise ImageDecodeError(
                    f"{_where(filename)}PNG {name} chunk at byte {pos} is corrupt",
                    expected=f"CRC {computed:08x}",
                    got=f"CRC {stored:08x}",
                )
        if chunk == b"IEND":
            return
        pos = end


# --- decoding -----------------------------------------------------------------------------


def _decode(data: bytes, kind: _Kind, header: _Header, limits: ImageLimits, filename: str | None) -> RGBImage:
    description = _DESCRIPTION[kind]
    try:
        with warnings.catch_warnings():
            # Local to this block: Pillow's warning becomes an exception we convert below.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[kind]]) as image:
                _check_pixels(image.width, image.height, limits, filename, "decoder's header")
                if _needs_opencv(kind, header, image.mode):
                    return _decode_opencv(data, header.bits, _orientation(image), description, filename)
                image.load()
                upright = ImageOps.exif_transpose(image)
                return _pillow_to_rgb(upright)
    except ImageError:
        raise
    except MemoryError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(
            f"{_where(filename)}Pillow refused the image as a possible decompression bomb",
            expected=f"at most {limits.max_pixels} pixels (limits.max_pixels) and within "
            "Pillow's own MAX_IMAGE_PIXELS",
            got=str(exc),
        ) from exc
    except OSError as exc:
        if "truncated" in str(exc):
            raise TruncatedImageError(
                f"{_where(filename)}{description} data is truncated",
                expected="a complete image",
                got=f"decoder error: {exc}",
            ) from exc
        raise _decode_error(description, filename, exc) from exc
    except Exception as exc:
        raise _decode_error(description, filename, exc) from exc


def _decode_error(description: str, filename: str | None, exc: BaseException) -> ImageDecodeError:
    return ImageDecodeError(
        f"{_where(filename)}{description} data could not be decoded",
        expected=f"a valid {description} image",
        got=f"{type(exc).__name__}: {exc}",
    )


def _needs_opencv(kind: _Kind, header: _Header, mode: str) -> bool:
    if kind == "JPEG":
        return False
    if kind in ("JP2", "J2K") and header.bits > 8 and mode not in _MODES_16BIT:
        # Pillow shifts >8-bit JPEG 2000 colour down to 8 bits with rounding into a byte,
        # so values near the top (65408..65535 for 16 bits) wrap around to 0.
        return True
    return mode not in _MODES_16BIT and mode not in _MODES_CONVERTIBLE


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) else 1


def _decode_opencv(
    data: bytes, bits: int, orientation: int, description: str, filename: str | None
) -> RGBImage:
    """Decode with OpenCV at native depth (for what Pillow gets wrong or cannot represent)."""
    flags = cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH | cv2.IMREAD_IGNORE_ORIENTATION
    try:
        decoded: Any = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error as exc:
        raise _decode_error(description, filename, exc) from exc
    if decoded is None:
        raise ImageDecodeError(
            f"{_where(filename)}{description} data could not be decoded",
            expected=f"a valid {description} image",
            got="no image from OpenCV's decoder",
        )
    bgr: npt.NDArray[Any] = np.asarray(decoded)
    if bgr.dtype == np.uint16:
        shift = min(max(bits, 8), 16) - 8  # OpenCV keeps the samples' own precision
        bgr = np.minimum(bgr >> shift, 255).astype(np.uint8)
    elif bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ImageDecodeError(
            f"{_where(filename)}{description} data could not be decoded",
            expected="8- or 16-bit samples",
            got=f"OpenCV array of dtype {bgr.dtype} and shape {bgr.shape}",
        )
    rgb: RGBImage = bgr[:, :, ::-1]
    return np.ascontiguousarray(_apply_orientation(rgb, orientation))


def _apply_orientation(rgb: RGBImage, orientation: int) -> RGBImage:
    """Apply an EXIF orientation as PIL.ImageOps.exif_transpose does."""
    if orientation == 2:
        return rgb[:, ::-1]
    if orientation == 3:
        return rgb[::-1, ::-1]
    if orientation == 4:
        return rgb[::-1]
    if orientation == 5:
        return rgb.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(rgb, k=-1)
    if orientation == 7:
        return rgb[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(rgb, k=1)
    return rgb


def _pillow_to_rgb(image: Image.Image) -> RGBImage:
    if image.mode in _MODES_16BIT:
        return _grey_to_rgb(_scale_16bit(np.asarray(image)))
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.array(image, dtype=np.uint8, order="C")


# --- sample scaling -----------------------------------------------------------------------


def _scale_16bit(samples: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """0..65535 → 0..255 by keeping the high byte (65535 → 255, 32768 → 128)."""
    wide = np.clip(samples, 0, 65535).astype(np.uint16) if samples.dtype.kind == "i" else samples
    return (np.asarray(wide, dtype=np.uint16) >> 8).astype(np.uint8)


def _scale_float(samples: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    finite = np.isfinite(samples)
    if not finite.all():
        raise UnsupportedImageError(
            "image frame has non-finite values",
            expected="float values in [0, 1]",
            got=f"{int(samples.size - np.count_nonzero(finite))} NaN or infinite values",
        )
    low, high = float(samples.min()), float(samples.max())
    if low < 0.0 or high > 1.0:
        raise UnsupportedImageError(
            "image frame has float values out of range",
            expected="float values in [0, 1]",
            got=f"values from {low:g} to {high:g}",
        )
    scaled: npt.NDArray[np.float32] = np.rint(samples.astype(np.float32) * np.float32(255.0))
    return scaled.astype(np.uint8)


def _grey_to_rgb(grey: npt.NDArray[np.uint8]) -> RGBImage:
    return np.ascontiguousarray(np.repeat(grey[:, :, np.newaxis], 3, axis=2), dtype=np.uint8)
