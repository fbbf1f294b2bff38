"""Alembic environment: the caller hands over an open connection (``config.attributes``)."""

from __future__ import annotations

from alembic import context

from bioexit.records.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("bioexit runs its migrations programmatically: use `bioexit db upgrade`")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
