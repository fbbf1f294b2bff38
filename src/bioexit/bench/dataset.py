"""The labelled faces folder: ``labels.csv`` (path, identity, set) plus optional ``groups/``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from bioexit.detection.types import RGBImage
from bioexit.errors import DataError
from bioexit.imaging import decode_image
from bioexit.settings import ImageLimits

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".jp2", ".j2k"}


@dataclass(frozen=True, slots=True)
class LabelledImage:
    path: Path
    identity: str
    set: str


@dataclass(frozen=True, slots=True)
class FaceDataset:
    root: Path
    images: tuple[LabelledImage, ...]
    groups: tuple[Path, ...]

    @property
    def identities(self) -> list[str]:
        return sorted({i.identity for i in self.images})


def load_dataset(root: Path) -> FaceDataset:
    labels = root / "labels.csv"
    if not labels.is_file():
        raise DataError(
            "not a labelled faces folder", expected=f"{labels} (columns path,identity,set)", got="missing"
        )
    images: list[LabelledImage] = []
    with labels.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"path", "identity"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(
                f"{labels} lacks columns",
                expected="path,identity[,set]",
                got=",".join(reader.fieldnames or []),
            )
        for line, row in enumerate(reader, start=2):
            path = root / row["path"]
            if not path.is_file():
                raise DataError(
                    f"{labels}:{line} names a missing image", expected="an existing file", got=str(path)
                )
            images.append(LabelledImage(path, row["identity"], row.get("set") or ""))
    if not images:
        raise DataError(f"{labels} lists no images", expected="at least one row", got="0 rows")
    group_dir = root / "groups"
    groups = (
        tuple(sorted(p for p in group_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
        if group_dir.is_dir()
        else ()
    )
    return FaceDataset(root, tuple(images), groups)


def read_dataset_image(path: Path, limits: ImageLimits) -> RGBImage:
    """Decode a dataset photo by its signature alone.

    Lane and API input is held to its file extension (see :func:`bioexit.imaging.read_image`);
    collected datasets are not: the shared set has a WebP photo named ``.jpg``.
    """
    return decode_image(path.read_bytes(), limits=limits)
