from __future__ import annotations

import numpy as np
import pytest

from bioexit.alignment import ARCFACE_112, DLIB_CHIP_150, align, similarity_transform
from bioexit.errors import UnsupportedImageError


def test_similarity_transform_recovers_rotation_scale_shift() -> None:
    source = np.array(ARCFACE_112.landmarks)
    angle, scale, shift = np.deg2rad(20), 2.5, np.array([40.0, -7.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = scale * source @ rot.T + shift
    matrix = similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], scale * rot, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


@pytest.mark.parametrize("spec", [ARCFACE_112, DLIB_CHIP_150])
def test_landmarks_land_on_the_canonical_points(spec) -> None:  # type: ignore[no-untyped-def]
    image = np.zeros((400, 600, 3), np.uint8)
    # Put five bright dots where a tilted face's landmarks are, then align.
    marks = np.array(spec.landmarks) * 1.7 @ np.array([[0.96, -0.28], [0.28, 0.96]]).T + [200, 120]
    for (x, y), value in zip(marks, (50, 100, 150, 200, 250), strict=True):
        image[int(round(y)) - 1 : int(round(y)) + 2, int(round(x)) - 1 : int(round(x)) + 2] = value
    chip = align(image, marks, spec)
    assert chip.shape == (spec.size, spec.size, 3)
    for (x, y), value in zip(spec.landmarks, (50, 100, 150, 200, 250), strict=True):
        window = chip[int(y) - 2 : int(y) + 3, int(x) - 2 : int(x) + 3, 0]
        assert abs(int(window.max()) - value) <= 30


def test_align_refuses_a_grey_array() -> None:
    with pytest.raises(UnsupportedImageError, match="expected an H×W×3 uint8 RGB image"):
        align(np.zeros((10, 10), np.uint8), np.zeros((5, 2)), ARCFACE_112)
