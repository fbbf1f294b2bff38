"""``bioexit bench service``: the service under open-loop load on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bioexit.cli._base import JsonOption, bench_app, cli_settings, emit, out, progress_bars, run
from bioexit.errors import ConfigError


def _rates(text: str) -> list[float]:
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError("bad --rates", expected="comma-separated vehicles per second", got=text) from None
    if not rates or any(r <= 0 for r in rates):
        raise ConfigError("bad --rates", expected="positive vehicles per second", got=text)
    return sorted(rates)


@bench_app.command("service")
def bench_service(
    faces: Annotated[Path, typer.Option("--faces", help="labelled faces folder (with labels.csv)")],
    rates: Annotated[
        str, typer.Option(help="offered vehicles per second, comma-separated")
    ] = "0.1,0.2,0.4,0.8,1.6",
    duration: Annotated[float, typer.Option(help="seconds of load at each rate", min=1.0)] = 20.0,
    vehicles: Annotated[int, typer.Option(help="distinct simulated vehicles (sent in turn)", min=1)] = 8,
    seed: int = 7,
    out_dir: Annotated[
        Path, typer.Option("--out", help="folder for the simulation, server log and report")
    ] = Path("service-bench"),
    as_json: JsonOption = False,
) -> None:
    """Start the service on loopback (SQLite in a temporary folder), send simulated vehicles at each
    rate, open loop, and report throughput, latency, 503s and whether any acknowledged vehicle was lost.

    The simulation goes to OUT/sim-<seed>-<vehicles> and is reused; the report to
    OUT/service-load.json, the server's log to OUT/server.log."""

    def action() -> None:
        import tempfile

        from bioexit.bench.dataset import load_dataset
        from bioexit.bench.service_load import run_service_load
        from bioexit.engine import build_detector
        from bioexit.lanesim.writer import load_cast, write_simulation

        plan = _rates(rates)
        base = cli_settings()
        simulation = out_dir / f"sim-{seed}-{vehicles}"
        with progress_bars(not as_json) as progress, tempfile.TemporaryDirectory() as folder:
            if not (simulation / "simulation.json").is_file():
                cast = load_cast(
                    load_dataset(faces), seed, build_detector(base.detector), base.images, progress=progress
                )
                write_simulation(
                    cast, simulation, vehicles=vehicles, seed=seed, difficulty="easy", limits=base.images
                )
            settings = cli_settings(
                records={"data_dir": Path(folder) / "records", "database_url": None},
                lane={"results_dir": Path(folder) / "results"},
            )
            out_dir.mkdir(parents=True, exist_ok=True)
            report = run_service_load(
                settings, simulation, plan, duration, out_dir / "server.log", progress=progress
            )
        report["simulation"] = str(simulation)
        (out_dir / "service-load.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

        def render(r: dict[str, Any]) -> None:
            table = Table("offered/s", "achieved/s", "200", "503", "429", "other", "p50 s", "p95 s", "p99 s")
            for step in r["rates"]:
                s, lat = step["status"], step["latency_s"]
                table.add_row(
                    str(step["offered_per_s"]),
                    str(step["achieved_per_s"]),
                    *(str(s[k]) for k in ("200", "503", "429", "other")),
                    *(str(lat[k]) for k in ("p50", "p95", "p99")),
                )
            out.print(table)
            out.print(f"verdict: {r['verdict']}")
            out.print(f"after: {r['after']}")

        emit(report, as_json, render)

    run(action)
