"""The one way canarywatch writes upstream settings: checked, locked, compared, audited, atomic.

Every write (a toggle or the bundle budgets) runs in one transaction that locks the workspace's
settings row, refuses if the value is no longer what the user saw (never a lost update), creates a
missing row the way upstream would, updates the column and `updatedAt`, and records the change in
canarywatch's audit log. Either all of it commits or none of it.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from analysis.budgets import CLEAR, validate_budgets
from analysis.inputs import MAX_DEPTH, control_character, depth, quote, shown
from auth.roles import Role, User
from db import catalog
from db import upstream as up
from db.engine import DatabaseBusy
from db.state import audit_log, ensure_state_schema
from queries.filters import naive_utc

TOGGLE_FIELDS = catalog.TOGGLE_FIELDS
BUDGETS_FIELD = catalog.BUDGETS_FIELD
MAX_REASON = 500  # the page's limit too
MAX_WORKSPACE_ID = 100  # upstream ids are cuids (25 characters)
settings = up.workspace_settings
log = logging.getLogger("canarywatch.rollout")


class WriteRefused(Exception):
    """The write was not made; the message says why and is safe to show."""


class WriteFailed(Exception):
    """The database failed during the write; the message is safe to show (no host, port, path or SQL)."""


class StaleWrite(WriteRefused):
    """Someone changed the value after the user saw it; nothing was written."""

    def __init__(self, field: str, current: Any):
        super().__init__(f"{field} was changed by someone else meanwhile; it is now {json.dumps(current)}. "
                         "Nothing was written: look at the new value and decide again.")
        self.current = current


@dataclass(frozen=True)
class Change:
    workspace: str
    field: str
    old: Any
    new: Any
    at: datetime
    actor: str
    created_settings_row: bool


_schema_ready: set[int] = set()


def set_toggle(engine: Engine, actor: User, workspace: str, field: str, *, expected_old: bool, new: bool,
               reason: str, now: datetime | None = None) -> Change:
    """Switch one rollout toggle for one workspace."""
    if not isinstance(field, str) or field not in TOGGLE_FIELDS:
        raise WriteRefused(f"{shown(field)} is not a toggle canarywatch may change")
    if not isinstance(new, bool) or not isinstance(expected_old, bool):
        raise WriteRefused("a toggle is either on or off")
    return _write(engine, actor, workspace, field, expected_old, new, reason, now)


def set_budgets(engine: Engine, actor: User, workspace: str, *, expected_old: dict[str, Any] | None,
                new: dict[str, Any] | type[CLEAR], reason: str, now: datetime | None = None) -> Change:
    """Replace the bundle budgets JSON, or clear it (upstream stores the JSON literal null)."""
    for what, given in (("the value you saw", expected_old), ("the new value", new)):
        if given is not CLEAR and depth(given) > MAX_DEPTH:
            raise WriteRefused(f"{what} nests more than {MAX_DEPTH} levels deep; budgets have at most {MAX_DEPTH}")
    value = None if new is CLEAR else validate_budgets(new)
    return _write(engine, actor, workspace, BUDGETS_FIELD, expected_old, value, reason, now)


def _write(engine: Engine, actor: User, workspace: str, field: str, expected_old: Any, new: Any, reason: str,
           now: datetime | None) -> Change:
    if Role.SUPER_ADMIN not in actor.roles:
        raise WriteRefused("only a super_admin may change rollout settings")
    check_workspace_id(workspace)
    reason = check_reason(reason)
    try:
        return _write_checked(engine, actor, workspace, field, expected_old, new, reason, now)
    except SQLAlchemyError as exc:
        # the log line names the failure class only: a driver message can hold host, port, user or paths
        log.warning("rollout write failed: %s (workspace id of %d characters, field %s)", type(exc).__name__,
                    len(workspace), field)
        if isinstance(exc, DatabaseBusy):
            raise WriteFailed(str(exc)) from None
        raise WriteFailed(f"the write database failed ({type(exc).__name__}); the change was not saved. "
                          "Try again in a moment; the audit log shows every change that was") from None


def check_workspace_id(workspace: object) -> None:
    if not isinstance(workspace, str) or not workspace:
        raise WriteRefused("a workspace id is required")
    if len(workspace) > MAX_WORKSPACE_ID:
        raise WriteRefused(f"a workspace id has at most {MAX_WORKSPACE_ID} characters; got {quote(workspace)}")
    if bad := control_character(workspace):
        raise WriteRefused(f"a workspace id may not contain control characters ({bad}): {quote(workspace)}")


def check_reason(reason: object) -> str:
    """The stripped reason, or a refusal: required, at most MAX_REASON characters, no control
    characters (NUL, ANSI escapes, line breaks, bidi overrides)."""
    if not isinstance(reason, str) or not reason.strip():
        raise WriteRefused("a reason is required for every change")
    if len(reason) > 4 * MAX_REASON or len(reason.strip()) > MAX_REASON:
        raise WriteRefused(f"a reason has at most {MAX_REASON} characters; this one has {len(reason.strip()):,}")
    if bad := control_character(reason):
        raise WriteRefused(f"a reason may not contain control characters ({bad}, e.g. an ANSI escape or NUL): "
                           f"{quote(reason.strip())}")
    return reason.strip()


def _write_checked(engine: Engine, actor: User, workspace: str, field: str, expected_old: Any, new: Any,
                   reason: str, now: datetime | None) -> Change:
    if id(engine) not in _schema_ready:
        ensure_state_schema(engine)
        _schema_ready.add(id(engine))
    when = naive_utc(now or datetime.now(UTC))
    with engine.begin() as conn:
        if conn.execute(select(up.client.c.id).where(up.client.c.id == workspace)).first() is None:
            raise WriteRefused(f"unknown workspace {shown(workspace)}")
        created = _ensure_settings_row(conn, workspace, when)
        current = conn.execute(
            select(settings.c[field]).where(settings.c.clientId == workspace).with_for_update()
        ).scalar_one()
        if current != expected_old:
            raise StaleWrite(field, current)
        stored = JSON.NULL if field == BUDGETS_FIELD and new is None else new
        target = update(settings).where(settings.c.clientId == workspace)
        conn.execute(target.values({field: stored, "updatedAt": when}))
        _write_audit(conn, when, actor.username, workspace, field, current, new, reason)
    return Change(workspace, field, current, new, when.replace(tzinfo=UTC), actor.username, created)


def _ensure_settings_row(conn: Connection, workspace: str, when: datetime) -> bool:
    """Insert the upstream-default row if missing; two writers racing here both end up with one row."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(settings).values(id=str(uuid.uuid4()), clientId=workspace, createdAt=when, updatedAt=when)
    inserted = conn.execute(stmt.on_conflict_do_nothing(index_elements=["clientId"]).returning(settings.c.id))
    return inserted.first() is not None


def _write_audit(conn: Connection, when: datetime, actor: str, workspace: str, field: str, old: Any, new: Any,
                 reason: str) -> None:
    conn.execute(insert(audit_log).values(changedAt=when, actor=actor, workspaceId=workspace, field=field,
                                          oldValue=json.dumps(old, sort_keys=True),
                                          newValue=json.dumps(new, sort_keys=True), reason=reason))
