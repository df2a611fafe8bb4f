"""canarywatch's own tables, in the `canarywatch` schema (never upstream's `public`), and their migrations.

Upstream applies its schema with `prisma db push`, which treats unknown tables in its schema as
drift (DESIGN.md, "What it writes"), so everything canarywatch owns lives beside it. On SQLite the
schema name is translated away by the engines in db/engine.py.

`state_metadata` declares the current shape; the Alembic revisions in db/migrations/versions/ create
and upgrade it (`canarywatch migrate`, or `ensure_state_schema` on first use). The per-query summary
tables (rollout/summaries.py) are derived data with their own lifecycle and are not migrated here.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.exc import IntegrityError

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


#: How the embedded demo data in this database was generated (one row; demo/embedded.py).
demo_info = Table(
    "demo_info",
    state_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generatedEnd", Timestamp, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("scale", Integer, nullable=False),
    Column("builtAt", Timestamp, nullable=False),
)


#: One evaluation of one active canary by `canarywatch watch` (services/watch.py) per interval slot:
#: the unique (canaryKey, slotStart) makes a second replica's insert fail instead of storing twice.
#: `status` is JSON of codes and numbers only (analysis/watch_state.py), never upstream text.
canary_evaluation = Table(
    "canary_evaluation",
    state_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("canaryKey", Text, nullable=False),  # workspace|field|split (analysis/watch_state.canary_key)
    Column("slotStart", Timestamp, nullable=False),  # the interval slot this evaluation fills
    Column("evaluatedAt", Timestamp, nullable=False),
    Column("workspaceId", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("split", Timestamp, nullable=True),  # None: enabled with no audited change
    Column("verdict", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("evidenceHash", Text, nullable=False),
    UniqueConstraint("canaryKey", "slotStart", name="canary_evaluation_canary_slot_key"),
    Index("canary_evaluation_evaluatedAt_idx", "evaluatedAt"),
)

#: One notification of one state change to one webhook target: the unique key makes "at most one
#: message per state change per canary and target" hold across replicas and retries.
notification_delivery = Table(
    "notification_delivery",
    state_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("canaryKey", Text, nullable=False),
    Column("changeKey", Text, nullable=False),  # the evaluation slot and the changes it carries
    Column("target", Text, nullable=False),  # kind:hash of the URL, never the URL (it is a secret)
    Column("workspaceId", Text, nullable=False),
    Column("payload", Text, nullable=False),  # the JSON body sent (codes, numbers, catalog text)
    Column("state", Text, nullable=False),  # pending | sending | sent | failed
    Column("attempts", Integer, nullable=False),
    Column("lastError", Text, nullable=True),  # an HTTP status or exception class name, never a body
    Column("createdAt", Timestamp, nullable=False),
    Column("updatedAt", Timestamp, nullable=False),
    UniqueConstraint("canaryKey", "changeKey", "target", name="notification_delivery_change_target_key"),
    Index("notification_delivery_state_updatedAt_idx", "state", "updatedAt"),
)

#: "Roll back automatically" armed for one active canary (canaryKey: its workspace, field and split,
#: so a later re-enable is a new canary that is not armed). Arming and disarming are audited too.
auto_rollback = Table(
    "auto_rollback",
    state_metadata,
    Column("canaryKey", Text, primary_key=True),
    Column("workspaceId", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("armed", Boolean, nullable=False),
    Column("changedBy", Text, nullable=False),
    Column("changedAt", Timestamp, nullable=False),
)


#: The tables revision 0001 adopts from a database the old `create_all` built (no alembic_version).
BASELINE_REVISION = "0001"
BASELINE_TABLES = ("audit_log", "login_failure", "canary_view", "session_epoch", "summary_failure")
#: pg_advisory_xact_lock(bigint) key: one migrator at a time across replicas (the single-bigint key
#: space never meets the (int, int) keys rollout/summaries.py takes).
MIGRATION_LOCK_KEY = 0x6377_0008
#: Alembic's `context`/`op` are module-level proxies: one migration per process at a time (Streamlit
#: runs sessions in threads).
_PROCESS_LOCK = threading.Lock()
_AT_HEAD: set[str] = set()


class StateSchemaError(RuntimeError):
    """The state schema cannot be brought to this canarywatch's revision (message says why and what to do)."""


@dataclass(frozen=True)
class MigrationResult:
    before: str | None  # revision found (None: no version table)
    after: str | None  # revision now
    head: str  # the newest revision this canarywatch knows
    adopted: bool = False  # a pre-Alembic create_all database was stamped at the baseline first

    def line(self) -> str:
        if self.adopted:
            return f"adopted the existing state tables at {BASELINE_REVISION}, upgraded to {self.after}"
        if self.before == self.after:
            return f"state schema already at {self.after}"
        return f"state schema upgraded from {self.before or 'nothing'} to {self.after}"


def version_table_schema(dialect_name: str) -> str | None:
    """Where alembic_version lives: the canarywatch schema on PostgreSQL, the main database on SQLite."""
    return STATE_SCHEMA if dialect_name == "postgresql" else None


def inspect_schema(conn: Connection) -> str | None:
    """The schema name to give the inspector (it does not apply SQLite's schema translation)."""
    return STATE_SCHEMA if conn.dialect.name == "postgresql" else None


def alembic_config(connection: Connection | None = None):  # noqa: ANN201 - alembic imported lazily
    """An Alembic Config built in code: the revisions ship inside the installed `db.migrations` package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "db:migrations")
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the package always ships revisions
    return head


@functools.cache
def known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    return frozenset(script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def current_revision(conn: Connection) -> str | None:
    """The state schema's revision (None when there is no version table yet). Read-only."""
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table_schema": version_table_schema(conn.dialect.name)})
    return context.get_current_revision()


def _has_baseline_tables(conn: Connection) -> bool:
    names = set(inspect(conn).get_table_names(schema=inspect_schema(conn)))
    return all(name in names for name in BASELINE_TABLES)


def _create_state_schema(conn: Connection) -> None:
    """CREATE SCHEMA IF NOT EXISTS, tolerating a creator outside our lock (the summary tables' own
    set-up in rollout/summaries.py): IF NOT EXISTS still raises UniqueViolation when both commit at once."""
    try:
        with conn.begin_nested():
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{STATE_SCHEMA}"'))
    except IntegrityError:
        pass  # the other creator committed it: it exists now


def upgrade_state_schema(engine: Engine) -> MigrationResult:
    """Bring the state schema to head under a lock, in one transaction (PostgreSQL: transactional DDL).

    Replicas starting together serialise on a PostgreSQL advisory lock and the later ones find the
    work done; on SQLite the write engine's BEGIN IMMEDIATE serialises them. A database built by the
    old `create_all` (tables present, no alembic_version) is stamped at the baseline, then upgraded.
    """
    from alembic import command

    head = head_revision()
    with _PROCESS_LOCK, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        before = current_revision(conn)
        if before == head:
            return MigrationResult(before, before, head)
        if before is not None and before not in known_revisions():
            raise StateSchemaError(f"the state schema is at revision {before}, which this canarywatch does not "
                                   f"know (its newest is {head}): run a newer canarywatch")
        if conn.dialect.name == "postgresql":
            _create_state_schema(conn)
        config = alembic_config(conn)
        adopted = before is None and _has_baseline_tables(conn)
        if adopted:
            command.stamp(config, BASELINE_REVISION)
        command.upgrade(config, "head")
        return MigrationResult(before, current_revision(conn), head, adopted)


def ensure_state_schema(engine: Engine) -> None:
    """Make sure the state schema is migrated to head (idempotent; cheap after the first call per database).

    A database already at head (or at a newer revision another replica applied) needs nothing but a
    read, so a write role without CREATE rights works once `canarywatch migrate` has been run.
    """
    key = engine.url.render_as_string(hide_password=True)
    if key in _AT_HEAD:
        return
    with engine.connect() as conn:
        found = current_revision(conn)
    if found != head_revision() and (found is None or found in known_revisions()):
        upgrade_state_schema(engine)
    _AT_HEAD.add(key)
