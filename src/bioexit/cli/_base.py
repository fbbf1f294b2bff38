"""What every ``bioexit`` command shares: the apps, options, settings, output and error handling.

Command modules beside this one register on ``app`` or ``bench_app``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bioexit.errors import BioexitError, ConfigError
from bioexit.settings import Settings, load_settings

app = typer.Typer(help="bioexit: biometric exit at border crossings.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that print JSON results.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

err = Console(stderr=True, soft_wrap=True)  # error lines stay whole in logs
out = Console()

ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML config file", exists=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="print the result as JSON")]
DataOption = Annotated[Path | None, typer.Option("--data", help="labelled faces folder (with labels.csv)")]

_state: dict[str, Any] = {}


@app.callback()
def _main(config: ConfigOption = None) -> None:
    _state["config"] = config


def cli_settings(**overrides: Any) -> Settings:
    return load_settings(_state.get("config"), **overrides)


def data_dir(data: Path | None, settings: Settings) -> Path:
    path = data or settings.data_dir
    if path is None:
        raise ConfigError("no data folder", expected="--data DIR or BIOEXIT_DATA_DIR", got="neither")
    return path


def emit(result: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    else:
        render(result)


@contextmanager
def progress_bars(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    """Rich progress bars on stderr (so --json output stays clean); one bar per stage."""
    if not enabled:
        yield lambda _stage, _done, _total: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as bars:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield update


def run(action: Callable[[], None]) -> None:
    try:
        action()
    except BioexitError as exc:
        err.print(f"[bold red]error[/] ({type(exc).__name__}): {escape(str(exc))}")
        raise typer.Exit(2) from exc
