"""Counting looks at a canary window, in the state schema every replica shares."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from db.state import canary_view, ensure_state_schema
from queries.filters import naive_utc


def window_key(workspaces: tuple[str, ...], split: datetime) -> str:
    return f"{','.join(sorted(workspaces))}@{split.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def record_view(engine: Engine, key: str, *, now: datetime | None = None) -> int:
    """Add one look and return the total (an atomic upsert: concurrent viewers are all counted)."""
    ensure_state_schema(engine)
    when = naive_utc(now or datetime.now(UTC))
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(canary_view).values(windowKey=key, views=1, lastViewedAt=when)
        conn.execute(stmt.on_conflict_do_update(index_elements=["windowKey"],
                                                set_={"views": canary_view.c.views + 1, "lastViewedAt": when}))
        return conn.execute(select(canary_view.c.views).where(canary_view.c.windowKey == key)).scalar_one()
