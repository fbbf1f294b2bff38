from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from typer.testing import CliRunner

from bioexit.cli import app
from bioexit.errors import ConfigError, SchemaVersionError
from bioexit.records.db import (
    current_revision,
    database_url,
    ensure_schema,
    head_revision,
    make_engine,
    table_names,
    upgrade,
)
from bioexit.records.models import Base
from bioexit.settings import RecordsConfig, load_settings

pytestmark = pytest.mark.own_database

TABLES = {
    "travellers",
    "documents",
    "entries",
    "encounters",
    "captures",
    "blobs",
    "templates",
    "decisions",
    "departures",
    "deletion_intents",
    "audit_entries",
    "audit_head",
    "users",
    "api_keys",
    "login_sessions",
}


def test_migrations_build_exactly_the_models(records_config: RecordsConfig) -> None:
    engine = make_engine(database_url(records_config))
    try:
        assert upgrade(engine) == head_revision()
        assert set(table_names(engine)) >= TABLES
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_full_sync_and_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(database_url(RecordsConfig(data_dir=tmp_path)))
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys")
            }
        assert pragma == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}  # 2 = FULL
    finally:
        engine.dispose()


def test_open_upgrades_unless_told_not_to_and_refuses_a_newer_schema(records_config: RecordsConfig) -> None:
    engine = make_engine(database_url(records_config))
    try:
        with pytest.raises(SchemaVersionError, match="needs an upgrade"):
            ensure_schema(engine, auto_upgrade=False)
        assert ensure_schema(engine) == head_revision() == current_revision(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
        with pytest.raises(SchemaVersionError, match="newer bioexit"):
            ensure_schema(engine)
    finally:
        engine.dispose()


def test_db_upgrade_command(records_config: RecordsConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOEXIT_RECORDS__DATA_DIR", str(records_config.data_dir))
    if records_config.database_url:
        monkeypatch.setenv("BIOEXIT_RECORDS__DATABASE_URL", records_config.database_url)
    result = CliRunner().invoke(app, ["db", "upgrade", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["revision"] == head_revision() and "bioexit:bioexit@" not in body["database"]


def test_unsupported_database_urls_are_refused() -> None:
    with pytest.raises(ConfigError, match="unsupported database"):
        make_engine("mysql://x@localhost/db")
    with pytest.raises(ConfigError, match="invalid database URL"):
        make_engine("not a url at all ::")


def test_records_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BIOEXIT_RECORDS__DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BIOEXIT_RECORDS__RETENTION__NONCITIZEN_ENCOUNTER_DAYS", "30")
    monkeypatch.setenv("BIOEXIT_RECORDS__KEYS__KIND", "env")
    settings = load_settings()
    assert (
        settings.records.data_dir == tmp_path and settings.records.retention.noncitizen_encounter_days == 30
    )
    assert settings.records.keys.kind == "env"
    assert database_url(settings.records) == f"sqlite:///{tmp_path}/records.sqlite3"
