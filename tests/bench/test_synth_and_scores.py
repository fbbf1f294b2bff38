from __future__ import annotations

import numpy as np
import pytest

from bioexit.bench.scores import PairScores
from bioexit.bench.synth import FRAME_H, FRAME_W, compose_frames, prepare_background
from bioexit.detection.types import Detection


def box(x1: float, y1: float, w: float, h: float) -> Detection:
    return Detection(x1, y1, x1 + w, y1 + h, 1.0, np.zeros((5, 2)))


def test_compose_pastes_every_face_once_at_the_requested_width() -> None:
    rng = np.random.default_rng(0)
    source = np.zeros((400, 400, 3), np.uint8)
    source[150:250, 160:240] = 255  # the "face"
    faces = [(source, box(160, 150, 80, 100))] * 7
    background = prepare_background(np.full((FRAME_H, FRAME_W, 3), 30, np.uint8), [])
    frames = compose_frames(faces, [background], 40, faces_per_frame=3, rng=rng)
    assert [len(f.faces) for f in frames] == [3, 3, 1]
    for frame in frames:
        assert frame.image.shape == (FRAME_H, FRAME_W, 3)
        for face in frame.faces:
            assert face.width == pytest.approx(40)
            cx, cy = int((face.x1 + face.x2) / 2), int((face.y1 + face.y2) / 2)
            assert frame.image[cy, cx].min() > 200  # the bright face is where we say it is
            assert face.found_by(box(face.x1 + 2, face.y1, 38, 50))
            assert not face.found_by(box(face.x1 + 2, face.y1, 120, 150))  # 3× too large
            assert not face.found_by(box(face.x2 + 5, face.y1, 40, 50))  # beside it


def test_tar_far_and_eer_on_known_scores() -> None:
    identities = ["a", "a", "b", "b"]
    # pairs: (a,a)=0.9 genuine, (b,b)=0.5 genuine; impostors 0.1, 0.2, 0.6, 0.3
    matrix = np.array(
        [
            [1.0, 0.9, 0.1, 0.2],
            [0.9, 1.0, 0.6, 0.3],
            [0.1, 0.6, 1.0, 0.5],
            [0.2, 0.3, 0.5, 1.0],
        ]
    )
    pairs = PairScores.from_matrix(matrix, identities)
    assert sorted(pairs.genuine.tolist()) == [0.5, 0.9]
    assert pairs.impostor.tolist() == [0.6, 0.3, 0.2, 0.1]
    assert pairs.tar_at_far(0.01) == 0.5  # threshold above 0.6: only 0.9 passes
    assert pairs.tar_at_far(0.25) == 1.0  # one impostor may pass: threshold just above 0.3
    assert pairs.eer() == pytest.approx(0.25)


def test_faces_are_never_pasted_over_a_face_in_the_background() -> None:
    rng = np.random.default_rng(1)
    source = np.full((200, 200, 3), 255, np.uint8)
    faces = [(source, box(50, 50, 100, 100))] * 40
    # The background "shows" a face covering the whole left half of the frame.
    shown = box(0, 0, FRAME_W / 2 - 200, FRAME_H)
    background = prepare_background(np.zeros((FRAME_H, FRAME_W, 3), np.uint8), [shown])
    for frame in compose_frames(faces, [background], 32, faces_per_frame=10, rng=rng):
        for face in frame.faces:
            assert face.x1 > FRAME_W / 2 - 200 + 0.25 * shown.width
