"""Load test of the service on loopback: simulated vehicles at increasing open-loop rates.

The real app runs under uvicorn in its own process, over a SQLite records store in a fresh
folder, with the simulated lane's document photos enrolled and one lane-device key. The
generator sends each vehicle at its scheduled time whether or not earlier ones have been
answered (open loop), each with its own Idempotency-Key, and records status, latency and
Retry-After. Afterwards it checks that the server still answers, and, in the records, that
every vehicle acknowledged with 2xx was recorded (no acknowledged vehicle lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bioexit.encounters import Encounter
from bioexit.errors import ConfigError
from bioexit.lane.frames import read_encounter
from bioexit.lanesim.writer import simulated_vehicles
from bioexit.settings import Settings

LOOPBACK = "127.0.0.1"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Vehicle:
    encounter: Encounter
    files: tuple[tuple[str, bytes], ...]  # (file name as encounter.json names it, JPEG bytes)


@dataclass(frozen=True)
class Sent:
    encounter_id: str
    offset: float  # scheduled send time, seconds from the start of its rate step
    status: int  # 0: no HTTP answer (connection error or client timeout)
    latency: float
    retry_after: bool
    error: str | None = None  # no HTTP answer: the exception; non-2xx: the problem type

    @property
    def timed_out(self) -> bool:
        """Accepted, but not decided within the decision timeout (the work goes on)."""
        return self.status == 503 and self.error == "/problems/work-timeout"


def load_vehicles(simulation: Path) -> list[Vehicle]:
    """Every simulated vehicle folder, read once into memory (the generator sends from memory)."""
    folders = simulated_vehicles(simulation)
    vehicles = []
    for folder in folders:
        encounter = read_encounter(folder)
        files = tuple((ref.file, (folder / ref.file).read_bytes()) for ref in encounter.frames)
        vehicles.append(Vehicle(encounter, files))
    return vehicles


def fresh(vehicle: Vehicle, tag: str, now: datetime) -> Encounter:
    """The same vehicle passing now under a new encounter id, so each submission is new work."""
    from bioexit.service.demo import as_if_now

    return as_if_now(vehicle.encounter, now, tag)


def prepare_records(settings: Settings, simulation: Path, device: str) -> str:
    """Enrol the simulation's document photos and issue a lane-device key; return the key."""
    from bioexit.lane.pipeline import build_pipeline
    from bioexit.lane.recording import enrol_gallery
    from bioexit.records.store import RecordsStore
    from bioexit.service.credentials import Authenticator
    from bioexit.service.sql_credentials import SqlCredentialStore

    ports = {v.encounter.port for v in load_vehicles(simulation)}
    with RecordsStore.open(settings.records) as store:
        enrol_gallery(simulation / "gallery", store, build_pipeline(settings).engine, settings)
        authenticator = Authenticator(SqlCredentialStore(store.engine), time.time)
        return authenticator.add_device(device, frozenset(ports)).token


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def server_environment(settings: Settings) -> dict[str, str]:
    """The server process's settings: the bench's records folder and service limits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIOEXIT_RECORDS__DATABASE_URL")}
    service = settings.service
    env.update(
        {
            "BIOEXIT_RECORDS__DATA_DIR": str(settings.records.data_dir),
            "BIOEXIT_LANE__RESULTS_DIR": str(settings.lane.results_dir),
            "BIOEXIT_SERVICE__WORKERS": str(service.workers),
            "BIOEXIT_SERVICE__QUEUE": str(service.queue),
            "BIOEXIT_SERVICE__DECISION_TIMEOUT_SECONDS": str(service.decision_timeout_seconds),
            "BIOEXIT_SERVICE__RATE_PER_SECOND": str(service.rate_per_second),
            "BIOEXIT_SERVICE__RATE_BURST": str(service.rate_burst),
        }
    )
    return env


@contextlib.contextmanager
def served(settings: Settings, log: Path, start_timeout: float = 120.0) -> Iterator[str]:
    """``bioexit serve`` in its own process on a free loopback port; yields its base URL."""
    import httpx2

    port = _free_port()
    command = [sys.executable, "-c", "from bioexit.cli import main; main()", "serve"]
    command += ["--host", LOOPBACK, "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=server_environment(settings), stdout=sink, stderr=sink)
        base = f"http://{LOOPBACK}:{port}"
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if process.poll() is not None:
                    raise ConfigError("the server exited at start", expected="a running server", got=str(log))
                with contextlib.suppress(httpx2.HTTPError):
                    if httpx2.get(f"{base}/v1/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise ConfigError(
                        "the server did not start", expected=f"health within {start_timeout:g} s"
                    )
                time.sleep(0.2)
            yield base
        finally:
            process.send_signal(signal.SIGTERM)  # uvicorn finishes what it holds, then the workers
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _submit(client: Any, base: str, key: str, vehicle: Vehicle, encounter: Encounter) -> Sent:
    import httpx2

    document = encounter.model_dump_json().encode()
    files = [("encounter", ("encounter.json", document, "application/json"))]
    files += [("frames", (name, data, "image/jpeg")) for name, data in vehicle.files]
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"bench-{encounter.encounter_id}"}
    url = f"{base}/v1/lanes/{encounter.port}/{encounter.lane}/encounters"
    started = time.perf_counter()
    try:
        response = await client.post(url, headers=headers, files=files)
    except httpx2.HTTPError as exc:
        return Sent(encounter.encounter_id, 0.0, 0, time.perf_counter() - started, False, type(exc).__name__)
    problem = None
    if response.status_code >= 400 and response.headers.get("content-type") == "application/problem+json":
        problem = str(response.json().get("type"))
    return Sent(
        encounter.encounter_id,
        0.0,
        response.status_code,
        time.perf_counter() - started,
        "retry-after" in response.headers,
        problem,
    )


Submitted = dict[str, tuple[Vehicle, Encounter]]  # encounter id → what was sent


async def offer(
    base: str, key: str, vehicles: Sequence[Vehicle], rate: float, duration: float, tag: str
) -> tuple[list[Sent], float, Submitted]:
    """Send ``rate`` vehicles a second for ``duration`` seconds, open loop; wait for every answer.

    Returns the submissions, the seconds from the first send to the last answer, and what was sent."""
    import httpx2

    count = max(1, round(rate * duration))
    limits = httpx2.Limits(max_connections=count + 1, max_keepalive_connections=64)
    timeout = httpx2.Timeout(600.0, connect=10.0)
    submitted: Submitted = {}
    async with httpx2.AsyncClient(limits=limits, timeout=timeout) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def one(index: int) -> Sent:
            await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
            vehicle = vehicles[index % len(vehicles)]
            encounter = fresh(vehicle, f"{tag}n{index}", datetime.now(UTC))
            submitted[encounter.encounter_id] = (vehicle, encounter)
            sent = await _submit(client, base, key, vehicle, encounter)
            return Sent(
                sent.encounter_id, index / rate, sent.status, sent.latency, sent.retry_after, sent.error
            )

        results = await asyncio.gather(*(one(i) for i in range(count)))
        return list(results), loop.time() - start, submitted


async def collect(base: str, key: str, timed_out: Submitted, limit: float) -> list[str]:
    """Do what a lane does after a timeout: send the same vehicle again (same Idempotency-Key)
    until it gets its decision. Returns the ids decided within ``limit`` seconds; afterwards
    the server holds no more work from this step."""
    import httpx2

    pending = dict(timed_out)
    deadline = time.monotonic() + limit
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(600.0, connect=10.0)) as client:
        while pending and time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            for encounter_id, (vehicle, encounter) in list(pending.items()):
                if 200 <= (await _submit(client, base, key, vehicle, encounter)).status < 300:
                    del pending[encounter_id]
    return [encounter_id for encounter_id in timed_out if encounter_id not in pending]


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1)], 3)


def summarize(rate: float, duration: float, sent: Sequence[Sent], span: float) -> dict[str, Any]:
    ok = [s for s in sent if 200 <= s.status < 300]
    statuses = Counter(
        "2xx" if 200 <= s.status < 300 else str(s.status) if s.status else "none" for s in sent
    )
    refused = [s for s in sent if s.status == 503]
    latencies = [s.latency for s in ok]
    return {
        "offered_per_s": rate,
        "sent": len(sent),
        "achieved_per_s": round(len(ok) / max(duration, span), 3),
        "span_s": round(span, 2),
        "status": {
            "200": statuses.get("2xx", 0),
            "503": statuses.get("503", 0),
            "429": statuses.get("429", 0),
            "other": sum(n for k, n in statuses.items() if k not in {"2xx", "503", "429"}),
        },
        "other_statuses": {k: n for k, n in statuses.items() if k not in {"2xx", "503", "429"}},
        "latency_s": {
            "p50": _percentile(latencies, 50),
            "p95": _percentile(latencies, 95),
            "p99": _percentile(latencies, 99),
            "max": _percentile(latencies, 100),
        },
        "retry_after_on_every_503": all(s.retry_after for s in refused),
        "timed_out": sum(s.timed_out for s in sent),
    }


def verdict(steps: Sequence[dict[str, Any]], timeout: float, keep_up: float = 0.9) -> dict[str, Any]:
    """The highest offered rate answered entirely with 2xx, p95 within the decision timeout, and
    kept up with (achieved at least ``keep_up`` of offered: a queue that only absorbs a short
    burst is not a sustained rate)."""
    clean = [
        s
        for s in steps
        if s["status"]["200"] == s["sent"]
        and (s["latency_s"]["p95"] or math.inf) <= timeout
        and s["achieved_per_s"] >= keep_up * s["offered_per_s"]
    ]
    best = max(clean, key=lambda s: s["offered_per_s"], default=None)
    saturated = [s for s in steps if s not in clean]
    return {
        "sustained_per_s": None if best is None else best["achieved_per_s"],
        "sustained_at_offered_per_s": None if best is None else best["offered_per_s"],
        "p95_at_sustained_s": None if best is None else best["latency_s"]["p95"],
        "first_saturated_offered_per_s": min((s["offered_per_s"] for s in saturated), default=None),
        "retry_after_on_every_503": all(s["retry_after_on_every_503"] for s in steps),
    }


def acknowledged_but_missing(settings: Settings, acknowledged: Sequence[str]) -> tuple[list[str], int]:
    """Encounter ids answered 2xx but absent from the records; and how many encounters are recorded."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from bioexit.records import models as m
    from bioexit.records.store import RecordsStore

    with RecordsStore.open(settings.records) as store:
        missing = [eid for eid in acknowledged if store.acknowledgement(eid) is None]
        with Session(store.engine) as session:
            recorded = session.scalar(select(func.count()).select_from(m.Encounter)) or 0
    return missing, int(recorded)


def run_service_load(
    settings: Settings,
    simulation: Path,
    rates: Sequence[float],
    duration: float,
    log: Path,
    progress: Progress | None = None,
    pause: float = 2.0,
) -> dict[str, Any]:
    """Run the whole load test; ``settings.records`` must point at a fresh folder (SQLite)."""
    import httpx2

    if not rates or any(r <= 0 for r in rates) or duration <= 0:
        raise ConfigError("bad load plan", expected="positive rates and duration", got=f"{rates}, {duration}")
    vehicles = load_vehicles(simulation)
    key = prepare_records(settings, simulation, "bench-lane")
    steps: list[dict[str, Any]] = []
    everything: list[Sent] = []
    decided_late: list[str] = []  # timed out, then decided on a retry with the same key
    timeout = settings.service.decision_timeout_seconds
    with served(settings, log) as base:
        # One vehicle first: the server loads its models on its first vehicle, not on the clock.
        warm, _, _ = asyncio.run(offer(base, key, vehicles, 1.0, 1.0, "warm"))
        everything += warm
        for step, rate in enumerate(rates):
            if progress:
                progress("rates", step, len(rates))
            sent, span, submitted = asyncio.run(offer(base, key, vehicles, rate, duration, f"r{step}"))
            summary = summarize(rate, duration, sent, span)
            # Each step starts on an idle server: vehicles past the timeout are collected first.
            late = {s.encounter_id: submitted[s.encounter_id] for s in sent if s.timed_out}
            decided = asyncio.run(collect(base, key, late, limit=4 * timeout))
            summary["timed_out_then_decided"] = len(decided)
            everything += sent
            decided_late += decided
            steps.append(summary)
            time.sleep(pause)
        health = httpx2.get(f"{base}/v1/health", timeout=10).status_code
        ready = httpx2.get(f"{base}/v1/ready", timeout=10).status_code
    if progress:
        progress("rates", len(rates), len(rates))
    acknowledged = [s.encounter_id for s in everything if 200 <= s.status < 300] + decided_late
    missing, recorded = acknowledged_but_missing(settings, acknowledged)
    return {
        "benchmark": "service-load",
        "vehicles_simulated": len(vehicles),
        "frames_per_vehicle": round(sum(len(v.files) for v in vehicles) / len(vehicles), 1),
        "duration_s": duration,
        "service": {
            "workers": settings.service.workers,
            "queue": settings.service.queue,
            "decision_timeout_s": timeout,
            "rate_per_second_per_caller": settings.service.rate_per_second,
        },
        "warmup": {"status": warm[0].status, "latency_s": round(warm[0].latency, 3)},
        "rates": steps,
        "verdict": verdict(steps, timeout),
        "after": {
            "health": health,
            "ready": ready,
            "acknowledged": len(acknowledged),
            "acknowledged_missing": len(missing),
            "missing_ids": missing[:20],
            "recorded": recorded,
            "acknowledged_after_timeout": len(decided_late),
            "recorded_without_2xx": recorded - (len(acknowledged) - len(missing)),
        },
    }
