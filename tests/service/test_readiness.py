"""Liveness and readiness over a real records store: ready only with the database at the schema
this code needs and room in the work queue."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient
from tests.service.conftest import make_runtime

from bioexit.service.app import create_app
from bioexit.service.credentials import MemoryCredentialStore


def test_health_and_readiness(tmp_path: Path, database: str | None) -> None:
    runtime = make_runtime(tmp_path, database_url=database, service={"workers": 1, "queue": 0})
    app = create_app(runtime.settings, runtime, credentials=MemoryCredentialStore())
    release = threading.Event()
    try:
        with TestClient(app) as client:
            assert client.get("/v1/health").json() == {"status": "ok"}
            assert client.get("/v1/ready").json() == {"status": "ready"}

            busy = runtime.workers.submit(release.wait)  # the only worker, and no queue
            full = client.get("/v1/ready")
            assert full.status_code == 503 and "queue is full" in full.json()["detail"]
            assert full.headers["retry-after"] == "1"
            assert full.headers["content-type"] == "application/problem+json"
            release.set()
            busy.result(timeout=10)
            assert client.get("/v1/ready").status_code == 200

            with runtime.store.engine.begin() as connection:
                connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0002'")
            behind = client.get("/v1/ready")
            assert behind.status_code == 503 and "schema 0002" in behind.json()["detail"]
            assert client.get("/v1/health").status_code == 200  # alive, just not ready
            with runtime.store.engine.begin() as connection:
                connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0003'")
    finally:
        release.set()
        runtime.close()
