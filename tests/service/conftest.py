"""Service tests reuse the records fixtures, so database-backed parts run on SQLite and PostgreSQL."""

from tests.records.conftest import database, records_config, shared_postgres

__all__ = ["database", "records_config", "shared_postgres"]
