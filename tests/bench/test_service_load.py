"""The service load test at tiny scale: the harness works and its accounting holds (not timing).

A real server process on loopback, the real pipeline, SQLite records. A queue of one makes the
second rate overflow for certain, so the 503 path and the no-loss check are both exercised.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import vehicle_folders

from bioexit.bench.service_load import Sent, run_service_load, summarize, verdict
from bioexit.errors import ConfigError
from bioexit.settings import load_settings

pytestmark = pytest.mark.slow


def test_a_tiny_load_run_loses_no_acknowledged_vehicle(simulated_lane: Path, tmp_path: Path) -> None:
    settings = load_settings(
        records={"data_dir": tmp_path / "records", "database_url": None},
        lane={"results_dir": tmp_path / "results"},
        service={"workers": 1, "queue": 1},
    )
    report = run_service_load(settings, simulated_lane, [0.5, 5.0], 2.0, tmp_path / "server.log", pause=0.5)
    low, high = report["rates"]
    assert (low["sent"], high["sent"]) == (1, 10)
    for step in report["rates"]:
        assert sum(step["status"].values()) == step["sent"]
    assert high["status"]["503"] > 0, "ten vehicles in two seconds overflow one worker and a queue of one"
    assert high["retry_after_on_every_503"] is True
    after = report["after"]
    assert after["health"] == 200 and after["ready"] == 200
    answered = 1 + low["status"]["200"] + high["status"]["200"]  # the warm-up vehicle too
    assert after["acknowledged"] == answered and after["acknowledged_missing"] == 0
    assert after["recorded"] == answered and after["recorded_without_2xx"] == 0
    assert report["vehicles_simulated"] == len(vehicle_folders(simulated_lane))


def test_the_verdict_is_the_highest_clean_rate_kept_up_with() -> None:
    def step(rate: float, statuses: list[int], latency: float, span: float) -> dict[str, object]:
        sent = [Sent(f"v{i}", i / rate, s, latency, s == 503) for i, s in enumerate(statuses)]
        return summarize(rate, 10.0, sent, span)

    steps = [
        step(0.5, [200] * 5, 2.0, 10.5),
        step(1.0, [200] * 10, 3.0, 10.5),
        step(2.0, [200] * 20, 9.0, 40.0),  # all answered, but only half as fast as offered
        step(4.0, [200] * 12 + [503] * 28, 20.0, 45.0),
    ]
    found = verdict(steps, timeout=30.0)
    assert found["sustained_at_offered_per_s"] == 1.0 and found["sustained_per_s"] == pytest.approx(0.952)
    assert found["first_saturated_offered_per_s"] == 2.0 and found["retry_after_on_every_503"] is True
    assert verdict(steps[:1], timeout=1.0)["sustained_per_s"] is None  # p95 over the timeout


def test_a_bad_plan_is_refused_before_anything_starts(tmp_path: Path) -> None:
    settings = load_settings(records={"data_dir": tmp_path / "records"})
    with pytest.raises(ConfigError, match="bad load plan"):
        run_service_load(settings, tmp_path, [0.0], 1.0, tmp_path / "server.log")
