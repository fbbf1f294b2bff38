"""What the running service holds: the records store, the lane pipeline (loaded once, lazily),
the worker pool, the live-event broadcaster, and single-flight processing per encounter id."""

from __future__ import annotations

import asyncio
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
from bioexit.service.workers import BoundedWorkers
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
        """Process and record one vehicle; concurrent submissions of one encounter share one run."""
        running = self._inflight.get(encounter.encounter_id)
        if running is not None:
            return await asyncio.shield(running)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[RecordedVehicle] = loop.create_future()
        self._inflight[encounter.encounter_id] = future
        try:
            recorded = await self.workers.run(lambda: self.process(encounter, load_frames), timeout)
            future.set_result(recorded)
            return recorded
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody logs "never retrieved"
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._inflight[encounter.encounter_id]
