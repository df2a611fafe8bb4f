"""Alembic revisions of canarywatch's state schema (db/state.py), shipped inside the package.

They run programmatically (`db.state.upgrade_state_schema`, `canarywatch migrate`) with a Config
built in code, so no alembic.ini is needed at run time. A new revision: add a file to versions/
that names the previous one in `down_revision`, and change db/state.py to match.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect


def existing_tables(bind: Connection) -> set[str]:
    """Names of the state tables present (revisions that adopt a create_all database skip these)."""
    from db.state import inspect_schema

    return set(inspect(bind).get_table_names(schema=inspect_schema(bind)))
