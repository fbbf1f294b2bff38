"""Real labelled faces loaded once per session, with the default detector's largest face."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bioexit.bench.dataset import FaceDataset, load_dataset, read_dataset_image
from bioexit.bench.faces import largest
from bioexit.detection.mtcnn import MtcnnDetector
from bioexit.detection.types import Detection, RGBImage
from bioexit.settings import ImageLimits


@dataclass(frozen=True)
class RealFaces:
    dataset: FaceDataset
    images: list[RGBImage]
    boxes: list[Detection | None]
    groups: list[RGBImage]


@cache
def real_faces(root: Path) -> RealFaces:
    dataset = load_dataset(root)
    limits = ImageLimits()
    detector = MtcnnDetector()
    images = [read_dataset_image(item.path, limits) for item in dataset.images]
    boxes = [largest(detector.detect(image)) for image in images]
    groups = [read_dataset_image(path, limits) for path in dataset.groups]
    return RealFaces(dataset, images, boxes, groups)
