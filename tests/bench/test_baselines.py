"""The face_recognition baseline, with its defaults, on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bioexit.bench.baselines import FaceRecognitionBaseline
from bioexit.bench.dataset import load_dataset, read_dataset_image
from bioexit.settings import ImageLimits

pytestmark = pytest.mark.slow


def test_identifies_another_photo_of_an_enrolled_person_and_nobody_in_an_empty_frame(faces_dir: Path) -> None:
    dataset = load_dataset(faces_dir)
    limits = ImageLimits()
    people = ["ageitgey/obama", "ageitgey/biden", "dlib_johns/John_Schneider"]
    photos = {p: [i.path for i in dataset.images if i.identity == p] for p in people}
    baseline = FaceRecognitionBaseline(
        {p: read_dataset_image(paths[0], limits) for p, paths in photos.items()}
    )
    assert baseline.not_enrolled == [] and set(baseline.ids) == set(people)
    for person, paths in photos.items():
        faces = baseline.identify(read_dataset_image(paths[1], limits))
        assert faces, person
        largest = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        assert largest.identity == person and largest.distance is not None and largest.distance < 0.6
    assert baseline.identify(np.full((480, 640, 3), 128, np.uint8)) == []


def test_an_unknown_face_stays_unknown(faces_dir: Path) -> None:
    dataset = load_dataset(faces_dir)
    limits = ImageLimits()
    enrolled = next(i for i in dataset.images if i.identity == "ageitgey/obama")
    stranger = next(i for i in dataset.images if i.identity == "dlib_johns/John_Schneider")
    baseline = FaceRecognitionBaseline({"obama": read_dataset_image(enrolled.path, limits)})
    faces = baseline.identify(read_dataset_image(stranger.path, limits))
    assert faces and all(f.identity is None for f in faces)
