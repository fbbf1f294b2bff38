from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, features

from bioexit.errors import ImageFormatMismatchError, ImageTooLargeError, TruncatedImageError
from bioexit.imaging import decode_image
from bioexit.settings import ImageLimits

pytestmark = pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")

LIMITS = ImageLimits()


def webp_bytes(lossless: bool, height: int = 40, width: int = 60) -> bytes:
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = (200, 30, 30)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="WEBP", lossless=lossless, quality=95)
    return buffer.getvalue()


@pytest.mark.parametrize("lossless", [True, False])
def test_webp_decodes_by_signature(lossless: bool) -> None:
    image = decode_image(webp_bytes(lossless), limits=LIMITS)
    assert image.shape == (40, 60, 3)
    assert image[20, 10, 0] > 150 and image[20, 50, 0] < 60


@pytest.mark.parametrize("lossless", [True, False])
def test_webp_pixel_cap_is_read_from_its_header(lossless: bool) -> None:
    with pytest.raises(ImageTooLargeError, match="100×80"):
        decode_image(webp_bytes(lossless, 80, 100), limits=ImageLimits(max_pixels=4096))


def test_truncated_webp_is_refused() -> None:
    data = webp_bytes(False)
    with pytest.raises(TruncatedImageError, match=f"expected {len(data)} bytes"):
        decode_image(data[: len(data) // 2], limits=LIMITS)


def test_webp_named_jpg_is_a_mismatch() -> None:
    with pytest.raises(ImageFormatMismatchError, match="got a WebP signature"):
        decode_image(webp_bytes(True), limits=LIMITS, filename="img47.jpg")
