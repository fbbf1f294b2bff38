from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from bioexit.cli import app
from bioexit.errors import RecordsError
from bioexit.records.reports import (
    Stay,
    days_in_window,
    departures_per_day,
    first_breach,
    overstays,
    rolling_stay,
    stays,
)
from bioexit.records.store import RecordsStore
from bioexit.records.types import DecisionRecord, EncounterRecord
from bioexit.settings import RecordsConfig

D = date(2026, 1, 1)


def day(offset: int) -> date:
    return D + timedelta(days=offset)


# --- the rolling rule, a pure function -------------------------------------------------------


def test_entry_and_exit_days_both_count() -> None:
    assert days_in_window([Stay(day(0), day(0))], day(0)) == 1
    assert days_in_window([Stay(day(0), day(9))], day(9)) == 10


def test_days_leave_the_window_as_it_rolls() -> None:
    stays_ = [Stay(day(0), day(89))]  # 90 days
    assert rolling_stay(stays_, day(89)).days_used == 90
    assert rolling_stay(stays_, day(179)).days_used == 90  # window day(0)..day(179)
    assert rolling_stay(stays_, day(180)).days_used == 89  # day(0) left the window
    assert rolling_stay(stays_, day(269)).days_used == 0


def test_exactly_90_is_allowed_and_91_is_over() -> None:
    ok = rolling_stay([Stay(day(0), day(89))], day(89))
    assert (ok.days_used, ok.days_left, ok.over_by) == (90, 0, 0)
    over = rolling_stay([Stay(day(0), day(90))], day(90))
    assert (over.days_used, over.days_left, over.over_by) == (91, 0, 1)


def test_several_stays_add_up_and_overlaps_count_once() -> None:
    trips = [Stay(day(0), day(29)), Stay(day(60), day(89)), Stay(day(120), day(149))]
    assert rolling_stay(trips, day(149)).days_used == 90
    assert first_breach([*trips, Stay(day(150), day(150))], day(200)) == day(150)
    assert days_in_window([Stay(day(0), day(9)), Stay(day(5), day(14))], day(14)) == 15


def test_an_open_stay_runs_to_the_day_asked_and_future_stays_do_not_count() -> None:
    assert days_in_window([Stay(day(100))], day(109)) == 10
    assert days_in_window([Stay(day(200), day(210))], day(100)) == 0


def test_first_breach_in_a_long_history() -> None:
    # 60 days in, 30 out, 60 in: the 91st day inside 180 is day 120 (60 + 31).
    trips = [Stay(day(0), day(59)), Stay(day(90))]
    assert first_breach(trips, day(400)) == day(120)
    assert first_breach([Stay(day(0), day(89))], day(400)) is None
    assert first_breach([], day(10)) is None


def test_bad_stays_and_rules_are_refused() -> None:
    with pytest.raises(RecordsError, match="ends before it starts"):
        Stay(day(5), day(4))
    with pytest.raises(RecordsError, match="rolling rule"):
        rolling_stay([], day(0), window_days=90, limit_days=180)
    with pytest.raises(RecordsError, match="rolling rule"):
        rolling_stay([], day(0), window_days=0)


def test_other_rolling_rules() -> None:
    trips = [Stay(day(0), day(20))]
    result = rolling_stay(trips, day(20), window_days=30, limit_days=14)
    assert (result.days_used, result.over_by) == (21, 7)


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


def test_stays_under_the_rolling_rule(store: RecordsStore, filled: dict[str, str]) -> None:
    rows = {r["traveller_id"]: r for r in stays(store, day(100))}
    assert rows["late"]["days_used"] == 41 and rows["on-time"]["days_used"] == 21
    assert rows["present"]["days_used"] == 101 and rows["present"]["over_by"] == 11
    assert "citizen" not in rows  # no entries, no stay


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
    result = runner.invoke(app, ["report", "stays", "--as-of", "yesterday"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
    result = runner.invoke(app, ["report", "stays", "--json", "--csv"])
    assert result.exit_code == 2
