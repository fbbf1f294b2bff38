"""bioexit.imaging: safe decoding of JPEG, PNG, JPEG 2000 and NumPy frames.

Every input is built here, in memory or in tmp_path; no external data.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps, features

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
from bioexit.imaging import decode_image, from_array, read_image
from bioexit.imaging.decode import _apply_orientation, _decode_opencv
from bioexit.settings import ImageLimits

LIMITS = ImageLimits()

needs_jpeg2000 = pytest.mark.skipif(
    not features.check("jpg_2000"),
    reason="Pillow was built without OpenJPEG, so it cannot write or read JPEG 2000",
)


# --- helpers ------------------------------------------------------------------------------


def noise(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    shape = (height, width, channels) if channels > 1 else (height, width)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def rgb_jpeg() -> bytes:
    return encode(Image.fromarray(noise(48, 64)), "JPEG", quality=90)


def rgb_png() -> bytes:
    return encode(Image.fromarray(noise(48, 64)), "PNG")


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    """(offset, type, payload length) of every chunk."""
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        chunks.append((pos, kind, length))
        pos += 12 + length
    return chunks


def png_claiming(width: int, height: int) -> bytes:
    """A small, complete PNG whose IHDR (with a correct CRC) claims width × height."""
    data = encode(Image.new("L", (8, 8)), "PNG")
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    return data[:8] + png_chunk(b"IHDR", bytes(ihdr)) + data[33:]


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(rgb_jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def j2k_claiming(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.fromarray(noise(16, 16)), "JPEG2000", no_jp2=True))
    data[8:16] = struct.pack(">II", width, height)  # Xsiz, Ysiz; the offsets are 0
    return bytes(data)


def message_of(excinfo: pytest.ExceptionInfo[ImageError], *fragments: str) -> str:
    """The error's message, after checking it says what was expected and what arrived."""
    message = str(excinfo.value)
    assert "expected" in message, message
    assert "got" in message, message
    assert excinfo.value.expected is not None
    assert excinfo.value.got is not None
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from {message!r}"
    return message


# --- refusals: empty, unknown, mismatched -------------------------------------------------


def test_zero_bytes_are_refused_as_empty() -> None:
    with pytest.raises(EmptyImageError) as excinfo:
        decode_image(b"", limits=LIMITS)
    message_of(excinfo, "JPEG, PNG or JPEG 2000", "0 bytes")


def test_random_bytes_are_refused_by_signature_with_their_first_bytes_in_hex() -> None:
    data = bytes(range(0x10, 0x40))
    with pytest.raises(UnsupportedImageError) as excinfo:
        decode_image(data, limits=LIMITS, filename="upload.bin")
    message_of(excinfo, "JPEG", "PNG", "JPEG 2000", "10 11 12 13", "48 bytes", "upload.bin")


def test_text_is_refused_by_signature_even_with_an_image_extension() -> None:
    with pytest.raises(UnsupportedImageError) as excinfo:
        decode_image(b"<html>not an image</html>", limits=LIMITS, filename="face.jpg")
    message_of(excinfo, "PNG", "3c 68 74 6d 6c")


def test_bytearray_and_memoryview_are_accepted() -> None:
    data = rgb_png()
    expected = decode_image(data, limits=LIMITS)
    assert np.array_equal(decode_image(bytearray(data), limits=LIMITS), expected)
    assert np.array_equal(decode_image(memoryview(data), limits=LIMITS), expected)


def test_non_bytes_are_refused() -> None:
    with pytest.raises(UnsupportedImageError) as excinfo:
        decode_image("face.jpg", limits=LIMITS)  # type: ignore[arg-type]
    message_of(excinfo, "bytes", "str")


@pytest.mark.parametrize("filename", ["face.jpg", "FACE.JPG", "face.jpeg", "dir.png/face.jp2"])
def test_png_bytes_under_a_non_png_name_are_a_format_mismatch(filename: str) -> None:
    with pytest.raises(ImageFormatMismatchError) as excinfo:
        decode_image(rgb_png(), limits=LIMITS, filename=filename)
    message_of(excinfo, "PNG signature", filename.rsplit(".", 1)[1].lower())


def test_jpeg_bytes_named_png_are_a_format_mismatch() -> None:
    with pytest.raises(ImageFormatMismatchError) as excinfo:
        decode_image(rgb_jpeg(), limits=LIMITS, filename="face.png")
    message_of(excinfo, "PNG data", "'.png'", "JPEG signature")


@pytest.mark.parametrize("filename", [None, "face", "face.bin", "face.PNG", "face.tar.png"])
def test_unknown_or_matching_extensions_rely_on_the_signature(filename: str | None) -> None:
    assert decode_image(rgb_png(), limits=LIMITS, filename=filename).shape == (48, 64, 3)


# --- caps ---------------------------------------------------------------------------------


def test_bytes_over_the_cap_are_refused() -> None:
    data = rgb_png()
    limits = ImageLimits(max_bytes=1024)
    assert len(data) > 1024
    with pytest.raises(ImageTooLargeError) as excinfo:
        decode_image(data, limits=limits)
    message_of(excinfo, "at most 1024 bytes", f"{len(data)} bytes")


@pytest.mark.parametrize(
    ("kind", "build"),
    [("png", png_claiming), ("jpeg", jpeg_claiming), ("j2k", j2k_claiming)],
)
def test_decompression_bomb_is_refused_from_the_header_before_any_decoder_runs(
    kind: str, build: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "j2k" and not features.check("jpg_2000"):
        pytest.skip("Pillow was built without OpenJPEG, so it cannot write JPEG 2000")
    data = build(30000, 30000)
    assert len(data) < 64 * 1024

    def no_decoder(*args: object, **kwargs: object) -> None:
        raise AssertionError("a decoder was reached")

    monkeypatch.setattr(Image, "open", no_decoder)
    monkeypatch.setattr(cv2, "imdecode", no_decoder)
    with pytest.raises(ImageTooLargeError) as excinfo:
        decode_image(data, limits=LIMITS)
    message_of(excinfo, "at most 50000000 pixels", "30000×30000 = 900000000 pixels")


def test_pixel_cap_is_the_configured_one() -> None:
    data = encode(Image.new("RGB", (100, 50)), "PNG")
    with pytest.raises(ImageTooLargeError) as excinfo:
        decode_image(data, limits=ImageLimits(max_pixels=4096))
    message_of(excinfo, "at most 4096 pixels", "100×50 = 5000 pixels")
    assert decode_image(data, limits=ImageLimits(max_pixels=5000)).shape == (50, 100, 3)


@pytest.mark.parametrize(("side", "pillow_raises"), [(30000, "DecompressionBombError"), (10000, "warning")])
def test_pillows_own_bomb_guard_becomes_image_too_large(side: int, pillow_raises: str) -> None:
    # A cap above Pillow's MAX_IMAGE_PIXELS lets the data reach Pillow, whose error (over 2×)
    # or warning (over 1×) must come back as ImageTooLargeError, with Pillow's globals and
    # the warning filters left exactly as they were.
    limits = ImageLimits(max_pixels=10**12)
    pillow_globals_before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    filters_before = list(warnings.filters)
    with pytest.raises(ImageTooLargeError) as excinfo:
        decode_image(png_claiming(side, side), limits=limits)
    message_of(excinfo, "decompression bomb", "MAX_IMAGE_PIXELS", f"{side * side} pixels")
    pillow_globals_after = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    assert pillow_globals_after == pillow_globals_before
    assert warnings.filters == filters_before


# --- truncation and corruption ------------------------------------------------------------


def test_jpeg_cut_in_the_middle_of_the_scan_data_is_truncated() -> None:
    data = rgb_jpeg()
    scan = data.index(b"\xff\xda")
    cut = data[: (scan + len(data)) // 2]
    with pytest.raises(TruncatedImageError) as excinfo:
        decode_image(cut, limits=LIMITS, filename="gate.jpg")
    message_of(excinfo, "end-of-image marker (ff d9)", "last bytes", "gate.jpg")


def test_jpeg_missing_only_its_eoi_marker_is_truncated() -> None:
    with pytest.raises(TruncatedImageError) as excinfo:
        decode_image(rgb_jpeg()[:-2], limits=LIMITS)
    message_of(excinfo, "ff d9")


def test_jpeg_with_trailing_zero_padding_is_accepted() -> None:
    data = rgb_jpeg()
    padded = decode_image(data + b"\x00" * 100, limits=LIMITS)
    assert np.array_equal(padded, decode_image(data, limits=LIMITS))


def test_png_cut_inside_its_image_data_is_truncated() -> None:
    data = rgb_png()
    offset, _, length = next(c for c in png_chunks(data) if c[1] == b"IDAT")
    cut = data[: offset + 8 + length // 2]
    with pytest.raises(TruncatedImageError) as excinfo:
        decode_image(cut, limits=LIMITS)
    message_of(excinfo, "'IDAT' chunk", f"{len(cut)} bytes")


def test_png_missing_only_its_iend_chunk_is_truncated() -> None:
    # Pillow itself decodes this without complaint.
    data = rgb_png()
    assert data.endswith(png_chunk(b"IEND", b""))
    cut = data[:-12]
    Image.open(io.BytesIO(cut)).load()
    with pytest.raises(TruncatedImageError) as excinfo:
        decode_image(cut, limits=LIMITS)
    message_of(excinfo, "IEND", f"ends at byte {len(cut)}")


def test_png_with_a_bad_crc_on_a_critical_chunk_is_a_decode_error() -> None:
    data = bytearray(rgb_png())
    offset, _, length = next(c for c in png_chunks(bytes(data)) if c[1] == b"IDAT")
    data[offset + 8 + length // 2] ^= 0xFF
    with pytest.raises(ImageDecodeError) as excinfo:
        decode_image(bytes(data), limits=LIMITS)
    message_of(excinfo, "IDAT", "CRC")


def test_png_with_corrupt_compressed_data_is_a_decode_error_with_the_decoders_message() -> None:
    data = rgb_png()
    offset, _, length = next(c for c in png_chunks(data) if c[1] == b"IDAT")
    junk = png_chunk(b"IDAT", b"this is not a zlib stream" * 4)
    corrupt = data[:offset] + junk + data[offset + 12 + length :]
    with pytest.raises(ImageDecodeError) as excinfo:
        decode_image(corrupt, limits=LIMITS)
    message_of(excinfo, "valid PNG image", "OSError")


@needs_jpeg2000
@pytest.mark.parametrize("no_jp2", [False, True])
def test_jpeg2000_cut_short_is_truncated(no_jp2: bool) -> None:
    data = encode(Image.fromarray(noise(32, 32)), "JPEG2000", no_jp2=no_jp2)
    for cut in (data[: len(data) // 2], data[:-2]):
        with pytest.raises(TruncatedImageError) as excinfo:
            decode_image(cut, limits=LIMITS)
        message_of(excinfo, "JPEG 2000", "bytes")


@needs_jpeg2000
def test_jp2_without_a_codestream_box_is_truncated() -> None:
    data = encode(Image.fromarray(noise(32, 32)), "JPEG2000")
    header_only = data[: data.index(b"jp2c") - 4]
    with pytest.raises(TruncatedImageError) as excinfo:
        decode_image(header_only, limits=LIMITS)
    message_of(excinfo, "jp2c", f"{len(header_only)} bytes")


# --- colour modes and bit depths ----------------------------------------------------------


def test_rgb_png_round_trips_exactly() -> None:
    pixels = noise(48, 64)
    decoded = decode_image(encode(Image.fromarray(pixels), "PNG"), limits=LIMITS)
    assert decoded.dtype == np.uint8
    assert decoded.flags.c_contiguous
    assert decoded.flags.writeable
    assert np.array_equal(decoded, pixels)


def test_16bit_grey_png_is_scaled_not_clipped() -> None:
    values = np.array([[0, 255, 256, 257, 32768, 65280, 65535]], dtype=np.uint16)
    data = encode(Image.fromarray(values), "PNG")
    assert Image.open(io.BytesIO(data)).mode in {"I;16", "I"}
    decoded = decode_image(data, limits=LIMITS)
    assert decoded.shape == (1, 7, 3)
    assert decoded[0, :, 0].tolist() == [0, 0, 1, 1, 128, 255, 255]
    assert np.array_equal(decoded[..., 0], decoded[..., 1])
    assert np.array_equal(decoded[..., 0], decoded[..., 2])


def test_16bit_rgb_png_keeps_channel_order_and_scales() -> None:
    rgb = np.zeros((4, 5, 3), dtype=np.uint16)
    rgb[0, 0] = (65535, 32768, 0)
    rgb[1, 2] = (257 * 10, 257 * 20, 257 * 30)
    ok, buffer = cv2.imencode(".png", rgb[:, :, ::-1].copy())  # OpenCV writes BGR
    assert ok
    data = buffer.tobytes()
    assert data[24] == 16  # IHDR bit depth
    decoded = decode_image(data, limits=LIMITS)
    assert decoded[0, 0].tolist() == [255, 128, 0]
    assert decoded[1, 2].tolist() == [10, 20, 30]
    assert not decoded[2:].any()


def test_opencv_fallback_decodes_16bit_rgb_png_as_pillow_does() -> None:
    # Pillow 13 reads 48-bit PNG as 8-bit RGB; the OpenCV path, used where Pillow cannot
    # represent an image, must give the same answer.
    rgb = np.random.default_rng(1).integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    ok, buffer = cv2.imencode(".png", rgb[:, :, ::-1].copy())
    assert ok
    via_opencv = _decode_opencv(buffer.tobytes(), 16, 1, "PNG", None)
    assert via_opencv.flags.c_contiguous
    assert np.array_equal(via_opencv, (rgb >> 8).astype(np.uint8))
    assert np.array_equal(via_opencv, decode_image(buffer.tobytes(), limits=LIMITS))


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA"])
def test_png_modes_become_rgb(mode: str) -> None:
    image = Image.fromarray(noise(20, 30)).convert(mode)
    decoded = decode_image(encode(image, "PNG"), limits=LIMITS)
    assert decoded.shape == (20, 30, 3)
    assert np.array_equal(decoded, np.asarray(image.convert("RGB")))


def test_rgba_png_drops_alpha_and_keeps_colour() -> None:
    rgba = noise(10, 12, channels=4)
    rgba[..., 3] = 0  # fully transparent: the colour must survive anyway
    decoded = decode_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"), limits=LIMITS)
    assert np.array_equal(decoded, rgba[..., :3])


def test_palette_png_uses_its_palette() -> None:
    image = Image.new("P", (4, 2))
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    image.putdata([0, 1, 2, 0, 2, 1, 0, 0])
    decoded = decode_image(encode(image, "PNG", transparency=0), limits=LIMITS)
    assert decoded[0].tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 0]]
    assert decoded[1].tolist() == [[0, 0, 255], [0, 255, 0], [255, 0, 0], [255, 0, 0]]


def test_grey_jpeg_becomes_three_equal_channels() -> None:
    grey = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (32, 1))
    data = encode(Image.fromarray(grey, "L"), "JPEG", quality=95)
    decoded = decode_image(data, limits=LIMITS)
    assert decoded.shape == (32, 64, 3)
    assert np.array_equal(decoded[..., 0], decoded[..., 1])
    assert np.array_equal(decoded[..., 0], decoded[..., 2])
    assert np.abs(decoded[..., 0].astype(int) - grey).max() <= 6


def test_cmyk_jpeg_with_adobe_inverted_samples_becomes_rgb() -> None:
    inks = [
        ((255, 0, 0, 0), (0, 255, 255)),  # cyan
        ((0, 255, 0, 0), (255, 0, 255)),  # magenta
        ((0, 0, 255, 0), (255, 255, 0)),  # yellow
        ((0, 0, 0, 255), (0, 0, 0)),  # black
        ((0, 0, 0, 0), (255, 255, 255)),  # paper
    ]
    image = Image.new("CMYK", (16 * len(inks), 16))
    for index, (ink, _) in enumerate(inks):
        image.paste(ink, (16 * index, 0, 16 * index + 16, 16))
    data = encode(image, "JPEG", quality=95)
    opened = Image.open(io.BytesIO(data))
    assert opened.mode == "CMYK"
    assert "adobe" in opened.info  # Pillow writes (and reads) Adobe's inverted CMYK
    decoded = decode_image(data, limits=LIMITS)
    assert decoded.shape == (16, 16 * len(inks), 3)
    for index, (_, rgb) in enumerate(inks):
        centre = decoded[8, 16 * index + 8].astype(int)
        assert np.abs(centre - rgb).max() <= 8, (index, centre, rgb)


@needs_jpeg2000
@pytest.mark.parametrize("no_jp2", [False, True])
def test_jpeg2000_round_trips_exactly(no_jp2: bool) -> None:
    pixels = noise(40, 56)
    data = encode(Image.fromarray(pixels), "JPEG2000", no_jp2=no_jp2)  # lossless by default
    signature = b"\xff\x4f\xff\x51" if no_jp2 else b"\x00\x00\x00\x0cjP  \r\n\x87\n"
    assert data.startswith(signature)
    name = "face.j2k" if no_jp2 else "face.jp2"
    assert np.array_equal(decode_image(data, limits=LIMITS, filename=name), pixels)
    # Both JPEG 2000 flavours belong to one family: the other extension is no mismatch.
    other = "face.jp2" if no_jp2 else "face.j2k"
    assert np.array_equal(decode_image(data, limits=LIMITS, filename=other), pixels)
    with pytest.raises(ImageFormatMismatchError) as excinfo:
        decode_image(data, limits=LIMITS, filename="face.jpg")
    message_of(excinfo, "JPEG data", "JPEG 2000")


@needs_jpeg2000
def test_16bit_grey_jpeg2000_is_scaled() -> None:
    values = np.array([[0, 256, 32768, 65535]] * 4, dtype=np.uint16)
    data = encode(Image.fromarray(values), "JPEG2000")
    decoded = decode_image(data, limits=LIMITS)
    assert decoded[0, :, 1].tolist() == [0, 1, 128, 255]


@needs_jpeg2000
@pytest.mark.skipif(not cv2.haveImageWriter(".jp2"), reason="OpenCV cannot write JPEG 2000")
def test_16bit_rgb_jpeg2000_keeps_its_highlights() -> None:
    # Pillow's own JPEG 2000 unpacker turns 16-bit white into black (it rounds into a byte).
    rgb = np.zeros((64, 64, 3), dtype=np.uint16)
    rgb[0, 0] = (65535, 65535, 65535)
    rgb[1, 1] = (65535, 32768, 256)
    ok, buffer = cv2.imencode(".jp2", rgb[:, :, ::-1].copy(), [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 1000])
    assert ok
    data = buffer.tobytes()
    decoded = decode_image(data, limits=LIMITS, filename="passport.jp2")
    assert decoded.shape == (64, 64, 3)
    assert decoded[0, 0].tolist() == [255, 255, 255]
    assert decoded[1, 1].tolist() == [255, 128, 1]
    assert not decoded[2:].any()


# --- orientation --------------------------------------------------------------------------


@pytest.mark.parametrize(("orientation", "corner"), [(6, (0, -1)), (8, (-1, 0)), (3, (-1, -1))])
def test_exif_orientation_turns_the_jpeg_upright(orientation: int, corner: tuple[int, int]) -> None:
    stored = np.full((32, 64, 3), 255, dtype=np.uint8)
    stored[:16, :16] = (255, 0, 0)  # red block in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif)
    decoded = decode_image(data, limits=LIMITS)
    assert decoded.shape == ((32, 64, 3) if orientation == 3 else (64, 32, 3))
    row, column = corner
    red = decoded[4 if row == 0 else -4, 4 if column == 0 else -4]
    assert red[0] > 200, red
    assert red[1] < 60, red
    assert red[2] < 60, red


@pytest.mark.parametrize("orientation", range(1, 9))
def test_numpy_orientation_matches_pillows(orientation: int) -> None:
    pixels = noise(5, 7)
    image = Image.fromarray(pixels)
    image.getexif()[0x0112] = orientation
    expected = np.asarray(ImageOps.exif_transpose(image))
    assert np.array_equal(_apply_orientation(pixels, orientation), expected)


# --- files --------------------------------------------------------------------------------


def test_read_image_reads_a_file(tmp_path: Path) -> None:
    pixels = noise(20, 30)
    path = tmp_path / "face.png"
    Image.fromarray(pixels).save(path)
    assert np.array_equal(read_image(path, limits=LIMITS), pixels)


def test_read_image_refuses_an_oversized_file_before_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.jpg"
    with path.open("wb") as handle:
        handle.truncate(LIMITS.max_bytes + 1)  # sparse: nothing is written
    with pytest.raises(ImageTooLargeError) as excinfo:
        read_image(path, limits=LIMITS)
    message_of(excinfo, str(path), f"{LIMITS.max_bytes + 1} bytes", "max_bytes")


def test_read_image_checks_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "face.jpg"
    path.write_bytes(rgb_png())
    with pytest.raises(ImageFormatMismatchError) as excinfo:
        read_image(path, limits=LIMITS)
    message_of(excinfo, "face.jpg", "JPEG data", "PNG signature")


def test_read_image_of_an_empty_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(EmptyImageError) as excinfo:
        read_image(path, limits=LIMITS)
    message_of(excinfo, "0 bytes")


def test_read_image_of_a_missing_file_or_a_folder_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(ImageFileError) as excinfo:
        read_image(tmp_path / "absent.png", limits=LIMITS)
    message_of(excinfo, "a readable image file", "No such file")
    assert isinstance(excinfo.value.__cause__, FileNotFoundError)
    with pytest.raises(ImageFileError):
        read_image(tmp_path, limits=LIMITS)


# --- arrays -------------------------------------------------------------------------------


def test_from_array_grey_uint8() -> None:
    grey = noise(6, 9, channels=1)
    rgb = from_array(grey, limits=LIMITS)
    assert rgb.shape == (6, 9, 3)
    assert rgb.dtype == np.uint8
    assert all(np.array_equal(rgb[..., c], grey) for c in range(3))


def test_from_array_uint16_is_scaled() -> None:
    frame = np.array([[0, 255, 256, 32768, 65535]], dtype=np.uint16)
    assert from_array(frame, limits=LIMITS)[0, :, 2].tolist() == [0, 0, 1, 128, 255]
    big_endian = frame.astype(">u2")
    assert np.array_equal(from_array(big_endian, limits=LIMITS), from_array(frame, limits=LIMITS))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_from_array_float_in_unit_range(dtype: Any) -> None:
    frame = np.array([[[0.0, 0.5, 1.0]]], dtype=dtype)
    assert from_array(frame, limits=LIMITS).tolist() == [[[0, 128, 255]]]


def test_from_array_rgba_drops_alpha_and_copies() -> None:
    rgba = noise(4, 5, channels=4)
    rgb = from_array(rgba, limits=LIMITS)
    assert np.array_equal(rgb, rgba[..., :3])
    assert rgb.flags.c_contiguous
    rgb[:] = 0
    assert rgba[..., :3].any()  # the input was not aliased


def test_from_array_rgb_view_is_copied_contiguous() -> None:
    bgr = noise(4, 5)
    view = bgr[:, :, ::-1]
    rgb = from_array(view, limits=LIMITS)
    assert rgb.flags.c_contiguous
    assert not np.shares_memory(rgb, bgr)
    assert np.array_equal(rgb, view)


@pytest.mark.parametrize("shape", [(12,), (3, 4, 2), (3, 4, 1), (3, 4, 5), (2, 3, 4, 3)])
def test_from_array_bad_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(UnsupportedImageError) as excinfo:
        from_array(np.zeros(shape, dtype=np.uint8), limits=LIMITS)
    message_of(excinfo, "H×W", f"shape {shape}")


@pytest.mark.parametrize("dtype", [np.int32, np.int16, np.uint32, np.bool_, np.complex64])
def test_from_array_bad_dtypes(dtype: Any) -> None:
    with pytest.raises(UnsupportedImageError) as excinfo:
        from_array(np.zeros((3, 4, 3), dtype=dtype), limits=LIMITS)
    message_of(excinfo, "uint8, uint16", f"dtype {np.dtype(dtype)}", "(3, 4, 3)")


@pytest.mark.parametrize(("value", "fragment"), [(1.5, "to 1.5"), (-0.25, "from -0.25")])
def test_from_array_float_out_of_range(value: float, fragment: str) -> None:
    frame = np.zeros((3, 4), dtype=np.float32)
    frame[1, 1] = value
    with pytest.raises(UnsupportedImageError) as excinfo:
        from_array(frame, limits=LIMITS)
    message_of(excinfo, "[0, 1]", fragment)


def test_from_array_float_nan() -> None:
    frame = np.zeros((3, 4, 3), dtype=np.float64)
    frame[0, 0, 0] = np.nan
    with pytest.raises(UnsupportedImageError) as excinfo:
        from_array(frame, limits=LIMITS)
    message_of(excinfo, "[0, 1]", "1 NaN or infinite")


@pytest.mark.parametrize("shape", [(0, 5), (5, 0, 3)])
def test_from_array_empty(shape: tuple[int, ...]) -> None:
    with pytest.raises(EmptyImageError) as excinfo:
        from_array(np.zeros(shape, dtype=np.uint8), limits=LIMITS)
    message_of(excinfo, "H, W > 0", f"shape {shape}")


def test_from_array_pixel_cap() -> None:
    with pytest.raises(ImageTooLargeError) as excinfo:
        from_array(np.zeros((65, 64), dtype=np.uint8), limits=ImageLimits(max_pixels=4096))
    message_of(excinfo, "at most 4096 pixels", "64×65 = 4160 pixels")


def test_from_array_refuses_non_arrays() -> None:
    with pytest.raises(UnsupportedImageError) as excinfo:
        from_array([[0, 1], [2, 3]], limits=LIMITS)  # type: ignore[arg-type]
    message_of(excinfo, "numpy.ndarray", "list")
