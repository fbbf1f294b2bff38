"""The encounter model (pydantic, frozen, unknown keys refused) and its published JSON Schema."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from bioexit.errors import EncounterFormatError

ENCOUNTER_SCHEMA_ID: Final = "bioexit.encounter/1"
ENCOUNTER_FILE = "encounter.json"

CameraPosition = Literal["windshield", "driver_side", "passenger_side", "rear_side", "overhead"]
_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Camera(_Strict):
    camera_id: str = Field(pattern=_ID)
    position: CameraPosition


class FrameRef(_Strict):
    """One frame: which camera took it, when, and its file relative to the encounter folder."""

    camera_id: str = Field(pattern=_ID)
    file: str = Field(min_length=1, max_length=255)
    captured_at: AwareDatetime

    @field_validator("file")
    @classmethod
    def _inside_folder(cls, value: str) -> str:
        # A frame path may not leave the encounter folder.
        if value.startswith(("/", "\\")) or ".." in value.replace("\\", "/").split("/"):
            raise ValueError(f"expected a path inside the encounter folder, got {value!r}")
        return value


class DocumentRead(_Strict):
    """A document presented in the vehicle, read by a card reader or from its MRZ."""

    source: Literal["card_reader", "mrz", "manual"]
    document_number: str = Field(min_length=1, max_length=20, repr=False)
    issuing_state: str | None = Field(None, pattern=r"^[A-Z<]{3}$")
    mrz: str | None = Field(None, repr=False, description="the raw MRZ lines, joined by newlines")


class Encounter(_Strict):
    schema_: Literal["bioexit.encounter/1"] = Field(ENCOUNTER_SCHEMA_ID, alias="schema")
    encounter_id: str = Field(pattern=_ID, description="unique per vehicle; processing is idempotent on it")
    port: str = Field(pattern=_ID)
    lane: str = Field(pattern=_ID)
    direction: Literal["outbound", "inbound"] = "outbound"
    started_at: AwareDatetime
    cameras: tuple[Camera, ...] = Field(min_length=1)
    frames: tuple[FrameRef, ...] = Field(min_length=1)
    documents: tuple[DocumentRead, ...] = ()
    plate: str | None = Field(None, max_length=16, repr=False)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("cameras")
    @classmethod
    def _unique_cameras(cls, value: tuple[Camera, ...]) -> tuple[Camera, ...]:
        ids = [camera.camera_id for camera in value]
        if len(set(ids)) != len(ids):
            raise ValueError(f"expected unique camera ids, got {ids}")
        return value

    def camera(self, camera_id: str) -> Camera | None:
        return next((c for c in self.cameras if c.camera_id == camera_id), None)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


def parse_encounter(data: str | bytes | dict[str, Any]) -> Encounter:
    """Validate ``encounter.json`` content; raise EncounterFormatError naming every problem."""
    try:
        if isinstance(data, dict):
            return Encounter.model_validate(data)
        return Encounter.model_validate_json(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        )
        message = f"encounter.json is not a valid {ENCOUNTER_SCHEMA_ID}: {problems}"
        raise EncounterFormatError(message) from None


def encounter_json_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of ``encounter.json``."""
    schema = Encounter.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = ENCOUNTER_SCHEMA_ID
    return schema
