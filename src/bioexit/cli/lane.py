"""Vehicle lane commands: ``bioexit lane simulate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bioexit.cli._base import JsonOption, app, cli_settings, emit, out, progress_bars, run

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
        from bioexit.errors import ConfigError
        from bioexit.lanesim.writer import simulate_lane

        if difficulty not in ("easy", "hard"):
            raise ConfigError("unknown difficulty", expected="easy or hard", got=difficulty)
        settings = cli_settings()
        with progress_bars(not as_json) as progress:
            result = simulate_lane(
                faces,
                out_dir,
                vehicles=vehicles,
                seed=seed,
                difficulty="easy" if difficulty == "easy" else "hard",
                detector=build_detector(settings.detector),
                limits=settings.images,
                progress=progress,
            )

        def render(r: dict[str, Any]) -> None:
            out.print(f"wrote {r['vehicles']} vehicles to {out_dir}")
            out.print_json(data=r["counts"])

        emit(result, as_json, render)

    run(action)
