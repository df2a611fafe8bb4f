"""Rollout events: canarywatch's own audit log of toggle and budget changes (db/state.py).

Upstream stores no rollout history (DATA_CONTRACT.md section 2), so these rows are the only record
of when a change reached a workspace: the markers on every time-series chart and the default split
point of the canary and pre/post views.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, inspect, select

from db.engine import STATE_SCHEMA
from db.state import audit_log
from queries.filters import Window, naive_utc
from queries.frame import query, read_frame

COLUMNS = ["changed_at", "workspace", "field", "old_value", "new_value", "actor", "reason"]


def _audit_log_exists(conn: Connection) -> bool:
    """False on an upstream database where canarywatch has never written (no state schema yet)."""
    translate = conn.get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(STATE_SCHEMA, STATE_SCHEMA)
    return inspect(conn).has_table(audit_log.name, schema=schema)


def _columns():
    c = audit_log.c
    return (c.changedAt.label("changed_at"), c.workspaceId.label("workspace"), c.field.label("field"),
            c.oldValue.label("old_value"), c.newValue.label("new_value"), c.actor.label("actor"),
            c.reason.label("reason"))


@query("Rollout events: toggle and budget changes made through canarywatch (audit log, changedAt in the window).")
def rollout_events(conn: Connection, f: Window) -> pd.DataFrame:
    if not _audit_log_exists(conn):
        return pd.DataFrame(columns=COLUMNS)
    stmt = (select(*_columns())
            .where(*f.clauses(time=audit_log.c.changedAt, workspace=audit_log.c.workspaceId))
            .order_by(audit_log.c.changedAt, audit_log.c.id))
    return read_frame(conn, stmt)


@query("The most recent change that switched a toggle on, before the window's end (audit log).")
def latest_enabling_change(conn: Connection, f: Window) -> pd.DataFrame:
    """One row (or none): the default canary workspace and split time for the canary views."""
    if not _audit_log_exists(conn):
        return pd.DataFrame(columns=COLUMNS)
    stmt = (select(*_columns())
            .where(audit_log.c.newValue == "true", audit_log.c.changedAt < naive_utc(f.end))
            .order_by(audit_log.c.changedAt.desc(), audit_log.c.id.desc())
            .limit(1))
    if f.workspaces:
        stmt = stmt.where(audit_log.c.workspaceId.in_(f.workspaces))
    return read_frame(conn, stmt)
