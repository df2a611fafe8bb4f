"""`canarywatch watch`'s own records: stored evaluations, notification deliveries, armed rollbacks.

Read by the watch loop (the previous evaluation of a canary, whether a slot is done, whether it is
armed) and by the Overview (delivery failures, the verdict history). Codes, numbers and hashes only:
the stored status and payloads never hold upstream text beyond a workspace's id and name.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, inspect, or_, select

from db.engine import STATE_SCHEMA
from db.state import auto_rollback, canary_evaluation, notification_delivery
from queries.filters import Window, as_utc, naive_utc
from queries.frame import query, read_frame

FAILURE_COLUMNS = ["updated_at", "workspace", "target", "state", "attempts", "last_error", "change"]
HISTORY_COLUMNS = ["evaluated_at", "slot_start", "verdict", "evidence_hash"]


def _exists(conn: Connection, table_name: str) -> bool:
    """False where canarywatch's state schema has not been migrated to the watch tables yet."""
    translate = conn.get_execution_options().get("schema_translate_map") or {}
    return inspect(conn).has_table(table_name, schema=translate.get(STATE_SCHEMA, STATE_SCHEMA))


def slot_done(conn: Connection, key: str, slot: datetime) -> bool:
    e = canary_evaluation.c
    stmt = select(e.id).where(e.canaryKey == key, e.slotStart == naive_utc(slot)).limit(1)
    return conn.execute(stmt).first() is not None


def previous_status(conn: Connection, key: str, before: datetime) -> dict[str, Any] | None:
    """The status of the canary's latest stored evaluation before the slot `before` (None: first look)."""
    e = canary_evaluation.c
    stmt = (select(e.status).where(e.canaryKey == key, e.slotStart < naive_utc(before))
            .order_by(e.slotStart.desc(), e.id.desc()).limit(1))
    found = conn.execute(stmt).scalar_one_or_none()
    return None if found is None else json.loads(found)


def canary_history(conn: Connection, key: str) -> list[tuple[datetime, str, dict[str, Any]]]:
    """Every stored look at one canary, oldest first: (evaluated at, UTC aware), verdict, status)."""
    if not _exists(conn, canary_evaluation.name):
        return []
    e = canary_evaluation.c
    stmt = select(e.evaluatedAt, e.verdict, e.status).where(e.canaryKey == key).order_by(e.slotStart, e.id)
    return [(as_utc(row.evaluatedAt), row.verdict, json.loads(row.status)) for row in conn.execute(stmt)]


def is_armed(conn: Connection, key: str) -> bool:
    a = auto_rollback.c
    return bool(conn.execute(select(a.armed).where(a.canaryKey == key)).scalar_one_or_none())


def retryable_deliveries(conn: Connection, max_attempts: int, failed_before: datetime,
                         stale_before: datetime) -> list[dict[str, Any]]:
    """Deliveries a later cycle may try again, with attempts left: ones that failed before this cycle
    began, and ones a stopped or crashed replica left pending or sending (untouched since `stale_before`)."""
    d = notification_delivery.c
    failed = and_(d.state == "failed", d.updatedAt < naive_utc(failed_before))
    left_behind = and_(d.state.in_(("pending", "sending")), d.updatedAt < naive_utc(stale_before))
    stmt = (select(d.id, d.target, d.payload, d.attempts, d.state)
            .where(or_(failed, left_behind), d.attempts < max_attempts).order_by(d.id))
    return [dict(row._mapping) for row in conn.execute(stmt)]


@query("Webhook deliveries of canary notifications that failed (canarywatch watch), updated in the window.")
def delivery_failures(conn: Connection, f: Window) -> pd.DataFrame:
    """One row per failed delivery: when, workspace, target (kind and URL hash), attempts, last error
    (an HTTP status or an exception class name) and the change it carried."""
    if not _exists(conn, notification_delivery.name):
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    d = notification_delivery.c
    stmt = (select(d.updatedAt.label("updated_at"), d.workspaceId.label("workspace"), d.target.label("target"),
                   d.state.label("state"), d.attempts.label("attempts"), d.lastError.label("last_error"),
                   d.changeKey.label("change"))
            .where(d.state == "failed", *f.clauses(time=d.updatedAt, workspace=d.workspaceId))
            .order_by(d.updatedAt.desc(), d.id.desc()))
    return read_frame(conn, stmt)


@query("Stored canary evaluations of canarywatch watch (verdict per interval), evaluated in the window.")
def evaluation_history(conn: Connection, f: Window) -> pd.DataFrame:
    if not _exists(conn, canary_evaluation.name):
        return pd.DataFrame(columns=["workspace", "field", *HISTORY_COLUMNS])
    e = canary_evaluation.c
    stmt = (select(e.workspaceId.label("workspace"), e.field.label("field"), e.evaluatedAt.label("evaluated_at"),
                   e.slotStart.label("slot_start"), e.verdict.label("verdict"), e.evidenceHash.label("evidence_hash"))
            .where(*f.clauses(time=e.evaluatedAt, workspace=e.workspaceId))
            .order_by(e.evaluatedAt, e.id))
    return read_frame(conn, stmt)
