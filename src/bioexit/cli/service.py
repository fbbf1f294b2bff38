"""Service commands: serve, users (person logins) and device API keys (keys issue|revoke|devices)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from bioexit.cli._base import JsonOption, app, cli_settings, emit, err, out, run
from bioexit.cli.records import keys_app
from bioexit.errors import ConfigError

if TYPE_CHECKING:
    from bioexit.service.auth import Role
    from bioexit.service.credentials import Authenticator
    from bioexit.service.sql_credentials import SqlCredentialStore

users_app = typer.Typer(help="Person logins: officers, supervisors, auditors, admins.", no_args_is_help=True)
app.add_typer(users_app, name="users")

RolesOption = Annotated[
    str, typer.Option("--roles", help="comma-separated: officer, supervisor, auditor, admin")
]
PortsOption = Annotated[str, typer.Option("--ports", help="comma-separated port codes this login may see")]
AllPortsOption = Annotated[bool, typer.Option("--all-ports", help="may see every port")]
StdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from stdin instead of prompting")
]


def _credentials() -> SqlCredentialStore:
    from bioexit.records.db import database_url, ensure_schema, make_engine
    from bioexit.service.sql_credentials import SqlCredentialStore

    engine = make_engine(database_url(cli_settings().records))
    ensure_schema(engine)
    return SqlCredentialStore(engine)


def _authenticator() -> Authenticator:
    import time

    from bioexit.service.credentials import Authenticator

    hours = cli_settings().service.session_hours
    return Authenticator(_credentials(), time.time, session_seconds=hours * 3600)


def _csv(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def _roles(text: str) -> frozenset[Role]:
    from bioexit.service.auth import Role

    people = [r.value for r in Role if r is not Role.LANE_DEVICE]
    try:
        roles = frozenset(Role(name) for name in _csv(text))
    except ValueError:
        raise ConfigError("unknown role", expected=f"some of {people}", got=text) from None
    if Role.LANE_DEVICE in roles:
        raise ConfigError("lane devices use API keys", expected=f"some of {people}", got=text)
    return roles


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def users_add(
    username: str,
    roles: RolesOption,
    ports: PortsOption = "",
    all_ports: AllPortsOption = False,
    password_stdin: StdinOption = False,
    as_json: JsonOption = False,
) -> None:
    """Add a login (or replace its password, roles and ports)."""

    def action() -> None:
        user = _authenticator().add_user(
            username, _password(password_stdin), _roles(roles), _csv(ports), all_ports
        )
        result = {"username": user.username, "roles": sorted(r.value for r in user.roles)}
        emit(result, as_json, lambda r: out.print(f"user {r['username']} saved ({', '.join(r['roles'])})"))

    run(action)


@users_app.command("disable")
def users_disable(username: str, as_json: JsonOption = False) -> None:
    """Disable a login; its sessions stop working at once."""

    def action() -> None:
        from dataclasses import replace

        store = _credentials()
        user = store.get_user(username)
        if user is None:
            raise ConfigError("unknown user", expected="an existing username", got=username)
        store.put_user(replace(user, disabled=True))
        emit({"username": username, "disabled": True}, as_json, lambda _r: out.print(f"{username} disabled"))

    run(action)


@users_app.command("list")
def users_list(as_json: JsonOption = False) -> None:
    """Logins with their roles and ports (never their hashes)."""

    def action() -> None:
        rows = [
            {
                "username": u.username,
                "roles": sorted(r.value for r in u.roles),
                "ports": "*" if u.all_ports else sorted(u.ports),
                "disabled": u.disabled,
            }
            for u in _credentials().users()
        ]

        def render(items: list[dict[str, Any]]) -> None:
            table = Table("username", "roles", "ports", "disabled")
            for row in items:
                ports = row["ports"] if row["ports"] == "*" else ",".join(row["ports"])
                table.add_row(row["username"], ",".join(row["roles"]), ports, str(row["disabled"]))
            out.print(table)

        emit(rows, as_json, render)

    run(action)


@keys_app.command("issue")
def keys_issue(
    device: Annotated[str, typer.Option("--device", help="lane device name, e.g. P1-lane-3")],
    ports: PortsOption,
    as_json: JsonOption = False,
) -> None:
    """Issue an API key for a lane device. The key is printed once and never stored."""

    def action() -> None:
        issued = _authenticator().add_device(device, _csv(ports))
        result = {"key_id": issued.key_id, "device": device, "api_key": issued.token}
        emit(result, as_json, lambda r: out.print(f"API key for {device} (shown once): {r['api_key']}"))
        if not as_json:
            err.print("store it in the lane device's configuration now; it cannot be shown again")

    run(action)


@keys_app.command("revoke")
def keys_revoke(key_id: str, as_json: JsonOption = False) -> None:
    """Revoke a device API key at once."""

    def action() -> None:
        _authenticator().revoke_device_key(key_id)
        emit({"key_id": key_id, "revoked": True}, as_json, lambda _r: out.print(f"{key_id} revoked"))

    run(action)


@keys_app.command("devices")
def keys_devices(as_json: JsonOption = False) -> None:
    """Device API keys: id, device, ports, revoked (never the secret)."""

    def action() -> None:
        rows = [
            {"key_id": k.key_id, "device": k.device, "ports": sorted(k.ports), "revoked": k.revoked}
            for k in _credentials().api_keys()
        ]

        def render(items: list[dict[str, Any]]) -> None:
            table = Table("key id", "device", "ports", "revoked")
            for row in items:
                table.add_row(row["key_id"], row["device"], ",".join(row["ports"]), str(row["revoked"]))
            out.print(table)

        emit(rows, as_json, render)

    run(action)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    demo: Annotated[
        Path | None,
        typer.Option(
            "--demo", help="labelled faces folder: replay a simulated lane from it (development only)"
        ),
    ] = None,
    demo_vehicles: Annotated[int, typer.Option(help="vehicles in the demo lane", min=1)] = 12,
    demo_interval: Annotated[float, typer.Option(help="seconds between demo vehicles", min=0.0)] = 4.0,
) -> None:
    """Run the service: REST API under /v1, officer UI under /ui, on the configured records."""

    def action() -> None:
        import threading

        import uvicorn

        from bioexit.lane.pipeline import build_pipeline
        from bioexit.records.store import RecordsStore
        from bioexit.service.app import create_app
        from bioexit.service.demo import create_demo_accounts, prepare_demo_lane, replay
        from bioexit.service.runtime import Runtime
        from bioexit.service.workers import BoundedWorkers

        settings = cli_settings()
        if demo is not None and settings.service.mode == "production":
            raise ConfigError(
                "the demo lane is for development", expected="service.mode = development", got="production"
            )
        store = RecordsStore.open(settings.records)
        runtime = Runtime(
            settings, store, build_pipeline, BoundedWorkers(settings.service.workers, settings.service.queue)
        )
        app = create_app(settings, runtime)
        stop = threading.Event()
        try:
            if demo is not None:
                err.print("preparing the demo lane (simulating vehicles and loading models)...")
                folders = prepare_demo_lane(
                    runtime, demo, settings.records.data_dir / "demo-lane", demo_vehicles, 7
                )
                accounts = create_demo_accounts(runtime, app.state.authenticator)
                out.print(f"demo accounts (shown once): open http://{host}:{port}/ui/")
                for name, password in accounts.items():
                    out.print(f"  {name} / {password}")
                replay(
                    runtime,
                    folders,
                    demo_interval,
                    stop,
                    lambda eid: err.print(f"demo vehicle {eid} recorded"),
                )
            uvicorn.run(app, host=host, port=port, log_level="info")
        finally:
            stop.set()
            runtime.close()

    run(action)


@app.command("openapi")
def openapi(
    check: Annotated[
        Path | None, typer.Option("--check", help="compare with this committed file; exit 1 if it drifted")
    ] = None,
) -> None:
    """Print the service's OpenAPI document (JSON), or check a committed copy for drift."""

    def action() -> None:
        import json

        from bioexit.service.app import openapi_document

        document = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
        if check is None:
            sys.stdout.write(document)
            return
        if check.read_text(encoding="utf-8") != document:
            err.print(f"{check} differs from the app's OpenAPI document: run `bioexit openapi > {check}`")
            raise typer.Exit(1)
        out.print(f"{check} is up to date")

    run(action)
