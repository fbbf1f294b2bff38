"""The lane wired to the records: ``bioexit lane enrol`` and ``bioexit lane record``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from bioexit.cli._base import JsonOption, cli_settings, emit, out, run
from bioexit.cli.lane import lane_app


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
