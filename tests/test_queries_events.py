"""Rollout events from the audit log: window edges, workspace filter, latest enabling change, no table."""

from datetime import UTC

from sqlalchemy import text

from db.engine import read_engine
from queries import events
from queries.filters import Window
from tests.seed import at


def plant(db):
    db.seed.audit("ws-a", when=at(minutes=-60), field="leadContextBundleEnabled", old="false", new="true")
    db.seed.audit("ws-b", when=at(minutes=-30), field="autoSendRevisionEnabled", old="false", new="true")
    db.seed.audit("ws-a", when=at(minutes=-10), field="autoSendRevisionEnabled", old="true", new="false")
    db.seed.audit("ws-a", when=at(), field="leadContextBundleEnabled", old="true", new="false")


def test_events_in_window_oldest_first_and_half_open(db):
    plant(db)
    frame = events.rollout_events(db.conn, Window(at(minutes=-60), at()))
    assert list(frame["field"]) == ["leadContextBundleEnabled", "autoSendRevisionEnabled", "autoSendRevisionEnabled"]
    assert frame["changed_at"].iloc[0] == at(minutes=-60).astimezone(UTC)
    assert list(frame["workspace"]) == ["ws-a", "ws-b", "ws-a"]  # the event at exactly `end` is out


def test_workspace_filter(db):
    plant(db)
    frame = events.rollout_events(db.conn, Window(at(minutes=-90), at(minutes=1), workspaces=("ws-b",)))
    assert list(frame["new_value"]) == ["true"]


def test_latest_enabling_change_ignores_switch_offs_and_later_events(db):
    plant(db)
    latest = events.latest_enabling_change(db.conn, Window(at(minutes=-90), at(minutes=1)))
    assert (latest.iloc[0]["workspace"], latest.iloc[0]["field"]) == ("ws-b", "autoSendRevisionEnabled")
    only_a = events.latest_enabling_change(db.conn, Window(at(minutes=-90), at(minutes=1), workspaces=("ws-a",)))
    assert only_a.iloc[0]["changed_at"] == at(minutes=-60).astimezone(UTC)
    before = events.latest_enabling_change(db.conn, Window(at(minutes=-90), at(minutes=-60)))
    assert before.empty  # an event exactly at `end` is not yet visible


def test_missing_audit_table_reads_as_no_events(db):
    plant(db)
    with db.backend.write.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text('DROP TABLE "canarywatch"."audit_log"'))
        else:
            conn.execute(text('DROP TABLE "audit_log"'))
    engine = read_engine(db.backend.url)
    try:
        with engine.connect() as conn:
            frame = events.rollout_events(conn, Window(at(minutes=-90), at(minutes=1)))
            assert frame.empty and list(frame.columns) == events.COLUMNS
            assert events.latest_enabling_change(conn, Window(at(minutes=-90), at(minutes=1))).empty
    finally:
        engine.dispose()
        from db.state import audit_log

        audit_log.create(db.backend.write)  # the migrations see the schema at head: put the table back by hand
