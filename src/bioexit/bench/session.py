"""A lane session: simulated vehicles through the lane and the records, scored against the truth.

This is what ``bioexit lane session`` runs, the first thing a newcomer sees: the document
gallery is filed as travellers, every vehicle is processed and recorded exactly as a lane in
service would (:func:`bioexit.lane.recording.process_and_record_folder`: confirmed occupants
depart, the others wait for an officer), and each vehicle is compared with the simulator's
ground truth. Running it again replays the stored results: nothing is recorded twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bioexit.bench.lane import Tally, read_truth, system_run
from bioexit.lane.frames import read_encounter
from bioexit.lane.gallery import LaneGallery
from bioexit.lane.pipeline import LanePipeline
from bioexit.lane.recording import enrol_gallery, process_and_record_folder
from bioexit.lane.store import ResultStore
from bioexit.lanesim.writer import simulated_vehicles
from bioexit.records.store import RecordsStore
from bioexit.settings import Settings

REPORTED = (
    "vehicles",
    "all_occupants_captured_rate",
    "all_occupants_confirmed_rate",
    "occupant_fta_rate",
    "occupant_count_accuracy",
    "false_confirmations",
    "distractors_accepted_rate",
    "seconds_per_vehicle",
    "by_row",
)
"""The benchmark's keys that need no template scoring (see :mod:`bioexit.bench.lane`)."""


@dataclass(frozen=True)
class SessionVehicle:
    """One vehicle as the lane recorded it, beside what the simulator put in it."""

    encounter_id: str
    occupants: int  # in the vehicle (truth)
    found: int  # counted by the lane
    captured: int  # occupants with a capture that passed validation
    confirmed: int
    no_match: int
    not_captured: int
    departures: int
    pending_reviews: int
    replayed: bool  # recorded by an earlier run: the stored result came back
    seconds: float


def run_session(
    sim_dir: Path,
    store: RecordsStore,
    pipeline: LanePipeline,
    settings: Settings,
    results: ResultStore,
    on_vehicle: Callable[[SessionVehicle], None] | None = None,
) -> dict[str, Any]:
    """Enrol ``sim_dir/gallery``, record every simulated vehicle in order, and report."""
    folders = simulated_vehicles(sim_dir)
    enrolled = enrol_gallery(sim_dir / "gallery", store, pipeline.engine, settings)
    tally = Tally()
    unscored = LaneGallery(pipeline.engine.embedder.info)  # templates are not scored here
    vehicles: list[SessionVehicle] = []
    for folder in folders:
        encounter = read_encounter(folder)
        truth = read_truth(folder, encounter)
        replayed = store.acknowledgement(encounter.encounter_id) is not None
        started = time.perf_counter()
        recorded = process_and_record_folder(folder, store, pipeline, settings, results)
        seconds = time.perf_counter() - started
        result, ack = recorded.result, recorded.acknowledgement
        before = tally.captured
        tally.add(truth, system_run(result, [None] * result.occupant_count, seconds), unscored, {})
        statuses = [o.status for o in result.occupants]
        vehicle = SessionVehicle(
            encounter_id=result.encounter_id,
            occupants=len(truth.occupants),
            found=result.occupant_count,
            captured=tally.captured - before,
            confirmed=statuses.count("confirmed"),
            no_match=statuses.count("no_match"),
            not_captured=statuses.count("not_captured"),
            departures=len(ack.departures),
            pending_reviews=len(ack.pending_reviews),
            replayed=replayed,
            seconds=round(seconds, 3),
        )
        vehicles.append(vehicle)
        if on_vehicle is not None:
            on_vehicle(vehicle)
    scored = tally.report(pipeline.matcher.table.threshold(1e-3))
    report: dict[str, Any] = {key: scored[key] for key in REPORTED}
    report["travellers_enrolled"] = enrolled
    report["all_confirmed_rate"] = round(sum(v.confirmed == v.found > 0 for v in vehicles) / len(vehicles), 4)
    report["departures_recorded"] = sum(v.departures for v in vehicles)
    report["pending_reviews"] = sum(v.pending_reviews for v in vehicles)
    report["vehicle_results"] = [asdict(v) for v in vehicles]
    return report
