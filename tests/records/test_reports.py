from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from bioexit.cli import app
from bioexit.errors import StayError
from bioexit.records.reports import departures_per_day, overstays, stays
from bioexit.records.store import RecordsStore
from bioexit.records.types import DecisionRecord, EncounterRecord
from bioexit.settings import RecordsConfig

D = date(2026, 1, 1)


def day(offset: int) -> date:
    return D + timedelta(days=offset)


# --- reports over the database ---------------------------------------------------------------


def depart(store: RecordsStore, encounter_id: str, traveller: str, at: datetime, lane: str = "L1") -> None:
    store.record_encounter(
        EncounterRecord(encounter_id, "P1", lane, at),
        [],
        [DecisionRecord(f"{encounter_id}-d", "confirmed", "1:1-document", None, traveller, 0.9)],
    )


def at(offset: int, hour: int = 12) -> datetime:
    return datetime.combine(day(offset), datetime.min.time(), UTC) + timedelta(hours=hour)


@pytest.fixture
def filled(store: RecordsStore) -> dict[str, str]:
    late = store.add_traveller("non_citizen", traveller_id="late")
    present = store.add_traveller("non_citizen", traveller_id="present")
    on_time = store.add_traveller("non_citizen", traveller_id="on-time")
    citizen = store.add_traveller("citizen", traveller_id="citizen")
    store.record_entry(late, port="P9", admitted_on=day(0), admit_until=day(30), entry_id="e-late")
    store.record_entry(present, port="P9", admitted_on=day(0), admit_until=day(30), entry_id="e-present")
    store.record_entry(on_time, port="P9", admitted_on=day(0), admit_until=day(30), entry_id="e-on-time")
    store.record_entry(late, port="P9", admitted_on=day(60), admit_until=day(90), entry_id="e-late-again")
    depart(store, "x1", late, at(40), "L1")
    depart(store, "x2", on_time, at(20), "L2")
    depart(store, "x3", citizen, at(20, 23), "L2")
    depart(store, "x4", citizen, at(21, 1), "L2")
    return {"late": late, "present": present, "on_time": on_time}


def test_overstays_as_of_a_date(store: RecordsStore, filled: dict[str, str]) -> None:
    rows = overstays(store, day(50))
    assert [(r["traveller_id"], r["status"], r["days_over"]) for r in rows] == [
        ("late", "departed_late", 10),
        ("present", "present", 20),
    ]
    # As of day 35 the late traveller had not left yet.
    assert [(r["traveller_id"], r["status"], r["days_over"]) for r in overstays(store, day(35))] == [
        ("late", "present", 5),
        ("present", "present", 5),
    ]
    assert overstays(store, day(30)) == []
    # Back again on day 60 and still present on day 100: each admission is its own row.
    assert [
        (r["entry_id"], r["status"], r["departed_on"], r["days_over"]) for r in overstays(store, day(100))
    ] == [
        ("e-late", "departed_late", day(40).isoformat(), 10),
        ("e-late-again", "present", None, 10),
        ("e-present", "present", None, 70),
    ]


def test_stays_under_the_rolling_rule(store: RecordsStore, filled: dict[str, str]) -> None:
    rows = {r["traveller_id"]: r for r in stays(store, day(100))}
    assert rows["present"] == {
        "traveller_id": "present",
        "on": day(100).isoformat(),
        "window_days": 180,
        "limit_days": 90,
        "days_used": 101,
        "days_left": 0,
        "over_by": 11,
    }
    # Two stays add up: days 0-40 and 60-100.
    assert (rows["late"]["days_used"], rows["late"]["days_left"], rows["late"]["over_by"]) == (82, 8, 0)
    assert rows["on-time"]["days_used"] == 21
    assert "citizen" not in rows  # no entries, no stay
    # On day 35 the late traveller's departure (day 40) is not yet known: present all 36 days.
    assert {r["traveller_id"]: r["days_used"] for r in stays(store, day(35))} == {
        "late": 36,
        "on-time": 21,
        "present": 36,
    }
    # Another rule: 14 days in any 30, over the window day 71 to day 100.
    rows = {r["traveller_id"]: r for r in stays(store, day(100), window_days=30, limit_days=14)}
    assert [(t, r["days_used"], r["over_by"]) for t, r in rows.items()] == [
        ("late", 30, 16),
        ("on-time", 0, 0),
        ("present", 30, 16),
    ]
    with pytest.raises(StayError, match="bad rolling rule"):
        stays(store, day(100), window_days=90, limit_days=180)


def test_departures_per_port_lane_and_day(store: RecordsStore, filled: dict[str, str]) -> None:
    rows = departures_per_day(store)
    assert rows == [
        {"port": "P1", "lane": "L1", "day": day(40).isoformat(), "departures": 1},
        {"port": "P1", "lane": "L2", "day": day(20).isoformat(), "departures": 2},
        {"port": "P1", "lane": "L2", "day": day(21).isoformat(), "departures": 1},
    ]
    assert departures_per_day(store, since=day(21), until=day(21)) == [rows[2]]


def test_report_commands_print_json_and_csv(
    store: RecordsStore,
    filled: dict[str, str],
    records_config: RecordsConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BIOEXIT_RECORDS__DATA_DIR", str(records_config.data_dir))
    if records_config.database_url:
        monkeypatch.setenv("BIOEXIT_RECORDS__DATABASE_URL", records_config.database_url)
    runner = CliRunner()
    result = runner.invoke(app, ["report", "overstays", "--as-of", day(50).isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    assert [r["traveller_id"] for r in json.loads(result.output)] == ["late", "present"]
    result = runner.invoke(app, ["report", "departures", "--csv"])
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["lane"], r["day"], r["departures"]) for r in table] == [
        ("L1", day(40).isoformat(), "1"),
        ("L2", day(20).isoformat(), "2"),
        ("L2", day(21).isoformat(), "1"),
    ]
    result = runner.invoke(app, ["report", "stays", "--as-of", day(100).isoformat(), "--csv"])
    assert result.exit_code == 0 and "days_used" in result.output.splitlines()[0]
    result = runner.invoke(app, ["report", "stays", "--window", "30", "--limit", "31"])
    assert result.exit_code == 2 and "rolling rule" in result.output
    result = runner.invoke(app, ["report", "stays", "--as-of", "yesterday"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
    result = runner.invoke(app, ["report", "stays", "--json", "--csv"])
    assert result.exit_code == 2
