"""Reading an encounter folder (the IO edge of the lane): ``encounter.json`` and its frames.

A frame that cannot be used does not stop the vehicle: it becomes a :class:`FrameInput` holding
the typed error (missing file, unknown camera, refused or corrupt image) and the pipeline
records it in the result while it processes the other frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bioexit.detection.types import RGBImage
from bioexit.encounters import ENCOUNTER_FILE, Encounter, FrameRef, parse_encounter
from bioexit.errors import (
    BioexitError,
    EncounterFormatError,
    ImageError,
    MissingFrameError,
    UnknownCameraError,
)
from bioexit.imaging import read_image
from bioexit.settings import ImageLimits


@dataclass(frozen=True, slots=True)
class FrameInput:
    """One frame of an encounter: its pixels, or the error that kept them from us."""

    index: int
    ref: FrameRef
    image: RGBImage | None
    error: BioexitError | None

    def __post_init__(self) -> None:
        if (self.image is None) == (self.error is None):
            raise ValueError("a FrameInput holds either an image or an error")


def read_encounter(folder: Path) -> Encounter:
    """Parse ``folder/encounter.json``; EncounterFormatError if it is missing or invalid."""
    path = folder / ENCOUNTER_FILE
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise EncounterFormatError(
            "cannot read the encounter", expected=f"a readable {path}", got=type(exc).__name__
        ) from None
    try:
        json.loads(text)
    except ValueError as exc:
        raise EncounterFormatError(f"{path} is not JSON: {exc}") from None
    return parse_encounter(text)


def camera_error(encounter: Encounter, ref: FrameRef) -> UnknownCameraError | None:
    if encounter.camera(ref.camera_id) is not None:
        return None
    known = ", ".join(c.camera_id for c in encounter.cameras)
    return UnknownCameraError(
        f"frame {ref.file} names an unknown camera", expected=f"one of {known}", got=ref.camera_id
    )


def read_frames(folder: Path, encounter: Encounter, limits: ImageLimits) -> list[FrameInput]:
    """Decode every frame named by the encounter; each bad one carries its own error."""
    frames = []
    for index, ref in enumerate(encounter.frames):
        error: BioexitError | None = camera_error(encounter, ref)
        image = None
        path = folder / ref.file
        if error is None and not path.is_file():
            error = MissingFrameError(
                f"frame {index} is missing", expected=f"a file {ref.file} in {folder}", got="no such file"
            )
        if error is None:
            try:
                image = read_image(path, limits=limits)
            except ImageError as exc:
                error = exc
        frames.append(FrameInput(index, ref, image, error))
    return frames
