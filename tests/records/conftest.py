"""Records fixtures: every test that takes ``records_config`` runs on SQLite and on PostgreSQL.

PostgreSQL tests need ``$BIOEXIT_TEST_POSTGRES_URL`` (``scripts/postgres.sh`` starts a server and
prints it; ``.ci/run`` does both) and skip, saying so, where it is unset. Each test gets a fresh
database, dropped afterwards.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bioexit.alignment import ARCFACE_112
from bioexit.clock import FakeClock
from bioexit.crypto import StaticKeyProvider
from bioexit.embedding.types import ModelInfo, Template
from bioexit.records.gallery import MemoryEncounterGallery
from bioexit.records.store import RecordsStore
from bioexit.settings import RecordsConfig

POSTGRES_ENV = "BIOEXIT_TEST_POSTGRES_URL"
MODEL = ModelInfo("test-model", "1", 64, "cosine", ARCFACE_112)
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture(scope="session")
def shared_postgres() -> Iterator[str | None]:
    """One migrated database per session, emptied before each test that uses it."""
    base = postgres_url()
    if base is None:
        yield None
        return
    from bioexit.records.db import make_engine, upgrade

    for url in fresh_postgres_database(base):
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def empty_postgres(url: str) -> None:
    from sqlalchemy import text

    from bioexit.audit.chain import GENESIS_HASH
    from bioexit.records.db import make_engine
    from bioexit.records.models import Base

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
            connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            connection.execute(
                text("INSERT INTO audit_head (id, sequence, entry_hash) VALUES (1, -1, :genesis)"),
                {"genesis": GENESIS_HASH},
            )
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """``None`` for the default SQLite file, else a PostgreSQL URL: the session's shared database,
    emptied, or for tests marked ``own_database`` a new, empty database of their own."""
    if request.param == "sqlite":
        yield None
        return
    base = postgres_url()
    if base is None and os.environ.get("CI"):
        pytest.fail(f"CI must run the PostgreSQL tests: ${POSTGRES_ENV} is unset (.ci/run starts the server)")
    if base is None:
        pytest.skip(f'PostgreSQL tests need ${POSTGRES_ENV} (run: eval "$(bash scripts/postgres.sh)")')
    if request.node.get_closest_marker("own_database") is not None:
        yield from fresh_postgres_database(base)
        return
    shared = request.getfixturevalue("shared_postgres")
    empty_postgres(shared)
    yield shared


def fresh_postgres_database(base: str) -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"bx_{secrets.token_hex(6)}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def records_config(tmp_path: Path, database: str | None) -> RecordsConfig:
    return RecordsConfig(data_dir=tmp_path / "records", database_url=database)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def provider() -> StaticKeyProvider:
    return StaticKeyProvider({"mk-1": secrets.token_bytes(32)}, "mk-1")


@pytest.fixture
def gallery() -> MemoryEncounterGallery:
    return MemoryEncounterGallery(MODEL)


@pytest.fixture
def store(
    records_config: RecordsConfig,
    clock: FakeClock,
    provider: StaticKeyProvider,
    gallery: MemoryEncounterGallery,
) -> Iterator[RecordsStore]:
    with RecordsStore.open(records_config, clock=clock, provider=provider, gallery=gallery) as opened:
        yield opened


def face_jpeg(seed: int, size: int = 48) -> bytes:
    """A small random JPEG standing in for a face crop (its bytes are what must not leak)."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def face_png(seed: int, size: int = 32) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def template(seed: int, noise: float = 0.0, base_seed: int | None = None) -> Template:
    rng = np.random.default_rng(seed)
    base = np.random.default_rng(seed if base_seed is None else base_seed).normal(size=MODEL.dim)
    vector = base + noise * rng.normal(size=MODEL.dim)
    vector /= np.linalg.norm(vector)
    return Template(vector.astype(np.float32), MODEL.model_id, MODEL.version, "cosine")


def everything_on_disk(config: RecordsConfig) -> bytes:
    """Every byte of the data folder (database, WAL, blobs, temp files) and, for PostgreSQL,
    a dump of every row of every table."""
    chunks = [p.read_bytes() for p in sorted(Path(config.data_dir).rglob("*")) if p.is_file()]
    if config.database_url:
        chunks.append(postgres_dump(config.database_url))
    return b"".join(chunks)


def postgres_dump(url: str) -> bytes:
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    out = []
    with psycopg.connect(plain) as connection:
        tables = [
            r[0] for r in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        ]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        out.append(bytes(value))
                    elif value is not None:
                        out.append(str(value).encode())
    return b"\n".join(out)
