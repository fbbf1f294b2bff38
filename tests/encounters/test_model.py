import json

import pytest

from bioexit.encounters import ENCOUNTER_SCHEMA_ID, encounter_json_schema, parse_encounter
from bioexit.errors import EncounterFormatError


def _raw(**changes: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "schema": ENCOUNTER_SCHEMA_ID,
        "encounter_id": "enc-1",
        "port": "P1",
        "lane": "L1",
        "started_at": "2026-11-22T08:00:00Z",
        "cameras": [{"camera_id": "cam-w", "position": "windshield"}],
        "frames": [{"camera_id": "cam-w", "file": "frames/0.jpg", "captured_at": "2026-11-22T08:00:00.1Z"}],
        "documents": [{"source": "mrz", "document_number": "L898902C3"}],
    }
    raw.update(changes)
    return raw


def test_round_trip_keeps_everything() -> None:
    encounter = parse_encounter(_raw())
    again = parse_encounter(encounter.to_json())
    assert again == encounter
    assert json.loads(encounter.to_json())["schema"] == ENCOUNTER_SCHEMA_ID
    assert "L898902C3" not in repr(encounter)  # document numbers stay out of logs


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"started_at": "2026-11-22T08:00:00"}, "started_at"),  # naive time
        ({"frames": []}, "frames"),
        ({"cameras": [{"camera_id": "a", "position": "windshield"}] * 2}, "cameras"),
        ({"frames": [{"camera_id": "c", "file": "../x.jpg", "captured_at": "2026-11-22T08:00:00Z"}]}, "file"),
        ({"colour": "red"}, "colour"),
        ({"schema": "bioexit.encounter/0"}, "schema"),
    ],
)
def test_bad_encounters_name_the_field(changes: dict[str, object], where: str) -> None:
    with pytest.raises(EncounterFormatError, match=where):
        parse_encounter(_raw(**changes))


def test_not_json_is_a_format_error() -> None:
    with pytest.raises(EncounterFormatError):
        parse_encounter(b"{not json")


def test_schema_is_published_and_strict() -> None:
    schema = encounter_json_schema()
    assert schema["$id"] == ENCOUNTER_SCHEMA_ID
    assert schema["additionalProperties"] is False
    assert {"encounter_id", "port", "lane", "started_at", "cameras", "frames"} <= set(schema["required"])
