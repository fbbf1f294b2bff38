"""``bioexit bench documents``: portrait enrolment on data-page images and chip portraits.

For each page image in a folder: where the MRZ band and the portrait are, the portrait's
quality and verdict, and the median time of MRZ-band search and of a whole enrolment. Then
each portrait is re-encoded as a chip (JPEG 2000 codestream at about the size of a real DG2
image), enrolled again and verified against the page portrait. With a labelled faces
folder, the share of its photos that pass the reference profile beside the lane profile.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from bioexit.bench.dataset import FaceDataset, read_dataset_image
from bioexit.documents.band import find_mrz_band
from bioexit.documents.enrol import EnrolledPortrait, enrol_chip, enrol_data_page
from bioexit.documents.portrait import REFERENCE_PROFILE
from bioexit.engine import FaceEngine
from bioexit.errors import BioexitError, DataError
from bioexit.imaging import read_image
from bioexit.matching import Matcher
from bioexit.quality import LANE_V0, assess, validate
from bioexit.settings import ImageLimits

Progress = Callable[[str, int, int], None]
PAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".jp2", ".webp")
CHIP_RATE = 40  # JPEG 2000 compression ratio: a 360 px wide portrait → about 12 KB


def _median_ms(action: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1000.0, 1)


def chip_bytes(portrait: EnrolledPortrait) -> bytes:
    """The portrait crop as a chip would hold it: 360 px wide, a JPEG 2000 codestream."""
    image = Image.fromarray(portrait.crop)
    height = round(image.height * 360 / image.width)
    buffer = io.BytesIO()
    image.resize((360, height), Image.Resampling.LANCZOS).save(
        buffer, "JPEG2000", quality_mode="rates", quality_layers=[CHIP_RATE], no_jp2=True
    )
    return buffer.getvalue()


def run_documents_bench(
    documents: Path,
    engine: FaceEngine,
    matcher: Matcher,
    limits: ImageLimits,
    *,
    faces: FaceDataset | None = None,
    repeats: int = 5,
    progress: Progress = lambda _stage, _done, _total: None,
) -> dict[str, Any]:
    pages = (
        sorted(p for p in documents.iterdir() if p.suffix.lower() in PAGE_SUFFIXES)
        if documents.is_dir()
        else []
    )
    if not pages:
        raise DataError("no page images", expected=f"{', '.join(PAGE_SUFFIXES)} files", got=str(documents))
    engine.detector.detect(read_image(pages[0], limits=limits))  # load the models outside the timings
    rows = []
    for index, path in enumerate(pages):
        page = read_image(path, limits=limits)
        row: dict[str, Any] = {"page": path.name, "size": [page.shape[1], page.shape[0]]}
        try:
            portrait = enrol_data_page(page, engine)
        except BioexitError as exc:
            row["error"] = f"{type(exc).__name__}: {exc}"
            rows.append(row)
            continue
        row.update(portrait.report())
        row["mrz_band_ms"] = _median_ms(partial(find_mrz_band, page), repeats)
        row["enrol_ms"] = _median_ms(partial(enrol_data_page, page, engine), repeats)
        data = chip_bytes(portrait)
        chip = enrol_chip(data, engine, limits=limits)
        verdict = matcher.verify(chip.template, portrait.template)
        row["chip"] = {
            "bytes": len(data),
            "usable_as_reference": chip.usable,
            "flags": [flag.value for flag in chip.flags],
            "inter_eye_distance": round(chip.quality.inter_eye_distance, 1),
            "score_vs_page": round(verdict.score, 4),
            "threshold": round(verdict.threshold, 4),
            "match": verdict.match,
            "enrol_ms": _median_ms(partial(enrol_chip, data, engine, limits=limits), repeats),
        }
        rows.append(row)
        progress("pages", index + 1, len(pages))
    result: dict[str, Any] = {"profile": REFERENCE_PROFILE.name, "repeats": repeats, "pages": rows}
    if faces is not None:
        result["labelled_photos"] = _profile_pass_rates(faces, engine, limits, progress)
    return result


def _profile_pass_rates(
    faces: FaceDataset, engine: FaceEngine, limits: ImageLimits, progress: Progress
) -> dict[str, Any]:
    """How many labelled photos (largest face) pass the reference and the lane profile, by set."""
    by_set: dict[str, dict[str, int]] = {}
    failures: dict[str, int] = {}
    for index, item in enumerate(faces.images):
        image = read_dataset_image(item.path, limits)
        detections = engine.detector.detect(image)
        counts = by_set.setdefault(item.set, {"photos": 0, "faces": 0, "reference_pass": 0, "lane_pass": 0})
        counts["photos"] += 1
        if detections:
            quality = assess(image, max(detections, key=lambda d: d.width * d.height))
            reference = validate(quality, REFERENCE_PROFILE)
            counts["faces"] += 1
            counts["reference_pass"] += reference.passed
            # v0: v1's limit on MTCNN's confidence is for faces in lane frames, not photos.
            counts["lane_pass"] += validate(quality, LANE_V0).passed
            for component in reference.failed_components:
                failures[component] = failures.get(component, 0) + 1
        progress("labelled photos", index + 1, len(faces.images))
    total = {
        key: sum(c[key] for c in by_set.values())
        for key in ("photos", "faces", "reference_pass", "lane_pass")
    }
    return {"total": total, "by_set": by_set, "reference_failures_by_component": failures}
