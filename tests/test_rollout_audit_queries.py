"""The audit page's reads (queries/audit.py): window edges, workspace/field/actor filters, facets."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import text

from db.state import audit_log
from queries import audit
from queries.filters import Window
from tests.seed import at

WINDOW = Window(at(hours=-1), at())


def plant(db) -> None:
    db.seed.workspace("ws-a", settings={})
    db.seed.workspace("ws-b", settings={})
    db.seed.audit("ws-a", when=at(hours=-1), field="leadContextBundleEnabled", old="false", new="true",
                  actor="alice", reason="at start: in")
    db.seed.audit("ws-a", when=at(minutes=-30), field="autoSendRevisionEnabled", old="false", new="true",
                  actor="bob", reason="middle")
    db.seed.audit("ws-b", when=at(minutes=-10), field="leadContextBundleEnabled", old="false", new="true",
                  actor="alice", reason="other workspace")
    db.seed.audit("ws-a", when=at(), field="leadContextBundleEnabled", old="true", new="false",
                  actor="alice", reason="at end: out")


def test_entries_are_newest_first_and_the_window_is_half_open(db):
    plant(db)
    frame = audit.audit_entries(db.conn, WINDOW)
    assert list(frame["reason"]) == ["other workspace", "middle", "at start: in"]
    assert frame["changed_at"].iloc[0] == pd.Timestamp(at(minutes=-10))  # aware UTC on both backends
    assert list(frame.columns) == audit.ENTRY_COLUMNS


def test_entries_filter_by_workspace_field_and_actor(db):
    plant(db)
    assert list(audit.audit_entries(db.conn, WINDOW.with_workspaces(["ws-a"]))["reason"]) == ["middle", "at start: in"]
    assert list(audit.audit_entries(db.conn, WINDOW, fields=("leadContextBundleEnabled",))["reason"]) == [
        "other workspace", "at start: in"]
    assert list(audit.audit_entries(db.conn, WINDOW, actors=("bob",))["reason"]) == ["middle"]
    assert audit.audit_entries(db.conn, WINDOW, actors=("bob",), fields=("leadContextBundleEnabled",)).empty


def test_entries_are_capped(db):
    plant(db)
    assert list(audit.audit_entries(db.conn, WINDOW, limit=1)["reason"]) == ["other workspace"]


def test_facets_count_changes_per_field_and_actor(db):
    plant(db)
    facets = audit.audit_facets(db.conn, WINDOW)
    # in the window: alice x2 on leadContextBundleEnabled (ws-a at start, ws-b), bob x1 on revision
    assert facets.to_dict("records") == [
        {"field": "autoSendRevisionEnabled", "actor": "bob", "changes": 1},
        {"field": "leadContextBundleEnabled", "actor": "alice", "changes": 2}]


def test_a_database_without_the_state_schema_reads_as_empty(db):
    db.seed.workspace("ws-a")
    with db.backend.write.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text('DROP TABLE IF EXISTS "canarywatch"."audit_log"'))
        else:
            conn.execute(text("DROP TABLE IF EXISTS audit_log"))
    try:
        assert audit.audit_entries(db.conn, WINDOW).empty
        assert audit.audit_facets(db.conn, WINDOW).empty
    finally:
        audit_log.create(db.backend.write)  # the migrations see the schema at head: put the table back by hand
