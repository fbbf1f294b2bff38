"""Engines and migrations. SQLite (the default) runs in WAL mode with ``synchronous=FULL``,
foreign keys on and ``BEGIN IMMEDIATE`` transactions; PostgreSQL through psycopg 3."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bioexit.errors import ConfigError, SchemaVersionError
from bioexit.settings import RecordsConfig

DATABASE_FILE = "records.sqlite3"
_MIGRATIONS = "bioexit.records:migrations"


def database_url(config: RecordsConfig) -> str:
    if config.database_url:
        return config.database_url
    return f"sqlite:///{config.data_dir / DATABASE_FILE}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder made and the pragmas set per connection."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "invalid database URL", expected="an SQLAlchemy URL", got="unparsable text"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        _sqlite_pragmas(engine)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigError("unsupported database", expected="sqlite or postgresql", got=backend)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (the pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            "secure_delete=ON",  # deleted rows (wrapped keys) are overwritten, not left in free pages
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # IMMEDIATE: the write lock is taken at BEGIN, so a read-then-write (the audit head) cannot race.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from bioexit.records import migrations

    script = ScriptDirectory(str(Path(migrations.__file__).parent))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Run the migrations up to ``revision``; return the revision the database is at."""
    from alembic import command

    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), revision)
    except SQLAlchemyError as exc:
        raise SchemaVersionError(
            f"migration failed: {type(exc).__name__}: {exc.args[0] if exc.args else ''}"
        ) from None
    now = current_revision(engine)
    assert now is not None
    return now


def ensure_schema(engine: Engine, *, auto_upgrade: bool = True) -> str:
    """Upgrade an older schema (or refuse, with ``auto_upgrade=False``); refuse a newer one."""
    head = head_revision()
    current = current_revision(engine)
    if current == head:
        return head
    known = _known_revisions()
    if current is not None and current not in known:
        raise SchemaVersionError(
            "the database was written by a newer bioexit", expected=f"revision {head} or older", got=current
        )
    if not auto_upgrade:
        raise SchemaVersionError(
            "the database needs an upgrade (bioexit db upgrade)", expected=head, got=current or "empty"
        )
    return upgrade(engine)


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from bioexit.records import migrations

    script = ScriptDirectory(str(Path(migrations.__file__).parent))
    return {revision.revision for revision in script.walk_revisions()}


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())
