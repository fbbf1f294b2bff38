"""Reading an encounter folder (the IO edge of the lane): ``encounter.json`` and its frames.

A frame that cannot be used does not stop the vehicle: it becomes a :class:`FrameInput` holding
the typed error (missing file, unknown camera, refused or corrupt image) and the pipeline
records it in the result while it processes the other frames.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bioexit.detection.types import RGBImage
from bioexit.encounters import ENCOUNTER_FILE, Encounter, FrameRef, parse_encounter
from bioexit.errors import (
    BioexitError,
    EncounterFormatError,
    ImageError,
    ImageFileError,
    MissingFrameError,
    UnknownCameraError,
)
from bioexit.imaging import decode_image
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

    def fetch(ref: FrameRef) -> bytes | None:
        path = folder / ref.file
        if not path.is_file():
            return None
        try:
            with path.open("rb") as handle:
                return handle.read(limits.max_bytes + 1)  # one byte over the cap is enough to refuse
        except OSError as exc:
            raise ImageFileError("cannot read a frame", expected=f"a readable {path}", got=str(exc)) from None

    return decode_frames(encounter, fetch, limits, where=str(folder))


def decode_frames(
    encounter: Encounter,
    fetch: Callable[[FrameRef], bytes | None],
    limits: ImageLimits,
    *,
    where: str = "the submission",
) -> list[FrameInput]:
    """Decode every frame named by the encounter from the bytes ``fetch`` gives (None: absent).

    Frames never touch the disk this way: the service decodes uploads in memory.
    """
    frames = []
    for index, ref in enumerate(encounter.frames):
        error: BioexitError | None = camera_error(encounter, ref)
        image = None
        data = None
        if error is None:
            try:
                data = fetch(ref)
            except ImageError as exc:
                error = exc
        if error is None and data is None:
            error = MissingFrameError(
                f"frame {index} is missing", expected=f"a file {ref.file} in {where}", got="no such file"
            )
        if error is None and data is not None:
            try:
                image = decode_image(data, limits=limits, filename=ref.file)
            except ImageError as exc:
                error = exc
        frames.append(FrameInput(index, ref, image, error))
    return frames
