"""Vehicle lane commands: ``bioexit lane simulate``, ``process`` and ``schema``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from bioexit.cli._base import JsonOption, app, bench_app, cli_settings, emit, out, progress_bars, run
from bioexit.errors import ConfigError

if TYPE_CHECKING:
    from bioexit.settings import Settings

lane_app = typer.Typer(help="Vehicle lanes: simulate and process encounters.", no_args_is_help=True)
app.add_typer(lane_app, name="lane")


@lane_app.command("simulate")
def simulate(
    faces: Annotated[Path, typer.Option("--faces", help="labelled faces folder (with labels.csv)")],
    out_dir: Annotated[Path, typer.Option("--out", help="new or empty folder for the encounters")],
    vehicles: Annotated[int, typer.Option(help="how many vehicles", min=1)] = 10,
    seed: int = 0,
    difficulty: Annotated[str, typer.Option(help="easy | hard")] = "hard",
    as_json: JsonOption = False,
) -> None:
    """Simulate vehicles passing a lane: encounters, ground truth and the document gallery."""

    def action() -> None:
        from bioexit.engine import build_detector
        from bioexit.lanesim.params import difficulty_named
        from bioexit.lanesim.writer import simulate_lane

        level = difficulty_named(difficulty)
        settings = cli_settings()
        with progress_bars(not as_json) as progress:
            result = simulate_lane(
                faces,
                out_dir,
                vehicles=vehicles,
                seed=seed,
                difficulty=level,
                detector=build_detector(settings.detector),
                limits=settings.images,
                progress=progress,
            )

        def render(r: dict[str, Any]) -> None:
            out.print(f"wrote {r['vehicles']} vehicles to {out_dir}")
            out.print_json(data=r["counts"])

        emit(result, as_json, render)

    run(action)


@lane_app.command("process")
def lane_process(
    encounter_dir: Annotated[Path, typer.Argument(help="an encounter folder (encounter.json and frames)")],
    gallery: Annotated[Path, typer.Option("--gallery", help="gallery folder (gallery.json and photos)")],
    results: Annotated[
        Path | None, typer.Option("--results", help="results folder (default: settings lane.results_dir)")
    ] = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="keep the result (idempotent)")] = True,
    as_json: JsonOption = False,
) -> None:
    """Find every occupant of one vehicle and decide on each: confirmed, no_match or not_captured.

    The result is stored under the encounter id; processing the same encounter again returns the
    stored result."""

    def action() -> None:
        from bioexit.lane.frames import read_encounter
        from bioexit.lane.gallery import read_gallery
        from bioexit.lane.pipeline import build_pipeline, process_folder
        from bioexit.lane.store import ResultStore

        settings = cli_settings()
        encounter = read_encounter(encounter_dir)  # a bad folder fails before any model loads
        result_store = ResultStore(results or settings.lane.results_dir) if store else None
        result = result_store.get(encounter.encounter_id) if result_store else None
        stored = result is not None
        if result is None:
            pipeline = build_pipeline(settings)
            references = read_gallery(gallery, pipeline.engine, settings.images)
            result, stored = process_folder(encounter_dir, references, pipeline, result_store, settings)
        payload = json.loads(result.to_json())

        def render(r: dict[str, Any]) -> None:
            table = Table("occupant", "status", "identity", "score", "cameras", "frames", "reason")
            for o in r["occupants"]:
                colour = {"confirmed": "green", "no_match": "yellow", "not_captured": "red"}[o["status"]]
                table.add_row(
                    o["occupant_id"],
                    f"[{colour}]{o['status']}[/]",
                    o["identity"] or "-",
                    "-" if o["score"] is None else f"{o['score']:.3f}",
                    ",".join(o["cameras"]),
                    str(o["frames_seen"]),
                    o["reason"],
                )
            out.print(table)
            out.print(
                f"{r['encounter_id']}: {r['occupant_count']} occupants, all confirmed: {r['all_confirmed']}, "
                f"{len(r['rejected'])} non-occupant faces rejected, {len(r['frame_errors'])} bad frames"
                + (" (stored result)" if stored else "")
            )
            for e in r["frame_errors"]:
                out.print(f"frame {e['frame']} ({e['file']}): {e['error']}: {e['message']}", markup=False)

        emit(payload, as_json, render)

    run(action)


@lane_app.command("schema")
def lane_schema(
    which: Annotated[str, typer.Argument(help="encounter | result")] = "result",
) -> None:
    """Print the published JSON Schema of encounter.json or of a vehicle result."""

    def action() -> None:
        from bioexit.encounters import encounter_json_schema
        from bioexit.lane.result import result_json_schema

        schemas = {"encounter": encounter_json_schema, "result": result_json_schema}
        if which not in schemas:
            raise ConfigError("unknown schema", expected="encounter or result", got=which)
        emit(schemas[which](), True, lambda _r: None)

    run(action)


def simulation(
    faces: Path,
    out_dir: Path,
    vehicles: int,
    seed: int,
    difficulty: str,
    settings: Settings,
    progress: Callable[[str, int, int], None],
) -> Path:
    """OUT/sim-<difficulty>-<seed>-<vehicles>, simulated unless it is already there."""
    from bioexit.engine import build_detector
    from bioexit.lanesim.params import difficulty_named
    from bioexit.lanesim.writer import simulate_lane

    level = difficulty_named(difficulty)
    sim_dir = out_dir / f"sim-{level}-{seed}-{vehicles}"
    if not (sim_dir / "simulation.json").is_file():
        simulate_lane(
            faces,
            sim_dir,
            vehicles=vehicles,
            seed=seed,
            difficulty=level,
            detector=build_detector(settings.detector),
            limits=settings.images,
            progress=progress,
        )
    return sim_dir


@bench_app.command("lane")
def bench_lane(
    faces: Annotated[Path, typer.Option("--faces", help="labelled faces folder (with labels.csv)")],
    vehicles: Annotated[int, typer.Option(help="how many vehicles to simulate", min=1)] = 20,
    seed: int = 0,
    difficulty: Annotated[str, typer.Option(help="easy | hard")] = "hard",
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the simulation, report and plot")] = Path(
        "lane-bench"
    ),
    baselines: Annotated[
        bool, typer.Option("--baselines/--no-baselines", help="also run single_shot and face_recognition")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Simulate a lane session, process every vehicle, score it against the truth (and the baselines).

    The simulation goes to OUT/sim-<difficulty>-<seed>-<vehicles> and is reused when it is
    already there; the report to OUT/lane-report.json, the plot to OUT/capture-by-row.png."""

    def action() -> None:
        from bioexit.bench.lane import (
            Baseline,
            face_recognition_baseline,
            plot_capture_by_row,
            run_lane_bench,
            single_shot_baseline,
        )
        from bioexit.errors import BioexitError
        from bioexit.lane.gallery import read_gallery
        from bioexit.lane.pipeline import build_pipeline

        settings = cli_settings()
        with progress_bars(not as_json) as progress:
            sim_dir = simulation(faces, out_dir, vehicles, seed, difficulty, settings, progress)
            pipeline = build_pipeline(settings)
            gallery = read_gallery(
                sim_dir / "gallery", pipeline.engine, settings.images, lambda d, n: progress("gallery", d, n)
            )
            systems: dict[str, Baseline | str] = {}
            if baselines:
                systems["single_shot"] = single_shot_baseline(gallery, pipeline)
                try:
                    systems["face_recognition"] = face_recognition_baseline(sim_dir, settings)
                except BioexitError as exc:
                    systems["face_recognition"] = f"{type(exc).__name__}: {exc}"
            report = run_lane_bench(
                sim_dir, settings, pipeline, gallery, baselines=systems, progress=progress
            )
        report["simulation"] = str(sim_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "lane-report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        plot_capture_by_row(report, out_dir / "capture-by-row.png")
        report["plot"] = str(out_dir / "capture-by-row.png")

        def render(r: dict[str, Any]) -> None:
            keys = (
                "vehicles",
                "all_occupants_captured_rate",
                "all_occupants_confirmed_rate",
                "occupant_fta_rate",
                "occupant_count_accuracy",
                "false_confirmations",
                "distractors_accepted_rate",
                "tir_at_fpir_0.003",
                "fnmr_at_fmr_0.001",
                "seconds_per_vehicle",
            )
            table = Table("metric", "lane", *r["baselines"])
            for key in keys:
                table.add_row(
                    key, str(r.get(key)), *(str(b.get(key, b.get("error"))) for b in r["baselines"].values())
                )
            out.print(table)
            out.print(f"plot: {r['plot']}")

        emit(report, as_json, render)

    run(action)
