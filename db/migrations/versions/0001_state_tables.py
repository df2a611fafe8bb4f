"""The state tables as the pre-Alembic create_all made them (audit log, throttle, views, sessions, failures).

A database built by create_all is stamped at this revision instead (db.state.upgrade_state_schema);
one built by an older create_all that lacks some of these gets only the missing ones.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.migrations import existing_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "canarywatch"  # translated away on SQLite by the engines (db/engine.py)
#: timestamp(3) without time zone holding UTC, as db/upstream.py's Timestamp (frozen here on purpose)
TIMESTAMP = sa.DateTime(timezone=False).with_variant(postgresql.TIMESTAMP(precision=3), "postgresql")


def upgrade() -> None:
    present = existing_tables(op.get_bind())
    if "audit_log" not in present:
        op.create_table(
            "audit_log",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("changedAt", TIMESTAMP, nullable=False),
            sa.Column("actor", sa.Text, nullable=False),
            sa.Column("workspaceId", sa.Text, nullable=False),
            sa.Column("field", sa.Text, nullable=False),
            sa.Column("oldValue", sa.Text, nullable=True),
            sa.Column("newValue", sa.Text, nullable=True),
            sa.Column("reason", sa.Text, nullable=False),
            schema=SCHEMA,
        )
        op.create_index("audit_log_changedAt_idx", "audit_log", ["changedAt"], schema=SCHEMA)
        op.create_index("audit_log_workspaceId_changedAt_idx", "audit_log", ["workspaceId", "changedAt"],
                        schema=SCHEMA)
    if "login_failure" not in present:
        op.create_table(
            "login_failure",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("username", sa.Text, nullable=False),
            sa.Column("failedAt", TIMESTAMP, nullable=False),
            schema=SCHEMA,
        )
        op.create_index("login_failure_username_failedAt_idx", "login_failure", ["username", "failedAt"],
                        schema=SCHEMA)
    if "canary_view" not in present:
        op.create_table(
            "canary_view",
            sa.Column("windowKey", sa.Text, primary_key=True),
            sa.Column("views", sa.Integer, nullable=False),
            sa.Column("lastViewedAt", TIMESTAMP, nullable=False),
            schema=SCHEMA,
        )
    if "session_epoch" not in present:
        op.create_table(
            "session_epoch",
            sa.Column("username", sa.Text, primary_key=True),
            sa.Column("revokedBefore", TIMESTAMP, nullable=False),
            schema=SCHEMA,
        )
    if "summary_failure" not in present:
        op.create_table(
            "summary_failure",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("query", sa.Text, nullable=False),
            sa.Column("day", TIMESTAMP, nullable=False),
            sa.Column("errorClass", sa.Text, nullable=False),
            sa.Column("failedAt", TIMESTAMP, nullable=False),
            schema=SCHEMA,
        )
        op.create_index("summary_failure_failedAt_idx", "summary_failure", ["failedAt"], schema=SCHEMA)


def downgrade() -> None:
    for name in ("summary_failure", "session_epoch", "canary_view", "login_failure", "audit_log"):
        op.drop_table(name, schema=SCHEMA)
