"""observe(): each face of a frame is assessed beside the frame's other faces."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import numpy as np

from bioexit.detection.types import Detection
from bioexit.encounters import FrameRef
from bioexit.fakes import FakeDetector
from bioexit.lane.frames import FrameInput
from bioexit.lane.pipeline import observe
from bioexit.quality import DEFAULT_PROFILE


def _face(x1: float, y1: float, x2: float, y2: float) -> Detection:
    w, h = x2 - x1, y2 - y1
    marks = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]], np.float32) * np.array(
        [w, h], np.float32
    ) + np.array([x1, y1], np.float32)
    return Detection(x1, y1, x2, y2, 0.99, marks)


def test_a_rear_face_partly_behind_a_nearer_head_reads_its_overlap() -> None:
    rear, front = _face(100, 100, 160, 170), _face(140, 90, 240, 210)
    detector = FakeDetector(lambda _i: [rear, front])
    pipeline: Any = SimpleNamespace(engine=SimpleNamespace(detector=detector), profile=DEFAULT_PROFILE)
    image = np.random.default_rng(0).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    ref = FrameRef(file="f0.jpg", camera_id="cam1", captured_at=datetime(2026, 3, 2, tzinfo=UTC))
    found = {
        o.detection.x1: o.quality.head_overlap for o in observe(FrameInput(0, ref, image, None), 0, pipeline)
    }
    assert found[100] > 0.4  # about half of the rear face lies under the front head
    assert found[140] == 0.0  # the nearer face hides nothing
