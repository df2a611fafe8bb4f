"""Arming "roll back automatically" for one active canary: a super-admin write, audited.

The armed flag belongs to one canary (workspace, field and its split: analysis/watch_state.canary_key),
so re-enabling the field later starts a canary that is not armed. The flag and its audit-log row
(field `autoRollback.<field>`, old -> new, the reason) commit together or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from analysis.canary.active import ActiveCanary, active_canaries
from analysis.watch_state import ARMING_FIELD_PREFIX, canary_key
from auth.roles import Role, User
from db.state import audit_log, auto_rollback, ensure_state_schema
from queries import events, settings
from queries.filters import Window, naive_utc
from rollout.service import MAX_REASON, WriteRefused

#: how far back the audit log is read for the enabling changes (as the canary page does)
HISTORY = timedelta(days=3650)


@dataclass(frozen=True)
class Arming:
    canary: ActiveCanary
    key: str
    armed: bool
    changed: bool  # False: it already was in that state (nothing written)


def active_now(engine: Engine, end: datetime) -> list[ActiveCanary]:
    """The active canaries at `end`, computed as the canary page computes them."""
    everyone = Window(end - HISTORY, end)
    with engine.connect() as conn:
        return active_canaries(settings.workspace_settings(conn, everyone), events.rollout_events(conn, everyone),
                               end=end)


def set_armed(engine: Engine, actor: User, workspace: str, field: str, *, armed: bool, reason: str,
              now: datetime | None = None) -> Arming:
    """Arm or disarm the automatic rollback of the active canary (workspace, field)."""
    if Role.SUPER_ADMIN not in actor.roles:
        raise WriteRefused("only a super_admin may arm or disarm an automatic rollback")
    if not reason or not reason.strip():
        raise WriteRefused("a reason is required for every change")
    if len(reason.strip()) > MAX_REASON:
        raise WriteRefused(f"a reason has at most {MAX_REASON} characters")
    when = now or datetime.now(UTC)
    ensure_state_schema(engine)
    canary = next((c for c in active_now(engine, when) if c.workspace == workspace and c.field == field), None)
    if canary is None:
        raise WriteRefused(f"{field} is not an active canary in workspace {workspace!r}: only an active canary "
                           "can be armed")
    key = canary_key(workspace, field, canary.since)
    stamp = naive_utc(when)
    with engine.begin() as conn:
        a = auto_rollback.c
        before = bool(conn.execute(select(a.armed).where(a.canaryKey == key)).scalar_one_or_none())
        if before == armed:
            return Arming(canary, key, armed, False)
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        values = {"armed": armed, "changedBy": actor.username, "changedAt": stamp}
        conn.execute(dialect.insert(auto_rollback).values(canaryKey=key, workspaceId=workspace, field=field, **values)
                     .on_conflict_do_update(index_elements=["canaryKey"], set_=values))
        conn.execute(insert(audit_log).values(changedAt=stamp, actor=actor.username, workspaceId=workspace,
                                              field=ARMING_FIELD_PREFIX + field, oldValue=json.dumps(before),
                                              newValue=json.dumps(armed), reason=reason.strip()))
    return Arming(canary, key, armed, True)
