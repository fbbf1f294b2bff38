"""The vehicle result: published schema in step with the model, and its consistency rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bioexit.encounters import encounter_json_schema
from bioexit.errors import StoredResultError
from bioexit.lane.result import (
    RESULT_SCHEMA_ID,
    Box,
    Capture,
    Occupant,
    VehicleResult,
    parse_result,
    result_json_schema,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def test_published_schemas_are_in_step_with_the_models() -> None:
    # Regenerate with: bioexit lane schema result > docs/schemas/vehicle-result.schema.json
    assert json.loads((DOCS / "vehicle-result.schema.json").read_text()) == result_json_schema()
    assert json.loads((DOCS / "encounter.schema.json").read_text()) == encounter_json_schema()
    schema = result_json_schema()
    assert schema["$id"] == RESULT_SCHEMA_ID and schema["additionalProperties"] is False


def _capture() -> Capture:
    box = Box(camera_id="c", frame=0, x1=0, y1=0, x2=10, y2=10)
    return Capture(box=box, detection_score=0.99, quality=90.0, passed=True)


def _occupant(**kw: object) -> Occupant:
    base: dict[str, object] = {
        "occupant_id": "occ-1",
        "status": "confirmed",
        "identity": "p",
        "reason": "r",
        "cameras": ("c",),
        "frames_seen": 1,
        "track": (_capture().box,),
        "captures": (_capture(),),
    }
    return Occupant(**{**base, **kw})  # type: ignore[arg-type]


def _result(occupants: tuple[Occupant, ...], **kw: object) -> VehicleResult:
    confirmed = [o for o in occupants if o.status == "confirmed"]
    base: dict[str, object] = {
        "encounter_id": "e",
        "port": "p",
        "lane": "l",
        "direction": "outbound",
        "mode": "gallery",
        "model": "m@1",
        "quality_profile": "q",
        "fmr": 0.001,
        "occupant_count": len(occupants),
        "all_confirmed": bool(occupants) and len(confirmed) == len(occupants),
        "occupants": occupants,
        "departures": tuple({"occupant_id": o.occupant_id, "identity": o.identity} for o in confirmed),
        "unmatched_documents": (),
        "rejected": (),
        "frame_errors": (),
        "frames_used": 1,
        "seconds": 0.1,
    }
    return VehicleResult(**{**base, **kw})  # type: ignore[arg-type]


def test_a_result_round_trips() -> None:
    result = _result((_occupant(),))
    assert parse_result(result.to_json()) == result
    assert json.loads(result.to_json())["schema"] == RESULT_SCHEMA_ID


@pytest.mark.parametrize(
    ("occupant", "match"),
    [
        ({"identity": None}, "identity is set exactly"),
        ({"status": "no_match"}, "identity is set exactly"),
        ({"status": "not_captured", "identity": None}, "no passing capture"),
        ({"status": "no_match", "identity": None, "captures": ()}, "needs a passing capture"),
    ],
)
def test_occupant_status_rules(occupant: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        _occupant(**occupant)


def test_only_confirmed_occupants_depart() -> None:
    with pytest.raises(ValidationError, match="departures"):
        _result((_occupant(),), departures=())
    officer = _occupant(status="no_match", identity=None)
    with pytest.raises(ValidationError, match="departures"):
        _result((officer,), departures=({"occupant_id": "occ-1", "identity": "p"},))
    with pytest.raises(ValidationError, match="all_confirmed"):
        _result((officer,), all_confirmed=True)
    assert not _result(()).all_confirmed


def test_a_damaged_stored_result_is_a_clear_error() -> None:
    with pytest.raises(StoredResultError, match="vehicle-result"):
        parse_result(b'{"schema": "bioexit.vehicle-result/1"}')
