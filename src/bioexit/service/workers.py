"""A bounded pool for CPU-heavy work (vehicle processing, enrolment).

Lane submissions must never pile up without limit: when every worker is busy and the queue
is full, ``submit`` raises OverloadedError at once, and the API answers 503 with
Retry-After. A vehicle is acknowledged only after its work finished and was committed, so a
refused submission is safe to retry and nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from bioexit.errors import OverloadedError, WorkTimeoutError

T = TypeVar("T")


class BoundedWorkers:
    def __init__(self, workers: int, queue: int) -> None:
        if workers < 1 or queue < 0:
            raise ValueError(f"expected workers >= 1 and queue >= 0, got {workers}, {queue}")
        self.capacity = workers + queue
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bioexit-work")
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        if not self._slots.acquire(blocking=False):
            raise OverloadedError(
                "processing queue full",
                expected=f"at most {self.capacity} jobs in flight",
                got=self.capacity + 1,
            )
        with self._lock:
            self._in_flight += 1
        try:
            future = self._pool.submit(fn)
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        return future

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
