"""``bioexit bench calibrate``: rebuild a model's impostor-score table from a labelled folder."""

from __future__ import annotations

from bioexit.bench.dataset import FaceDataset, read_dataset_image
from bioexit.bench.faces import Progress, largest, verification_accuracy
from bioexit.detection.types import Detector
from bioexit.embedding.types import Embedder
from bioexit.matching.calibration import CalibrationTable
from bioexit.settings import ImageLimits


def calibrate(
    dataset: FaceDataset,
    detector: Detector,
    embedder: Embedder,
    limits: ImageLimits,
    progress: Progress | None = None,
) -> CalibrationTable:
    """Every cross-identity pair of ``labels.csv`` is an impostor pair (largest face per photo)."""
    images, boxes, identities = [], [], []
    for step, item in enumerate(dataset.images):
        image = read_dataset_image(item.path, limits)
        box = largest(detector.detect(image))
        if box is not None:
            images.append(image)
            boxes.append(box)
            identities.append(item.identity)
        if progress:
            progress("templates", step + 1, len(dataset.images))
    result, pairs = verification_accuracy(embedder, images, boxes, identities)
    return CalibrationTable.from_scores(
        embedder.info,
        pairs.impostor,
        genuine_pairs=len(pairs.genuine),
        source=(
            f"all cross-identity pairs of {len(images)} photos of {len(set(identities))} people "
            f"({dataset.root.name}/labels.csv), faces found by {detector.name}"
        ),
        extra={"tar_at_far": result["tar_at_far"], "eer": result["eer"]},
    )
