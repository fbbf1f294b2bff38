"""A tiny labelled faces folder of drawn faces, and a detector that knows where they are."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from bioexit.detection.types import Detection, RGBImage
from bioexit.fakes import FakeDetector

SIDE = 200
LANDMARKS = ((80.0, 88.0), (120.0, 88.0), (100.0, 112.0), (84.0, 134.0), (116.0, 134.0))
BOX = (58.0, 50.0, 142.0, 160.0)


def drawn_face(identity: int, variant: int) -> RGBImage:
    """A cartoon face whose colours depend on the identity and, a little, on the variant."""
    rng = np.random.default_rng([identity, variant])
    image = np.full((SIDE, SIDE, 3), rng.integers(60, 200, 3), np.uint8)
    skin = tuple(int(v) for v in (np.array([200, 160, 130]) * (0.6 + 0.05 * (identity % 8))).clip(0, 255))
    cv2.ellipse(image, (100, 105), (42, 56), 0, 0, 360, skin, -1)
    for x, y in LANDMARKS[:2]:
        cv2.circle(image, (int(x), int(y)), 6, (30, 30, 30), -1)
    cv2.line(image, (100, 95), (100, 112), (120, 90, 80), 3)
    cv2.line(image, (84, 134), (116, 134), (150, 50, 60), 4)
    return image


def synthetic_folder(root: Path, people: int = 12, photos_each: int = 3) -> Path:
    """``people`` identities with ``photos_each`` PNGs each (one person with a single photo)."""
    root.mkdir(parents=True, exist_ok=True)
    rows = ["path,identity,set"]
    for person in range(people):
        count = 1 if person == 0 else photos_each
        for variant in range(count):
            name = f"p{person:02d}/img{variant}.png"
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / name), cv2.cvtColor(drawn_face(person, variant), cv2.COLOR_RGB2BGR))
            rows.append(f"{name},synthetic/p{person:02d},synthetic")
    (root / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def drawn_face_detector() -> FakeDetector:
    """Finds the one drawn face of a synthetic photo, where it was drawn."""
    return FakeDetector(
        lambda _image: [Detection(*BOX, score=0.99, landmarks=np.array(LANDMARKS, np.float32))]
    )
