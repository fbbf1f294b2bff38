"""One vehicle passing a lane: the encounter record that lane devices and the simulator write.

On disk an encounter is a folder holding ``encounter.json`` (schema: :data:`ENCOUNTER_SCHEMA_ID`,
exported by :func:`encounter_json_schema`) and the frame files it names. The model is pure data:
reading the frames is the job of the lane pipeline, which reports a bad frame (missing file,
unknown camera, corrupt image) as an error on that frame and goes on with the rest.
"""

from bioexit.encounters.model import (
    ENCOUNTER_FILE,
    ENCOUNTER_SCHEMA_ID,
    Camera,
    CameraPosition,
    DocumentRead,
    Encounter,
    FrameRef,
    encounter_json_schema,
    parse_encounter,
)

__all__ = [
    "ENCOUNTER_FILE",
    "ENCOUNTER_SCHEMA_ID",
    "Camera",
    "CameraPosition",
    "DocumentRead",
    "Encounter",
    "FrameRef",
    "encounter_json_schema",
    "parse_encounter",
]
