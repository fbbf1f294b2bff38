"""``bioexit bench quality``: error versus discard and the quality-profile calibration on simulated lanes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bioexit.cli._base import JsonOption, bench_app, cli_settings, emit, out, progress_bars, run


@bench_app.command("quality")
def bench_quality(
    faces: Annotated[Path, typer.Option("--faces", help="labelled faces folder (with labels.csv)")],
    vehicles: Annotated[int, typer.Option(help="simulated vehicles", min=2)] = 60,
    seed: int = 0,
    difficulty: Annotated[str, typer.Option(help="easy | hard")] = "hard",
    out_dir: Annotated[Path, typer.Option("--out", help="where the simulation, JSON and PNG go")] = Path(
        "out/bench-quality"
    ),
    as_json: JsonOption = False,
) -> None:
    """FNMR at FMR 1e-3 against the fraction discarded by quality; calibrates the profile's limits."""

    def action() -> None:
        from bioexit.bench.quality import QualityBenchOptions, run_quality_bench
        from bioexit.engine import FaceEngine, build_matcher
        from bioexit.lanesim.params import difficulty_named
        from bioexit.lanesim.writer import simulate_lane
        from bioexit.quality import lane_profile

        level = difficulty_named(difficulty)
        settings = cli_settings()
        engine = FaceEngine.from_settings(settings)
        options = QualityBenchOptions(vehicles=vehicles, seed=seed, difficulty=level)
        threshold = build_matcher(settings, engine.embedder.info, options.fmr).threshold
        simulation = out_dir / f"sim-{level}-{seed}-{vehicles}"
        with progress_bars(True) as progress:
            if not (simulation / "simulation.json").is_file():
                simulate_lane(
                    faces,
                    simulation,
                    vehicles=vehicles,
                    seed=seed,
                    difficulty=level,
                    detector=engine.detector,
                    limits=settings.images,
                    progress=progress,
                )
            result = run_quality_bench(
                simulation,
                engine,
                threshold,
                lane_profile(settings.lane.quality_profile, settings.detector.kind),
                options,
                settings.images,
                plot=out_dir / "error_versus_discard.png",
                progress=progress,
                records=out_dir / "captures.jsonl",
            )
        (out_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        emit(result, as_json, lambda r: out.print_json(data=r))

    run(action)
