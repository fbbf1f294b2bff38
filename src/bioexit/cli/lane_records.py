"""The lane wired to the records: ``bioexit lane enrol`` and ``bioexit lane record``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bioexit.cli._base import JsonOption, cli_settings, emit, out, progress_bars, run
from bioexit.cli.lane import lane_app, simulation


@lane_app.command("enrol")
def lane_enrol(
    gallery: Annotated[Path, typer.Argument(help="gallery folder (gallery.json and document photos)")],
    as_json: JsonOption = False,
) -> None:
    """File a gallery's people in the records: travellers, documents, sealed photo templates."""

    def action() -> None:
        from bioexit.engine import FaceEngine
        from bioexit.lane.recording import enrol_gallery
        from bioexit.records.store import RecordsStore

        settings = cli_settings()
        with RecordsStore.open(settings.records) as store:
            added = enrol_gallery(gallery, store, FaceEngine.from_settings(settings), settings)
        emit(
            {"travellers_added": added},
            as_json,
            lambda r: out.print(f"{r['travellers_added']} travellers added"),
        )

    run(action)


@lane_app.command("record")
def lane_record(
    encounter_dirs: Annotated[list[Path], typer.Argument(help="encounter folders, processed in order")],
    as_json: JsonOption = False,
) -> None:
    """Process vehicles against the records' galleries and record them: confirmed occupants depart,
    the others wait for an officer. Idempotent on the encounter id."""

    def action() -> None:
        from bioexit.lane.pipeline import build_pipeline
        from bioexit.lane.recording import process_and_record_folder
        from bioexit.lane.store import ResultStore
        from bioexit.records.store import RecordsStore

        settings = cli_settings()
        pipeline = build_pipeline(settings)
        results = ResultStore(settings.lane.results_dir)
        rows: list[dict[str, Any]] = []
        with RecordsStore.open(settings.records) as store:
            for folder in encounter_dirs:
                recorded = process_and_record_folder(folder, store, pipeline, settings, results)
                rows.append(
                    {
                        "result": json.loads(recorded.result.to_json()),
                        "acknowledgement": asdict(recorded.acknowledgement),
                    }
                )

        def render(items: list[dict[str, Any]]) -> None:
            for item in items:
                result, ack = item["result"], item["acknowledgement"]
                statuses = ", ".join(f"{o['occupant_id']} {o['status']}" for o in result["occupants"])
                again = " (recorded before)" if ack["duplicate"] else ""
                out.print(
                    f"{result['encounter_id']}: {statuses or 'no occupant'}; "
                    f"{len(ack['departures'])} departures, "
                    f"{len(ack['pending_reviews'])} for an officer{again}"
                )

        emit(rows, as_json, render)

    run(action)


@lane_app.command("session")
def lane_session(
    faces: Annotated[Path, typer.Option("--faces", help="labelled faces folder (with labels.csv)")],
    vehicles: Annotated[int, typer.Option(help="how many vehicles pass the lane", min=1)] = 12,
    seed: int = 7,
    difficulty: Annotated[str, typer.Option(help="easy | hard")] = "hard",
    out_dir: Annotated[
        Path, typer.Option("--out", help="session folder: simulation, records (SQLite) and results")
    ] = Path("lane-session"),
    as_json: JsonOption = False,
) -> None:
    """Simulate a lane session and run it as a port would: enrol the document gallery, process and
    record every vehicle (confirmed occupants depart, the rest wait for an officer), then report
    against the simulator's truth. The session keeps its own records in OUT/records; running it
    again replays the stored results and records nothing twice."""

    def action() -> None:
        from bioexit.bench.session import SessionVehicle, run_session
        from bioexit.lane.pipeline import build_pipeline
        from bioexit.lane.store import ResultStore
        from bioexit.records.store import RecordsStore
        from bioexit.settings import RecordsConfig

        configured = cli_settings()
        # Self-contained: the session never writes into the configured records.
        settings = configured.model_copy(update={"records": RecordsConfig(data_dir=out_dir / "records")})
        with progress_bars(not as_json) as progress:
            sim_dir = simulation(faces, out_dir, vehicles, seed, difficulty, settings, progress)

        def show(v: SessionVehicle) -> None:
            if as_json:
                return
            again = " (recorded before)" if v.replayed else ""
            out.print(
                f"{v.encounter_id}: {v.found} of {v.occupants} occupants found, {v.captured} captured; "
                f"{v.confirmed} confirmed, {v.no_match} no match, {v.not_captured} not captured → "
                f"{v.departures} departures, {v.pending_reviews} for an officer; {v.seconds:.1f} s{again}"
            )

        with RecordsStore.open(settings.records) as store:
            report = run_session(
                sim_dir, store, build_pipeline(settings), settings, ResultStore(out_dir / "results"), show
            )
        report["session"] = str(out_dir)

        def render(r: dict[str, Any]) -> None:
            table = Table("lane session", "")
            for key in (
                "vehicles",
                "all_occupants_captured_rate",
                "all_confirmed_rate",
                "all_occupants_confirmed_rate",
                "occupant_count_accuracy",
                "false_confirmations",
                "distractors_accepted_rate",
                "departures_recorded",
                "pending_reviews",
            ):
                table.add_row(key, str(r[key]))
            seconds = r["seconds_per_vehicle"]
            table.add_row("seconds per vehicle p50 / p95", f"{seconds['p50']} / {seconds['p95']}")
            table.add_row("records", str(out_dir / "records"))
            out.print(table)

        emit(report, as_json, render)

    run(action)
