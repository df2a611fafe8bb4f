"""demo_info: how the embedded demo data was generated (demo/embedded.py), now migrated with the rest.

The demo's own create_all made it before; a database that has it keeps it.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.migrations import existing_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "canarywatch"
TIMESTAMP = sa.DateTime(timezone=False).with_variant(postgresql.TIMESTAMP(precision=3), "postgresql")


def upgrade() -> None:
    if "demo_info" in existing_tables(op.get_bind()):
        return
    op.create_table(
        "demo_info",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("generatedEnd", TIMESTAMP, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("scale", sa.Integer, nullable=False),
        sa.Column("builtAt", TIMESTAMP, nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("demo_info", schema=SCHEMA)
