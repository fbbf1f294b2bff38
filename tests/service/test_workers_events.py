from __future__ import annotations

import asyncio
import threading

import pytest

from bioexit.errors import OverloadedError, WorkTimeoutError
from bioexit.service.events import Broadcaster
from bioexit.service.workers import BoundedWorkers


def test_full_queue_refuses_at_once_and_recovers() -> None:
    workers = BoundedWorkers(workers=1, queue=1)
    gate = threading.Event()
    first = workers.submit(gate.wait)
    second = workers.submit(lambda: "queued")
    with pytest.raises(OverloadedError, match="at most 2 jobs"):
        workers.submit(lambda: "refused")
    gate.set()
    assert first.result(5) is True and second.result(5) == "queued"
    assert workers.submit(lambda: "again").result(5) == "again"
    assert workers.in_flight == 0
    workers.shutdown()


def test_a_job_past_the_timeout_is_a_typed_503_and_still_completes() -> None:
    workers = BoundedWorkers(workers=1, queue=0)
    gate, done = threading.Event(), threading.Event()

    def slow() -> str:
        gate.wait(5)
        done.set()
        return "committed"

    async def call() -> str:
        return await workers.run(slow, timeout=0.05)

    with pytest.raises(WorkTimeoutError, match="still completes"):
        asyncio.run(call())
    gate.set()
    assert done.wait(5)
    workers.shutdown()
    assert workers.in_flight == 0


def test_a_job_that_would_finish_after_the_caller_gives_up_is_refused_at_once() -> None:
    now = [0.0]
    workers = BoundedWorkers(workers=1, queue=8, clock=lambda: now[0])

    def takes(seconds: float, gate: threading.Event | None = None) -> None:
        if gate is not None:
            gate.wait(5)
        now[0] += seconds

    assert workers.expected_seconds() == 0.0  # nothing measured yet: only the queue bound holds
    workers.submit(lambda: takes(10.0)).result(5)
    assert workers.mean_seconds == 10.0
    gate = threading.Event()
    running = workers.submit(lambda: takes(10.0, gate), within=25.0)  # a free worker: about 10 s
    queued = workers.submit(lambda: takes(10.0, gate), within=25.0)  # one ahead: about 20 s
    with pytest.raises(OverloadedError, match="longer than the caller waits"):
        workers.submit(lambda: None, within=25.0)  # two ahead: about 30 s
    assert workers.in_flight == 2
    gate.set()
    running.result(5)
    queued.result(5)
    assert workers.submit(lambda: "fits again", within=25.0).result(5) == "fits again"
    workers.shutdown()


def test_a_failing_job_frees_its_slot() -> None:
    workers = BoundedWorkers(workers=1, queue=0)

    def boom() -> None:
        raise RuntimeError("job failed")

    with pytest.raises(RuntimeError):
        workers.submit(boom).result(5)
    assert workers.submit(lambda: 1).result(5) == 1
    workers.shutdown()


def test_subscribers_get_events_in_order_and_slow_ones_see_a_gap() -> None:
    async def scenario() -> list[str]:
        broadcaster = Broadcaster(per_subscriber=2)
        stream = broadcaster.stream(heartbeat=5)
        assert await anext(stream) == ": connected\n\n"
        for n in range(5):  # published from another thread, as the workers do
            await asyncio.to_thread(broadcaster.publish, "departure", {"n": n})
        await asyncio.sleep(0.05)
        chunks = [await anext(stream) for _ in range(3)]
        await stream.aclose()
        assert broadcaster.subscribers == 0
        return chunks

    gap, fourth, fifth = asyncio.run(scenario())
    assert gap.startswith("id: 4\nevent: gap\n") and '"dropped": 3' in gap
    assert 'data: {"n": 3}' in fourth and 'data: {"n": 4}' in fifth
