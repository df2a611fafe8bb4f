"""The audit log page's reads: canarywatch's own record of rollout changes (db/state.py `audit_log`).

This table is canarywatch's, small (one row per change a super-admin made), and holds no upstream
personal data, so listing its rows is the point; the list is still capped. Chart markers read the
same table through queries/events.py.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, func, inspect, select

from db.engine import STATE_SCHEMA
from db.state import audit_log
from queries.filters import Window
from queries.frame import query, read_frame

ENTRY_COLUMNS = ["id", "changed_at", "workspace", "field", "old_value", "new_value", "actor", "reason"]
FACET_COLUMNS = ["field", "actor", "changes"]
MAX_ROWS = 1000


def audit_log_exists(conn: Connection) -> bool:
    """False on a database canarywatch has never written to (no state schema yet)."""
    translate = conn.get_execution_options().get("schema_translate_map") or {}
    return inspect(conn).has_table(audit_log.name, schema=translate.get(STATE_SCHEMA, STATE_SCHEMA))


def _narrowed(stmt, f: Window, fields: tuple[str, ...], actors: tuple[str, ...]):
    c = audit_log.c
    stmt = stmt.where(*f.clauses(time=c.changedAt, workspace=c.workspaceId))
    if fields:
        stmt = stmt.where(c.field.in_(fields))
    if actors:
        stmt = stmt.where(c.actor.in_(actors))
    return stmt


@query("Audit log entries: who changed which setting of which workspace, when (UTC), old → new and why; "
       "newest first.")
def audit_entries(conn: Connection, f: Window, fields: tuple[str, ...] = (), actors: tuple[str, ...] = (),
                  limit: int = MAX_ROWS) -> pd.DataFrame:
    if not audit_log_exists(conn):
        return pd.DataFrame(columns=ENTRY_COLUMNS)
    c = audit_log.c
    stmt = select(c.id.label("id"), c.changedAt.label("changed_at"), c.workspaceId.label("workspace"),
                  c.field.label("field"), c.oldValue.label("old_value"), c.newValue.label("new_value"),
                  c.actor.label("actor"), c.reason.label("reason"))
    stmt = _narrowed(stmt, f, fields, actors).order_by(c.changedAt.desc(), c.id.desc())
    return read_frame(conn, stmt.limit(max(1, min(int(limit), MAX_ROWS))))


@query("Audit log changes counted per field and actor in the window (the audit page's filter choices).")
def audit_facets(conn: Connection, f: Window) -> pd.DataFrame:
    if not audit_log_exists(conn):
        return pd.DataFrame(columns=FACET_COLUMNS)
    c = audit_log.c
    stmt = (_narrowed(select(c.field.label("field"), c.actor.label("actor"), func.count().label("changes")),
                      f, (), ())
            .group_by(c.field, c.actor).order_by(c.field, c.actor))
    return read_frame(conn, stmt)
