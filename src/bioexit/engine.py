"""The face engine: detector + aligner + embedder, each chosen by its config ``kind``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bioexit.alignment import align
from bioexit.detection.types import Detection, Detector, RGBImage
from bioexit.embedding.types import Embedder, ModelInfo, Template
from bioexit.errors import CalibrationError
from bioexit.matching import CalibrationTable, Matcher, shipped_table
from bioexit.settings import (
    ArcfaceOnnxEmbedderConfig,
    DetectorConfig,
    DlibHogDetectorConfig,
    DlibResnetEmbedderConfig,
    EmbedderConfig,
    MtcnnDetectorConfig,
    Settings,
    YunetOnnxDetectorConfig,
)


def build_detector(config: DetectorConfig) -> Detector:
    """Config → detector. Nothing is loaded until the first ``detect``."""
    if isinstance(config, MtcnnDetectorConfig):
        from bioexit.detection.mtcnn import MtcnnDetector

        return MtcnnDetector(config)
    if isinstance(config, DlibHogDetectorConfig):
        from bioexit.detection.dlib_hog import DlibHogDetector

        return DlibHogDetector(config)
    if isinstance(config, YunetOnnxDetectorConfig):
        from bioexit.detection.yunet import YunetOnnxDetector

        return YunetOnnxDetector(config)
    raise TypeError(f"unknown detector config {type(config).__name__}")


def build_embedder(config: EmbedderConfig) -> Embedder:
    """Config → embedder. Nothing is loaded until the first ``embed``."""
    if isinstance(config, DlibResnetEmbedderConfig) and config.runtime == "onnx":
        from bioexit.embedding.dlib_onnx import DlibResnetOnnxEmbedder

        return DlibResnetOnnxEmbedder(threads=config.threads)
    if isinstance(config, DlibResnetEmbedderConfig):
        from bioexit.embedding.dlib_resnet import DlibResnetEmbedder

        return DlibResnetEmbedder(config)
    if isinstance(config, ArcfaceOnnxEmbedderConfig):
        from bioexit.embedding.arcface_onnx import ArcfaceOnnxEmbedder

        return ArcfaceOnnxEmbedder(config)
    raise TypeError(f"unknown embedder config {type(config).__name__}")


def calibration_table(config: EmbedderConfig, info: ModelInfo) -> CalibrationTable:
    """The embedder's impostor-score table: the configured file, else the one bioexit ships."""
    path = getattr(config, "calibration", None)
    if path is None:
        return shipped_table(info)
    try:
        table = CalibrationTable.from_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CalibrationError(
            "cannot read calibration table", expected="a readable JSON file", got=str(path)
        ) from exc
    table.require_model(info)
    return table


def build_matcher(settings: Settings, info: ModelInfo, fmr: float | None = None) -> Matcher:
    """A matcher at ``fmr`` (default: the settings') with the embedder's calibration table."""
    return Matcher(calibration_table(settings.embedder, info), fmr or settings.matching.fmr)


@dataclass(frozen=True, slots=True)
class Face:
    detection: Detection
    template: Template


class FaceEngine:
    def __init__(self, detector: Detector, embedder: Embedder) -> None:
        self.detector = detector
        self.embedder = embedder

    @classmethod
    def from_settings(cls, settings: Settings) -> FaceEngine:
        return cls(build_detector(settings.detector), build_embedder(settings.embedder))

    def embed_detections(self, image: RGBImage, detections: Sequence[Detection]) -> list[Face]:
        crop = self.embedder.info.crop
        chips = [align(image, d.landmarks, crop) for d in detections]
        return [Face(d, t) for d, t in zip(detections, self.embedder.embed(chips), strict=True)]

    def faces(self, image: RGBImage) -> list[Face]:
        """Every face in the image with its template, highest detection score first."""
        return self.embed_detections(image, self.detector.detect(image))

    def largest_face(self, image: RGBImage) -> Face | None:
        """The largest face (a portrait or a single-person photo), or None."""
        detections = self.detector.detect(image)
        if not detections:
            return None
        biggest = max(detections, key=lambda d: d.width * d.height)
        return self.embed_detections(image, [biggest])[0]
