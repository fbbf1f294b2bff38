"""A bounded pool for CPU-heavy work (vehicle processing, enrolment).

Lane submissions must never pile up without limit: when every worker is busy and the queue
is full, ``submit`` raises OverloadedError at once, and the API answers 503 with
Retry-After. A vehicle is acknowledged only after its work finished and was committed, so a
refused submission is safe to retry and nothing acknowledged is lost.

A job that would wait longer than its caller waits (``within``: the decision timeout) is
refused at once too: the pool keeps a running mean of how long jobs take, so the queue it
admits shrinks on a slow machine instead of filling with vehicles whose lanes gave up.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from bioexit.errors import OverloadedError, WorkTimeoutError

T = TypeVar("T")


class BoundedWorkers:
    def __init__(
        self, workers: int, queue: int, clock: Callable[[], float] = time.perf_counter, smoothing: float = 0.3
    ) -> None:
        if workers < 1 or queue < 0:
            raise ValueError(f"expected workers >= 1 and queue >= 0, got {workers}, {queue}")
        self.workers = workers
        self.capacity = workers + queue
        self.clock = clock
        self.smoothing = smoothing
        self.mean_seconds: float | None = None  # running mean of finished jobs' durations
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bioexit-work")
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def expected_seconds(self) -> float:
        """How long a job submitted now would take to finish: its wait for a worker, then its run."""
        if self.mean_seconds is None:
            return 0.0
        ahead = max(0, self._in_flight - self.workers + 1)
        return (ahead / self.workers + 1) * self.mean_seconds

    def submit(self, fn: Callable[[], T], within: float | None = None) -> Future[T]:
        """Queue ``fn``; refuse at once (OverloadedError) when the queue is full or, given
        ``within``, when the job is expected to finish later than that."""
        if within is not None and (expected := self.expected_seconds()) > within:
            raise OverloadedError(
                "the queue is longer than the caller waits",
                expected=f"done within {within:g} s",
                got=f"about {expected:.1f} s",
            )
        if not self._slots.acquire(blocking=False):
            raise OverloadedError(
                "processing queue full",
                expected=f"at most {self.capacity} jobs in flight",
                got=self.capacity + 1,
            )
        with self._lock:
            self._in_flight += 1
        try:
            future = self._pool.submit(self._timed, fn)
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        return future

    def _timed(self, fn: Callable[[], T]) -> T:
        started = self.clock()
        try:
            return fn()
        finally:
            took = self.clock() - started
            with self._lock:
                last = self.mean_seconds
                self.mean_seconds = took if last is None else last + self.smoothing * (took - last)

    def _release(self, _future: object) -> None:
        with self._lock:
            self._in_flight -= 1
        self._slots.release()

    async def run(self, fn: Callable[[], T], timeout: float) -> T:
        """Submit and await; on timeout the job still finishes (and commits) in the background."""
        return await wait_for_work(asyncio.wrap_future(self.submit(fn)), timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


async def wait_for_work(work: asyncio.Future[T], timeout: float) -> T:
    """Await ``work`` for at most ``timeout`` seconds. Past that the work goes on (it is shielded)
    and the caller gets WorkTimeoutError, which the API answers with 503 and Retry-After."""
    try:
        return await asyncio.wait_for(asyncio.shield(work), timeout)
    except TimeoutError:
        if work.done():  # the work itself raised TimeoutError
            raise
        raise WorkTimeoutError(
            "not finished within the request timeout; it still completes, ask again later",
            expected=f"done within {timeout:g} s",
            got="still running",
        ) from None
