"""The harness itself: both backends build the schema, reads are read-only, seeds round-trip."""

import pytest
from sqlalchemy import func, insert, select

from db import upstream as up
from db.engine import ReadOnlyStatement
from demo import rows
from tests.seed import at


def test_read_connection_refuses_writes(db):
    with pytest.raises(ReadOnlyStatement):  # refused by the read engine before it reaches the database
        db.conn.execute(insert(up.client).values(**rows.client_row("ws-x", name="X", at=at())))
    db.conn.rollback()


def test_settings_row_takes_upstream_defaults(db):
    db.seed.workspace("ws-a", settings={})
    row = db.conn.execute(select(up.workspace_settings).where(up.workspace_settings.c.clientId == "ws-a")).one()
    assert row.leadContextBundleEnabled is False
    assert row.meetingOverseerEnabled is True
    assert row.leadContextBundleBudgets is None
    assert row.emailDraftVerificationModel == "gpt-5.2"
    assert db.conn.execute(select(func.count()).select_from(up.workspace_settings)).scalar_one() == 1
