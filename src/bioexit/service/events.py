"""Live departures: an in-process broadcaster feeding Server-Sent Events subscribers.

Each subscriber has a bounded queue. A subscriber too slow to keep up loses the oldest
events and is told so with a ``gap`` event (it can re-read counts from the REST API), so one
stuck browser never holds memory or slows the lane.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    kind: str
    data: dict[str, Any]
    sequence: int

    def sse(self) -> str:
        return f"id: {self.sequence}\nevent: {self.kind}\ndata: {json.dumps(self.data, default=str)}\n\n"


class Subscription:
    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self.dropped = 0

    def offer(self, event: Event) -> None:  # runs on the subscriber's loop
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


class Broadcaster:
    """Thread-safe publish; async subscribe. Publishing never blocks."""

    def __init__(self, per_subscriber: int = 256) -> None:
        self.per_subscriber = per_subscriber
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()
        self._sequence = 0

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, kind: str, data: dict[str, Any]) -> Event:
        with self._lock:
            self._sequence += 1
            event = Event(kind, data, self._sequence)
            targets = list(self._subscribers)
        for subscription in targets:
            try:
                subscription.loop.call_soon_threadsafe(subscription.offer, event)
            except RuntimeError:  # its loop has closed: the client went away
                self._discard(subscription)
        return event

    def _discard(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    async def stream(self, heartbeat: float = 15.0, lifetime: float | None = None) -> AsyncIterator[str]:
        """SSE text chunks: events, a ``gap`` after drops, and comment heartbeats.

        The stream ends after ``lifetime`` seconds (EventSource clients reconnect by themselves), so
        no connection is held forever and a plain HTTP client gets a complete response.
        """
        loop = asyncio.get_running_loop()
        subscription = Subscription(loop, self.per_subscriber)
        ends = math.inf if lifetime is None else loop.time() + lifetime
        with self._lock:
            self._subscribers.add(subscription)
        try:
            yield ": connected\n\n"
            reported = 0
            while (left := ends - loop.time()) > 0:
                try:
                    event = await asyncio.wait_for(subscription.queue.get(), min(heartbeat, left))
                except TimeoutError:
                    if ends - loop.time() > 0:
                        yield ": heartbeat\n\n"
                    continue
                if subscription.dropped > reported:
                    yield Event("gap", {"dropped": subscription.dropped - reported}, event.sequence).sse()
                    reported = subscription.dropped
                yield event.sse()
        finally:
            self._discard(subscription)
