"""`canarywatch watch`: stored canary evaluations, notification deliveries, armed automatic rollbacks.

Revision ID: 0003
Revises: 0002

A database whose tables a create_all made (the demo, the test harness) keeps them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.migrations import existing_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "canarywatch"
TIMESTAMP = sa.DateTime(timezone=False).with_variant(postgresql.TIMESTAMP(precision=3), "postgresql")


def upgrade() -> None:
    present = existing_tables(op.get_bind())  # a create_all database (the demo's, tests') may have them
    if "canary_evaluation" not in present:
        _evaluation()
    if "notification_delivery" not in present:
        _delivery()
    if "auto_rollback" not in present:
        _armed()


def _evaluation() -> None:
    op.create_table(
        "canary_evaluation",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("canaryKey", sa.Text, nullable=False),
        sa.Column("slotStart", TIMESTAMP, nullable=False),
        sa.Column("evaluatedAt", TIMESTAMP, nullable=False),
        sa.Column("workspaceId", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("split", TIMESTAMP, nullable=True),
        sa.Column("verdict", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("evidenceHash", sa.Text, nullable=False),
        sa.UniqueConstraint("canaryKey", "slotStart", name="canary_evaluation_canary_slot_key"),
        schema=SCHEMA,
    )
    op.create_index("canary_evaluation_evaluatedAt_idx", "canary_evaluation", ["evaluatedAt"], schema=SCHEMA)


def _delivery() -> None:
    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("canaryKey", sa.Text, nullable=False),
        sa.Column("changeKey", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("workspaceId", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lastError", sa.Text, nullable=True),
        sa.Column("createdAt", TIMESTAMP, nullable=False),
        sa.Column("updatedAt", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("canaryKey", "changeKey", "target", name="notification_delivery_change_target_key"),
        schema=SCHEMA,
    )
    op.create_index("notification_delivery_state_updatedAt_idx", "notification_delivery", ["state", "updatedAt"],
                    schema=SCHEMA)


def _armed() -> None:
    op.create_table(
        "auto_rollback",
        sa.Column("canaryKey", sa.Text, primary_key=True),
        sa.Column("workspaceId", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("armed", sa.Boolean, nullable=False),
        sa.Column("changedBy", sa.Text, nullable=False),
        sa.Column("changedAt", TIMESTAMP, nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for name in ("auto_rollback", "notification_delivery", "canary_evaluation"):
        op.drop_table(name, schema=SCHEMA)
