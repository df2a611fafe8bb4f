"""Alembic environment: migrate on the connection the caller passed (db.state.upgrade_state_schema).

The caller holds the transaction (and on PostgreSQL the advisory lock), so nothing here commits.
"""

from __future__ import annotations

from alembic import context

from db.state import state_metadata, version_table_schema

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("canarywatch's migrations run on a given connection: use `canarywatch migrate`")

context.configure(
    connection=connection,
    target_metadata=state_metadata,
    version_table_schema=version_table_schema(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
