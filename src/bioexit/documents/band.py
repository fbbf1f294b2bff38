"""Find the machine-readable zone band on a document page image (no OCR).

The MRZ is two or three lines of OCR-B, all the same length, running across nearly the
whole page in a fixed pitch, near the bottom of the page (Doc 9303 parts 4–7). On a page
resized to :data:`WORK_WIDTH` px, dark pixels (Otsu) are closed horizontally so the glyphs
of one text line merge; a line whose box is long, thin and densely filled, and holds at
least :data:`MIN_GLYPHS` separate glyphs, is an MRZ line candidate. Two or three candidates
stacked closely with the same left edge, width and height form a band; the lowest band wins.

Reading the characters is left to OCR, which bioexit does not ship (see the README).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from bioexit.detection.types import RGBImage
from bioexit.errors import EmptyImageError, MRZNotFoundError, UnsupportedImageError

WORK_WIDTH = 1000
"""The page is resized to this width first, so every size below is in a fixed unit."""

CLOSE_WIDTH = 30
"""Horizontal closing (px at WORK_WIDTH) that joins the glyphs of a line: the OCR-B pitch at
an MRZ spanning ≥ 60 % of the page is ≥ 13 px; a TD1 line of 30 at 85 % has a 28 px pitch and,
with narrow glyphs such as I and <, gaps up to about 20 px."""

MIN_LINE_WIDTH = 0.55
"""An MRZ line spans at least this fraction of the page width (the specimens: 0.78–0.79)."""

MIN_ASPECT = 15.0
"""An MRZ line is at least this many times as wide as high (30 glyphs; the specimens: ~40)."""

MIN_FILL = 0.5
"""Fraction of the closed line's box that is dark: rejects frames, rules and photo edges."""

MIN_GLYPHS = 24
"""Separate dark glyphs an MRZ line holds at least (TD1 has 30 characters a line)."""

LINE_TOLERANCE = 0.12
"""Lines of one band agree in width and height within this fraction, in left edge within
this fraction of their width."""


@dataclass(frozen=True, slots=True)
class Box:
    """A pixel box in the page: x1, y1 inclusive, x2, y2 exclusive."""

    x1: int
    y1: int
    x2: int
    y2: int

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1


@dataclass(frozen=True, slots=True)
class MRZBand:
    """Where the zone is: the band's box, each line's box (top first), and glyphs per line.

    ``glyphs`` counts dark connected components, so it equals the character count of a
    clean print (the specimens: 44 and 36) but may differ by a few on a poor one.
    """

    box: Box
    lines: tuple[Box, ...]
    glyphs: tuple[int, ...]

    @property
    def likely_formats(self) -> tuple[str, ...]:
        """The formats whose shape fits: 3 lines → TD1; 2 lines → by characters per line."""
        if len(self.lines) == 3:
            return ("TD1",)
        per_line = float(np.median(self.glyphs))
        return ("TD2", "MRV-B") if abs(per_line - 36) < abs(per_line - 44) else ("TD3", "MRV-A")


@dataclass(frozen=True, slots=True)
class _Line:
    x: int
    y: int
    width: int
    height: int
    glyphs: int


def find_mrz_band(image: RGBImage) -> MRZBand:
    """Locate the MRZ band on an upright page image; :class:`MRZNotFoundError` when there is none."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = f"shape {image.shape}, dtype {image.dtype}" if isinstance(image, np.ndarray) else type(image)
        raise UnsupportedImageError("MRZ search needs an RGB image", expected="an H×W×3 uint8 array", got=got)
    height, width = image.shape[:2]
    if height < 8 or width < 8:
        raise EmptyImageError(
            "page image too small to hold an MRZ", expected="at least 8×8 px", got=image.shape
        )
    scale = WORK_WIDTH / width
    work_height = max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    grey = cv2.cvtColor(
        cv2.resize(image, (WORK_WIDTH, work_height), interpolation=interpolation), cv2.COLOR_RGB2GRAY
    )
    _, dark = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    joined = cv2.morphologyEx(
        dark, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (CLOSE_WIDTH, 1))
    )
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined)
    lines = []
    for x, y, w, h, area in stats[1:count].tolist():
        if w < MIN_LINE_WIDTH * WORK_WIDTH or w < MIN_ASPECT * h or area < MIN_FILL * w * h:
            continue
        glyphs = cv2.connectedComponents(dark[y : y + h, x : x + w])[0] - 1
        if glyphs >= MIN_GLYPHS:
            lines.append(_Line(x, y, w, h, glyphs))
    bands = _bands(sorted(lines, key=lambda line: line.y))
    if not bands:
        raise MRZNotFoundError(
            "no machine-readable zone found on the page",
            expected="2 or 3 long, evenly stacked lines of OCR-B characters",
            got=f"{len(lines)} candidate line(s)",
        )
    band = max(bands, key=lambda b: b[-1].y)  # the lowest: the MRZ is at the foot of the page

    def to_page(x: int, y: int, w: int, h: int) -> Box:
        return Box(
            max(0, int(x / scale)),
            max(0, int(y / scale)),
            min(width, int(np.ceil((x + w) / scale))),
            min(height, int(np.ceil((y + h) / scale))),
        )

    boxes = tuple(to_page(line.x, line.y, line.width, line.height) for line in band)
    whole = Box(min(b.x1 for b in boxes), boxes[0].y1, max(b.x2 for b in boxes), boxes[-1].y2)
    return MRZBand(box=whole, lines=boxes, glyphs=tuple(line.glyphs for line in band))


def _alike(a: _Line, b: _Line) -> bool:
    return (
        abs(a.width - b.width) <= LINE_TOLERANCE * max(a.width, b.width)
        and abs(a.x - b.x) <= LINE_TOLERANCE * max(a.width, b.width)
        and abs(a.height - b.height) <= max(2.0, 3 * LINE_TOLERANCE * max(a.height, b.height))
        and 0 < b.y - a.y <= 3.0 * max(a.height, b.height)
    )


def _bands(lines: list[_Line]) -> list[tuple[_Line, ...]]:
    """Runs of 2 or 3 alike, closely stacked lines (longer runs are not an MRZ)."""
    runs: list[list[_Line]] = []
    for line in lines:
        if runs and _alike(runs[-1][-1], line):
            runs[-1].append(line)
        else:
            runs.append([line])
    return [tuple(run) for run in runs if 2 <= len(run) <= 3]
