"""Build the fixture schema (upstream tables plus canarywatch's own) on any SQLAlchemy engine."""

from __future__ import annotations

from sqlalchemy import Engine, text

from db.state import ensure_state_schema, state_metadata
from db.upstream import upstream_metadata
from summaries.declarations import all_tables as summary_tables
from summaries.refresh import ensure_summary_tables


def create_schema(engine: Engine) -> None:
    """Create upstream's tables (as upstream defines them) and canarywatch's state tables."""
    upstream_metadata.create_all(engine)
    ensure_state_schema(engine)
    ensure_summary_tables(engine)


def clear_all(engine: Engine) -> None:
    """Delete every row from every table (tests reuse one database per backend)."""
    tables = [*reversed(upstream_metadata.sorted_tables), *reversed(state_metadata.sorted_tables), *summary_tables()]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.schema}"."{t.name}"' if t.schema else f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
        else:
            for table in tables:
                conn.execute(table.delete())
