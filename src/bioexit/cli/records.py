"""Records commands: db upgrade, report overstays|stays|departures, keys rotate, audit verify,
retention policy|sweep, records reconcile."""

from __future__ import annotations

import csv
import io
import sys
from datetime import date, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from bioexit.cli._base import JsonOption, app, bench_app, cli_settings, emit, out, run
from bioexit.errors import ConfigError

db_app = typer.Typer(help="The records database.", no_args_is_help=True)
report_app = typer.Typer(help="Reports over the departure records (--json or --csv).", no_args_is_help=True)
keys_app = typer.Typer(help="Master keys of the sealed biometrics.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention policy and sweeper.", no_args_is_help=True)
records_app = typer.Typer(help="Records maintenance.", no_args_is_help=True)
for _sub, _name in (
    (db_app, "db"),
    (report_app, "report"),
    (keys_app, "keys"),
    (audit_app, "audit"),
    (retention_app, "retention"),
    (records_app, "records"),
):
    app.add_typer(_sub, name=_name)

CsvOption = Annotated[bool, typer.Option("--csv", help="print the rows as CSV")]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="date YYYY-MM-DD (default: today, UTC)")]


def _date(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"invalid {name}", expected="a date YYYY-MM-DD", got=text) from None


def _open_store() -> Any:
    from bioexit.records.store import RecordsStore

    return RecordsStore.open(cli_settings().records)


def _today() -> date:
    from bioexit.clock import SystemClock

    return SystemClock().now().date()


def _rows(rows: list[dict[str, Any]], as_json: bool, as_csv: bool, title: str) -> None:
    if as_json and as_csv:
        raise ConfigError("choose one output format", expected="--json or --csv", got="both")
    if as_csv:
        buffer = io.StringIO()
        fields = list(rows[0]) if rows else []
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
        return

    def render(items: list[dict[str, Any]]) -> None:
        if not items:
            out.print(f"{title}: none")
            return
        table = Table(*items[0].keys(), title=title)
        for item in items:
            table.add_row(*(str(v) for v in item.values()))
        out.print(table)

    emit(rows, as_json, render)


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOption = False) -> None:
    """Create or migrate the records database to the newest schema."""

    def action() -> None:
        from bioexit.records.db import database_url, make_engine, upgrade

        config = cli_settings().records
        engine = make_engine(database_url(config))
        try:
            revision = upgrade(engine)
        finally:
            engine.dispose()
        url = engine.url.render_as_string(hide_password=True)
        emit(
            {"database": url, "revision": revision},
            as_json,
            lambda r: out.print(f"{r['database']}: at {r['revision']}"),
        )

    run(action)


@report_app.command("overstays")
def report_overstays(
    as_of: AsOfOption = None, as_json: JsonOption = False, as_csv: CsvOption = False
) -> None:
    """Admissions past their admit-until date as of a day."""

    def action() -> None:
        from bioexit.records.reports import overstays

        with _open_store() as store:
            _rows(overstays(store, _date(as_of, "--as-of") or _today()), as_json, as_csv, "overstays")

    run(action)


@report_app.command("stays")
def report_stays(
    as_of: AsOfOption = None,
    window: Annotated[int, typer.Option("--window", help="rolling window, days")] = 180,
    limit: Annotated[int, typer.Option("--limit", help="days allowed in the window")] = 90,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Days of stay in the rolling window (default: the EU's 90 days in any 180)."""

    def action() -> None:
        from bioexit.records.reports import stays

        with _open_store() as store:
            rows = stays(store, _date(as_of, "--as-of") or _today(), window_days=window, limit_days=limit)
            _rows(rows, as_json, as_csv, f"stays ({limit} days in any {window})")

    run(action)


@report_app.command("departures")
def report_departures(
    since: Annotated[str | None, typer.Option("--from", help="first day YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option("--to", help="last day YYYY-MM-DD")] = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Departures per port, lane and UTC day."""

    def action() -> None:
        from bioexit.records.reports import departures_per_day

        with _open_store() as store:
            rows = departures_per_day(store, since=_date(since, "--from"), until=_date(until, "--to"))
            _rows(rows, as_json, as_csv, "departures")

    run(action)


@keys_app.command("rotate")
def keys_rotate(
    new_key: Annotated[
        bool, typer.Option("--new-key/--no-new-key", help="add a fresh master key to the keyring file first")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Re-wrap every record's data key under the current master key (after adding a new one)."""

    def action() -> None:
        from bioexit.crypto import add_master_key
        from bioexit.records.store import KEYRING_FILE, RecordsStore, key_provider
        from bioexit.settings import FileKeysConfig

        config = cli_settings().records
        added = None
        if new_key:
            if not isinstance(config.keys, FileKeysConfig):
                raise ConfigError(
                    "a new key can be added to a keyring file only",
                    expected="records.keys.kind = file, or --no-new-key after updating the variable",
                    got=config.keys.kind,
                )
            key_provider(config)  # make the keyring if this is the first use
            added = add_master_key(config.keys.path or config.data_dir / KEYRING_FILE)
        with RecordsStore.open(config) as store:
            report = store.rotate_keys(actor="cli")
        result = {
            "added_key_id": added,
            "current_key_id": report.current_key_id,
            "rewrapped": {
                "blobs": report.blobs,
                "templates": report.templates,
                "documents": report.documents,
            },
        }
        emit(result, as_json, lambda r: out.print_json(data=r))

    run(action)


@keys_app.command("retire")
def keys_retire(key_id: str, as_json: JsonOption = False) -> None:
    """Remove a master key from the keyring file once no record is wrapped under it."""

    def action() -> None:
        from bioexit.crypto import load_keyring, write_keyring
        from bioexit.records.store import KEYRING_FILE, RecordsStore
        from bioexit.settings import FileKeysConfig

        config = cli_settings().records
        if not isinstance(config.keys, FileKeysConfig):
            raise ConfigError(
                "keys can be retired from a keyring file only", expected="file", got=config.keys.kind
            )
        with RecordsStore.open(config) as store:
            still = store.records_under_key(key_id)
        if still:
            raise ConfigError(
                f"{still} records are still wrapped under this key",
                expected="0 (run keys rotate first)",
                got=still,
            )
        path = config.keys.path or config.data_dir / KEYRING_FILE
        keyring = load_keyring(path).without_key(key_id)
        write_keyring(path, keyring)
        emit(
            {"retired": key_id, "current_key_id": keyring.current}, as_json, lambda r: out.print_json(data=r)
        )

    run(action)


@audit_app.command("verify")
def audit_verify(as_json: JsonOption = False) -> None:
    """Check the audit log: names the first edited, removed or reordered entry. Exit 1 if bad."""
    outcome: dict[str, Any] = {}

    def action() -> None:
        with _open_store() as store:
            result = store.audit.verify()
        outcome.update(
            ok=result.ok,
            first_bad_sequence=result.first_bad_sequence,
            reason=result.reason,
            checked=result.checked,
            head=list(result.head),
        )

        def render(r: dict[str, Any]) -> None:
            status = "[green]ok[/]" if r["ok"] else "[bold red]FAILED[/]"
            out.print(f"audit log {status}: {r['reason']}")

        emit(outcome, as_json, render)

    run(action)
    if not outcome.get("ok", False):
        raise typer.Exit(1)


@retention_app.command("policy")
def retention_policy(as_json: JsonOption = False) -> None:
    """The retention matrix: category, what, how long, where deleted."""

    def action() -> None:
        from dataclasses import asdict

        from bioexit.records.retention import policy

        rows = [asdict(row) for row in policy(cli_settings().records.retention)]
        _rows(rows, as_json, False, "retention policy")

    run(action)


@retention_app.command("sweep")
def retention_sweep(
    loop: Annotated[
        bool,
        typer.Option("--loop", help="sweep every records.retention.sweep_interval_minutes, until stopped"),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete everything due. Run it every sweep interval (cron, a timer, or --loop)."""

    def action() -> None:
        import time
        from dataclasses import asdict

        from bioexit.records.retention import Sweeper

        with _open_store() as store:
            sweeper = Sweeper(store)
            while True:
                began = time.monotonic()
                emit(asdict(sweeper.sweep()), as_json, lambda r: out.print_json(data=r))
                if not loop:
                    return
                interval = store.retention.sweep_interval_minutes * 60
                time.sleep(max(0.0, interval - (time.monotonic() - began)))

    run(action)


@records_app.command("reconcile")
def records_reconcile(
    grace_minutes: Annotated[float, typer.Option("--grace-minutes", min=0.0)] = 10.0,
    as_json: JsonOption = False,
) -> None:
    """Remove files no row names (older than the grace period); flag rows whose file is gone."""

    def action() -> None:
        from dataclasses import asdict

        from bioexit.records.reconcile import reconcile

        with _open_store() as store:
            report = reconcile(store, grace=timedelta(minutes=grace_minutes))
        emit(asdict(report), as_json, lambda r: out.print_json(data=r))

    run(action)


@bench_app.command("records")
def bench_records_command(
    encounters: Annotated[int, typer.Option("--encounters", min=5, help="encounters of each kind")] = 200,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="a scratch PostgreSQL database (default: SQLite)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Per-encounter cost of durable, sealed, audited ingest; sweep, rotation and verify times."""

    def action() -> None:
        from bioexit.bench.records import bench_records

        result = bench_records(encounters, database_url)
        emit(result, as_json, lambda r: out.print_json(data=r))

    run(action)
