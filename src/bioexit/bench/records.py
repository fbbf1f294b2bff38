"""``bioexit bench records``: what durability, sealing and auditing cost per encounter.

In a scratch folder (and a scratch PostgreSQL database where a URL is given) it ingests
encounters with one sealed face (image, thumbnail, template) and a confirmed decision, and,
as the baseline of the same run, encounters with the decision only. Then it times a sweep, a
key rotation and an audit verification over what was written.
"""

from __future__ import annotations

import io
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bioexit.clock import FakeClock
from bioexit.crypto import StaticKeyProvider
from bioexit.embedding.types import Template
from bioexit.records.retention import Sweeper
from bioexit.records.store import RecordsStore
from bioexit.records.types import CaptureRecord, DecisionRecord, EncounterRecord
from bioexit.settings import RecordsConfig


def _face(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    base = np.linspace(40, 220, 160, dtype=np.float32)[None, :, None]
    pixels = np.clip(base + rng.normal(0, 12, size=(160, 160, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered) * 1000, 2),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 2),
    }


def bench_records(encounters: int, database_url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bioexit-bench-") as folder:
        config = RecordsConfig(data_dir=Path(folder), database_url=database_url)
        start = datetime.now(UTC)
        clock = FakeClock(start)
        old = secrets.token_bytes(32)
        provider = StaticKeyProvider({"mk-1": old}, "mk-1")
        with RecordsStore.open(config, clock=clock, provider=provider) as store:
            backend = store.engine.dialect.name
            citizen = store.add_traveller("citizen")
            face = _face(1)
            vector = np.random.default_rng(2).normal(size=128).astype(np.float32)
            template = Template(vector, "bench", "1", "cosine")
            with_face: list[float] = []
            decision_only: list[float] = []
            for number in range(encounters):
                for kind, samples in (("face", with_face), ("bare", decision_only)):
                    encounter_id = f"{kind}-{number}"
                    captures = [CaptureRecord("occ-0", face, 0.9, start, template)] if kind == "face" else []
                    began = time.perf_counter()
                    store.record_encounter(
                        EncounterRecord(encounter_id, "P1", "L1", start),
                        captures,
                        [DecisionRecord(f"{encounter_id}-d", "confirmed", "1:1", None, citizen, 0.9)],
                    )
                    samples.append(time.perf_counter() - began)
            rotate_provider = StaticKeyProvider({"mk-1": old, "mk-2": secrets.token_bytes(32)}, "mk-2")
            store.provider = rotate_provider
            began = time.perf_counter()
            rotation = store.rotate_keys()
            rotate_s = time.perf_counter() - began
            clock.set(start + timedelta(hours=12))
            began = time.perf_counter()
            swept = Sweeper(store).sweep()
            sweep_s = time.perf_counter() - began
            began = time.perf_counter()
            verdict = store.audit.verify()
            verify_s = time.perf_counter() - began
    records = rotation.blobs + rotation.templates + rotation.documents
    return {
        "backend": backend,
        "encounters": encounters,
        "face_jpeg_bytes": len(face),
        "ingest_ms_with_sealed_face": _ms(with_face),
        "ingest_ms_decision_only_baseline": _ms(decision_only),
        "ratio_face_to_baseline": round(statistics.median(with_face) / statistics.median(decision_only), 2),
        "rotate_ms_per_record": round(rotate_s * 1000 / max(records, 1), 3),
        "sweep_ms_per_capture": round(sweep_s * 1000 / max(swept.captures_deleted, 1), 2),
        "audit_verify_ms_per_entry": round(verify_s * 1000 / max(verdict.checked, 1), 3),
        "audit_entries": verdict.checked,
        "audit_ok": verdict.ok,
    }
