"""Reading a simulation back: its truth files, and matching detections to the true faces.

For benchmarks only: the lane pipeline never reads ``truth.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bioexit.detection.types import Detection
from bioexit.errors import DataError

Box = tuple[float, float, float, float]
MIN_IOU = 0.3
"""A detection is a true face's when their boxes overlap at least this much (and best)."""


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True, slots=True)
class SimulatedEncounter:
    folder: Path
    truth: dict[str, Any]


def encounters(simulation: Path) -> Iterator[SimulatedEncounter]:
    """Every encounter folder of a simulation output, in name order, with its truth."""
    if not (simulation / "simulation.json").is_file():
        raise DataError(
            "not a lane simulation folder", expected=f"{simulation}/simulation.json", got="missing"
        )
    for folder in sorted(p for p in simulation.iterdir() if (p / "truth.json").is_file()):
        yield SimulatedEncounter(folder, json.loads((folder / "truth.json").read_text(encoding="utf-8")))


def match_detections(
    detections: Sequence[Detection], faces: Sequence[dict[str, Any]], min_iou: float = MIN_IOU
) -> list[int | None]:
    """For each detection, the index of the true face it finds (greedy by IoU, one to one), or None."""
    pairs = sorted(
        (
            (iou((d.x1, d.y1, d.x2, d.y2), face["box"]), i, j)
            for i, d in enumerate(detections)
            for j, face in enumerate(faces)
        ),
        reverse=True,
    )
    matched: list[int | None] = [None] * len(detections)
    taken: set[int] = set()
    for overlap, i, j in pairs:
        if overlap < min_iou:
            break
        if matched[i] is None and j not in taken:
            matched[i] = j
            taken.add(j)
    return matched
