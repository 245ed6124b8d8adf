"""Alembic's entry point: migrate through the connection bot.migrations opened and locked.

Run migrations with `python -m bot db ...` (bot/migrations/cli.py), never with the `alembic`
command: there is no alembic.ini, and the database URL comes from the settings.
"""

from __future__ import annotations

from alembic import context

from bot.migrations import owned

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations with `python -m bot db ...` (bot.migrations)")

metadata = context.config.attributes.get("target_metadata")
context.configure(
    connection=connection,
    target_metadata=metadata,
    include_name=owned(metadata) if metadata is not None else None,
    compare_type=True,
    # SQLite cannot alter a column: batch operations rebuild the table there, and are plain
    # ALTERs on PostgreSQL, so one revision runs on both.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
