"""The demo lane: simulated vehicles from a labelled face folder, replayed into the running service.

For newcomers only. ``bioexit serve --demo`` refuses to run in production mode, and the demo
accounts get random passwords that are printed once and never stored in plain form.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bioexit.bench.dataset import load_dataset
from bioexit.encounters import Encounter
from bioexit.errors import BioexitError, ConfigError
from bioexit.lane.frames import read_encounter, read_frames
from bioexit.lane.recording import enrol_gallery
from bioexit.lanesim.writer import PORT, load_cast, simulated_vehicles, write_simulation
from bioexit.service.auth import Role
from bioexit.service.credentials import Authenticator
from bioexit.service.runtime import Runtime

log = logging.getLogger("bioexit.demo")
DEMO_ACCOUNTS = {
    "officer": (Role.OFFICER,),
    "supervisor": (Role.SUPERVISOR,),
    "auditor": (Role.AUDITOR,),
}


def prepare_demo_lane(runtime: Runtime, faces: Path, folder: Path, vehicles: int, seed: int) -> list[Path]:
    """Simulate the demo vehicles once (kept in ``folder``) and enrol their document gallery."""
    if not (folder / "simulation.json").is_file():
        engine = runtime.pipeline().engine
        cast = load_cast(load_dataset(faces), seed, engine.detector, runtime.settings.images)
        write_simulation(
            cast, folder, vehicles=vehicles, seed=seed, difficulty="hard", limits=runtime.settings.images
        )
    enrol_gallery(folder / "gallery", runtime.store, runtime.pipeline().engine, runtime.settings)
    return simulated_vehicles(folder)


def create_demo_accounts(runtime: Runtime, authenticator: Authenticator) -> dict[str, str]:
    """One login per role with a fresh random password (returned to be printed once)."""
    if runtime.settings.service.mode == "production":
        raise ConfigError(
            "demo accounts in production", expected="service.mode = development", got="production"
        )
    passwords = {}
    for name, roles in DEMO_ACCOUNTS.items():
        password = secrets.token_urlsafe(12)
        authenticator.add_user(f"demo-{name}", password, frozenset(roles), frozenset({PORT}), all_ports=False)
        passwords[f"demo-{name}"] = password
    return passwords


def as_if_now(encounter: Encounter, now: datetime, tag: str) -> Encounter:
    """The same vehicle passing now, under a new encounter id: each demo run shows new arrivals,
    and retention counts from today rather than from the simulated day."""
    shift = now - encounter.started_at
    frames = tuple(f.model_copy(update={"captured_at": f.captured_at + shift}) for f in encounter.frames)
    update = {"encounter_id": f"{encounter.encounter_id}.{tag}", "started_at": now, "frames": frames}
    return encounter.model_copy(update=update)


def replay(
    runtime: Runtime,
    folders: list[Path],
    interval: float,
    stop: threading.Event,
    on_vehicle: Callable[[str], None],
) -> threading.Thread:
    """Feed the vehicles to the service one every ``interval`` seconds, as a lane would."""
    tag = runtime.store.clock.now().strftime("%Y%m%dT%H%M%S")

    def run() -> None:
        for folder in folders:
            if stop.wait(interval):
                return
            try:
                encounter = as_if_now(read_encounter(folder), runtime.store.clock.now(), tag)
                frames = functools.partial(read_frames, folder, encounter, runtime.settings.images)
                runtime.workers.submit(functools.partial(runtime.process, encounter, frames)).result()
                on_vehicle(encounter.encounter_id)
            except BioexitError as exc:  # one bad vehicle must not end the demo
                log.warning("demo vehicle %s: %s", folder.name, exc)

    thread = threading.Thread(target=run, name="bioexit-demo-lane", daemon=True)
    thread.start()
    return thread
