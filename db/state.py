"""canarywatch's own tables, in the `canarywatch` schema (never upstream's `public`).

Upstream applies its schema with `prisma db push`, which treats unknown tables in its schema as
drift (DESIGN.md, "What it writes"), so everything canarywatch owns lives beside it. On SQLite the
schema name is translated away by the engines in db/engine.py.
"""

from __future__ import annotations

from sqlalchemy import Column, Engine, Index, Integer, MetaData, Table, Text, text

from db.engine import STATE_SCHEMA
from db.upstream import Timestamp

state_metadata = MetaData(schema=STATE_SCHEMA)

#: Every toggle or budget change made through canarywatch: who, when (UTC), old -> new, why.
#: These rows are also the rollout events the charts mark and the canary views split on.
audit_log = Table(
    "audit_log",
    state_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("changedAt", Timestamp, nullable=False),
    Column("actor", Text, nullable=False),
    Column("workspaceId", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("oldValue", Text, nullable=True),  # JSON text of the value before
    Column("newValue", Text, nullable=True),  # JSON text of the value after
    Column("reason", Text, nullable=False),
    Index("audit_log_changedAt_idx", "changedAt"),
    Index("audit_log_workspaceId_changedAt_idx", "workspaceId", "changedAt"),
)


#: Failed sign-ins, shared by every replica, so throttling holds behind a load balancer.
login_failure = Table(
    "login_failure",
    state_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", Text, nullable=False),
    Column("failedAt", Timestamp, nullable=False),
    Index("login_failure_username_failedAt_idx", "username", "failedAt"),
)


#: How often each canary window has been looked at (one count per session and window).
canary_view = Table(
    "canary_view",
    state_metadata,
    Column("windowKey", Text, primary_key=True),
    Column("views", Integer, nullable=False),
    Column("lastViewedAt", Timestamp, nullable=False),
)


#: Per user, the instant before which every session cookie is void: logout and "sign out everywhere"
#: move it forward, and every replica checks it on each cookie sign-in (a revoked JWT stays revoked).
session_epoch = Table(
    "session_epoch",
    state_metadata,
    Column("username", Text, primary_key=True),
    Column("revokedBefore", Timestamp, nullable=False),
)


#: A summary refresh step that failed (one query, one day): the other queries and days still store,
#: and every page's freshness line shows these instead of "none stored yet".
summary_failure = Table(
    "summary_failure",
    state_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("query", Text, nullable=False),
    Column("day", Timestamp, nullable=False),
    Column("errorClass", Text, nullable=False),  # the exception's class name only: never its message
    Column("failedAt", Timestamp, nullable=False),
    Index("summary_failure_failedAt_idx", "failedAt"),
)


def ensure_state_schema(engine: Engine) -> None:
    """Create the `canarywatch` schema and its tables if missing (idempotent)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{STATE_SCHEMA}"'))
        state_metadata.create_all(conn, checkfirst=True)
