"""What the running service holds: the records store, the lane pipeline (loaded once, lazily),
the worker pool, the live-event broadcaster, and single-flight processing per encounter id."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bioexit.encounters import Encounter
from bioexit.lane.frames import FrameInput
from bioexit.lane.pipeline import LanePipeline
from bioexit.lane.recording import RecordedVehicle, process_and_record
from bioexit.lane.store import ResultStore
from bioexit.records import views
from bioexit.records.store import RecordsStore
from bioexit.service.events import Broadcaster
from bioexit.service.workers import BoundedWorkers, wait_for_work
from bioexit.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    store: RecordsStore
    pipeline_factory: Callable[[Settings], LanePipeline]
    workers: BoundedWorkers
    events: Broadcaster = field(default_factory=Broadcaster)
    _pipeline: LanePipeline | None = None
    _pipeline_lock: threading.Lock = field(default_factory=threading.Lock)
    _inflight: dict[str, asyncio.Future[RecordedVehicle]] = field(default_factory=dict)
    _idempotency: dict[str, str] = field(default_factory=dict)

    def not_ready(self) -> str | None:
        """Why the service cannot take work now (None: ready): the database does not answer or is
        not at the schema this code needs, or the work queue is full."""
        from sqlalchemy.exc import SQLAlchemyError

        from bioexit.records.db import current_revision, head_revision

        try:
            revision = current_revision(self.store.engine)
        except SQLAlchemyError as exc:
            return f"the records database does not answer ({type(exc).__name__})"
        if revision != head_revision():
            return f"the records database is at schema {revision}, this code needs {head_revision()}"
        if self.workers.in_flight >= self.workers.capacity:
            return f"the work queue is full ({self.workers.capacity} jobs in flight)"
        return None

    def close(self) -> None:
        self.workers.shutdown()
        self.store.close()

    @property
    def results(self) -> ResultStore:
        return ResultStore(self.settings.lane.results_dir)

    def pipeline(self) -> LanePipeline:
        with self._pipeline_lock:  # models load once, on the first vehicle
            if self._pipeline is None:
                self._pipeline = self.pipeline_factory(self.settings)
            return self._pipeline

    def claim_idempotency_key(self, key: str, encounter_id: str) -> str | None:
        """Bind a key to an encounter id; return the id it was bound to before, if another."""
        bound = self._idempotency.setdefault(key, encounter_id)
        return None if bound == encounter_id else bound

    def process(
        self, encounter: Encounter, load_frames: Callable[[], Sequence[FrameInput]]
    ) -> RecordedVehicle:
        """Process and record one vehicle (blocking), then tell live viewers."""
        recorded = process_and_record(encounter, load_frames, self.store, self.pipeline(), self.results)
        if not recorded.acknowledgement.duplicate:
            vehicle = views.vehicles(self.store, None, encounter_id=encounter.encounter_id)
            if vehicle:
                self.events.publish("vehicle", vehicle[0])
            for departure in recorded.acknowledgement.departures:
                self.events.publish(
                    "departure", {"departure_id": departure, "port": encounter.port, "lane": encounter.lane}
                )
        return recorded

    async def submit(
        self,
        encounter: Encounter,
        load_frames: Callable[[], Sequence[FrameInput]],
        timeout: float,
    ) -> RecordedVehicle:
        """Process and record one vehicle; concurrent submissions of one encounter share one run.

        The run stays shared until it ends, also past a caller's timeout (WorkTimeoutError), so a
        retry joins the running work instead of starting it again."""
        encounter_id = encounter.encounter_id
        running = self._inflight.get(encounter_id)
        if running is None and (replayed := await asyncio.to_thread(self.replay, encounter_id)):
            return replayed  # a retry after a timeout gets its decision without a worker slot
        running = self._inflight.get(encounter_id)
        if running is None:
            job = self.workers.submit(functools.partial(self.process, encounter, load_frames), timeout)
            running = self._inflight[encounter_id] = asyncio.wrap_future(job)
            running.add_done_callback(functools.partial(self._finished, encounter_id))
        return await wait_for_work(running, timeout)

    def replay(self, encounter_id: str) -> RecordedVehicle | None:
        """The recorded decision of a vehicle processed before, or None."""
        acknowledgement = self.store.acknowledgement(encounter_id)
        result = self.results.get(encounter_id) if acknowledgement is not None else None
        return None if result is None or acknowledgement is None else RecordedVehicle(result, acknowledgement)

    def _finished(self, encounter_id: str, run: asyncio.Future[RecordedVehicle]) -> None:
        del self._inflight[encounter_id]
        if not run.cancelled():
            run.exception()  # retrieved: waiters got it, or nobody waits any more; no "never retrieved"
