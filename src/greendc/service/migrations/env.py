"""Alembic's environment: the connection comes from the configuration greendc builds (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from greendc.service.database import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
