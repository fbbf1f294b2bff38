"""Alembic migrations of the records schema, run programmatically (``bioexit db upgrade``)."""
