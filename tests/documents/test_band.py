"""Finding the MRZ band on a page image: the shared specimens, and synthetic pages."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from tests.documents.test_mrz import SPECIMENS

from bioexit.detection.types import RGBImage
from bioexit.documents import find_mrz_band
from bioexit.errors import EmptyImageError, MRZNotFoundError, UnsupportedImageError
from bioexit.imaging import read_image
from bioexit.settings import ImageLimits

FONT = cv2.FONT_HERSHEY_SIMPLEX


def synthetic_page(lines: tuple[str, ...], width: int = 1000, height: int = 640) -> RGBImage:
    """A white page with a title, a dark photo block and the zone drawn one character per pitch."""
    page = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(page, "UTOPIA  Passport", (300, 80), FONT, 1.2, (0, 0, 0), 2)
    cv2.rectangle(page, (40, 120), (300, 380), (120, 90, 60), -1)
    pitch = width * 0.85 / len(lines[0])
    (glyph_w, glyph_h), _ = cv2.getTextSize("W", FONT, 1.0, 2)
    scale = 0.8 * pitch / glyph_w
    line_height = int(glyph_h * scale * 1.8)
    top = height - 40 - line_height * (len(lines) - 1)
    for row, line in enumerate(lines):
        for column, char in enumerate(line):
            cv2.putText(
                page, char, (int(60 + column * pitch), top + row * line_height), FONT, scale, (0, 0, 0), 2
            )
    return page


@pytest.mark.parametrize(
    ("name", "formats"),
    [
        ("TD1", ("TD1",)),
        ("TD2", ("TD2", "MRV-B")),
        ("TD3", ("TD3", "MRV-A")),
        ("MRV-A", ("TD3", "MRV-A")),
        ("MRV-B", ("TD2", "MRV-B")),
    ],
)
def test_synthetic_zone_is_found_with_its_shape(name: str, formats: tuple[str, ...]) -> None:
    lines = SPECIMENS[name]
    band = find_mrz_band(synthetic_page(lines))
    assert len(band.lines) == len(lines)
    assert band.glyphs == (len(lines[0]),) * len(lines)
    assert band.likely_formats == formats
    assert band.box.y1 > 400 and band.box.width > 800  # the foot of the page, not the title or photo


def test_page_without_a_zone_is_refused() -> None:
    page = synthetic_page(SPECIMENS["TD3"])
    page[420:, :] = 255
    with pytest.raises(MRZNotFoundError, match="no machine-readable zone found"):
        find_mrz_band(page)


def test_one_line_alone_is_not_a_zone() -> None:
    page = synthetic_page(SPECIMENS["TD3"])
    top, _ = find_mrz_band(page).lines
    page[top.y1 - 2 : top.y2 + 2, :] = 255
    with pytest.raises(MRZNotFoundError, match="got 1 candidate line"):
        find_mrz_band(page)


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (np.zeros((100, 100), np.uint8), UnsupportedImageError),
        (np.zeros((100, 100, 3), np.float32), UnsupportedImageError),
        (np.zeros((4, 100, 3), np.uint8), EmptyImageError),
    ],
)
def test_bad_arrays_are_refused(image: RGBImage, error: type[Exception]) -> None:
    with pytest.raises(error):
        find_mrz_band(image)


@pytest.mark.parametrize(("name", "characters"), [("passport-td3.jpg", 44), ("passport-td2.jpg", 36)])
def test_shared_specimen_bands(shared_data: Path, name: str, characters: int) -> None:
    page = read_image(shared_data / "documents" / name, limits=ImageLimits())
    height, width = page.shape[:2]
    band = find_mrz_band(page)
    assert band.glyphs == (characters, characters)
    assert band.box.y1 > 0.7 * height  # the foot of the page
    assert band.box.width > 0.7 * width
    assert all(0.02 * height < line.height < 0.06 * height for line in band.lines)
