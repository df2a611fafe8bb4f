"""The write service on both backends: role, validation, stale writes, atomicity, missing rows, races."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

from analysis.budgets import CLEAR, BudgetError, effective_budgets, parse_budgets
from auth.roles import Role
from auth.session import User
from db import upstream as up
from db.state import audit_log
from rollout import service
from rollout.service import StaleWrite, WriteRefused, set_budgets, set_toggle
from tests.seed import at

ADMIN = User("alice", "Alice", frozenset({Role.SUPER_ADMIN}))
OPERATOR = User("olga", "Olga", frozenset({Role.OPERATOR}))
BUDGETS = {"draft": {"knowledge": {"maxTokens": 3000}}}


def settings_row(db, ws):
    with db.backend.write.connect() as conn:
        return conn.execute(select(up.workspace_settings).where(up.workspace_settings.c.clientId == ws)).first()


def audit_rows(db):
    with db.backend.write.connect() as conn:
        return conn.execute(select(audit_log).order_by(audit_log.c.id)).all()


def test_toggle_write_updates_column_and_audits_it(db):
    db.seed.workspace("ws-a", settings={})
    change = set_toggle(db.backend.write, ADMIN, "ws-a", "leadContextBundleEnabled", expected_old=False, new=True,
                        reason="canary for bundle v1", now=at())
    row = settings_row(db, "ws-a")
    assert row.leadContextBundleEnabled is True
    assert row.updatedAt == at().replace(tzinfo=None)
    (audit,) = audit_rows(db)
    assert (audit.actor, audit.workspaceId, audit.field, audit.oldValue, audit.newValue, audit.reason) == (
        "alice", "ws-a", "leadContextBundleEnabled", "false", "true", "canary for bundle v1")
    assert change.created_settings_row is False


def test_missing_settings_row_is_created_with_upstream_defaults(db):
    db.seed.workspace("ws-b")  # no settings row
    change = set_toggle(db.backend.write, ADMIN, "ws-b", "autoSendRevisionEnabled", expected_old=False, new=True,
                        reason="canary", now=at())
    row = settings_row(db, "ws-b")
    assert change.created_settings_row is True
    assert row.autoSendRevisionEnabled is True
    assert row.meetingOverseerEnabled is True and row.leadContextBundleEnabled is False
    assert row.emailDraftVerificationModel == "gpt-5.2"
    assert row.createdAt == row.updatedAt == at().replace(tzinfo=None)
    assert len(row.id) == 36  # a client-side uuid, as upstream generates


@pytest.mark.parametrize(("actor", "workspace", "field", "reason", "message"), [
    (OPERATOR, "ws-a", "leadContextBundleEnabled", "x", "only a super_admin"),
    (ADMIN, "ws-zz", "leadContextBundleEnabled", "x", "unknown workspace"),
    (ADMIN, "ws-a", "autoSendEvaluatorModel", "x", "not a toggle"),
    (ADMIN, "ws-a", "leadContextBundleEnabled", "   ", "reason is required"),
    (ADMIN, "ws-a", "leadContextBundleEnabled", "x" * 501, "at most 500 characters"),
    (ADMIN, "ws-a", "leadContextBundleEnabled'; --", "x", "not a toggle"),
    (ADMIN, "ws-a' OR '1'='1", "leadContextBundleEnabled", "x", "unknown workspace"),
])
def test_refused_writes_change_nothing(db, actor, workspace, field, reason, message):
    db.seed.workspace("ws-a", settings={})
    with pytest.raises(WriteRefused, match=message):
        set_toggle(db.backend.write, actor, workspace, field, expected_old=False, new=True, reason=reason)
    assert settings_row(db, "ws-a").leadContextBundleEnabled is False
    assert audit_rows(db) == []


def test_stale_expected_value_is_refused_with_the_current_value(db):
    db.seed.workspace("ws-a", settings={"leadContextBundleEnabled": True})
    with pytest.raises(StaleWrite) as refused:
        set_toggle(db.backend.write, ADMIN, "ws-a", "leadContextBundleEnabled", expected_old=False, new=True,
                   reason="x")
    assert refused.value.current is True
    assert audit_rows(db) == []


def test_failure_after_the_update_leaves_no_partial_change(db, monkeypatch):
    db.seed.workspace("ws-a", settings={})

    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit store failed")

    monkeypatch.setattr(service, "_write_audit", broken_audit)
    with pytest.raises(RuntimeError):
        set_toggle(db.backend.write, ADMIN, "ws-a", "leadContextBundleEnabled", expected_old=False, new=True,
                   reason="x")
    assert settings_row(db, "ws-a").leadContextBundleEnabled is False
    assert audit_rows(db) == []


def test_budgets_write_and_clear_store_what_upstream_stores(db):
    db.seed.workspace("ws-a", settings={})
    set_budgets(db.backend.write, ADMIN, "ws-a", expected_old=None, new=BUDGETS, reason="smaller draft budget")
    assert settings_row(db, "ws-a").leadContextBundleBudgets == BUDGETS
    set_budgets(db.backend.write, ADMIN, "ws-a", expected_old=BUDGETS, new=CLEAR, reason="back to defaults")
    with db.backend.write.connect() as conn:
        kind = conn.execute(select(func.count()).select_from(up.workspace_settings).where(
            up.workspace_settings.c.leadContextBundleBudgets.is_(None))).scalar_one()
    assert kind == 0  # JSON null, not SQL NULL
    assert [(r.oldValue, r.newValue) for r in audit_rows(db)] == [
        ("null", '{"draft": {"knowledge": {"maxTokens": 3000}}}'),
        ('{"draft": {"knowledge": {"maxTokens": 3000}}}', "null")]


@pytest.mark.parametrize(("text", "message"), [
    ('{"draft": {"knowledge": {"maxTokens": 20001}}}', "draft.knowledge.maxTokens must be an integer 0..20000"),
    ('{"draft": {"knowledge": {"maxTokens": true}}}', "draft.knowledge.maxTokens must be an integer"),
    ('{"drafts": {}}', "drafts is not a known profile"),
    ('{"draft": {"memory": {"maxAssetTokens": 5}}}', "draft.memory.maxAssetTokens is not a known key"),
    ('{"draft": {"knowledge": {"maxTokens": 1.5}}}', "draft.knowledge.maxTokens must be an integer"),
    ('{"draft": ', "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
])
def test_malformed_budgets_are_refused_naming_the_key(db, text, message):
    db.seed.workspace("ws-a", settings={})
    with pytest.raises(BudgetError, match=message):
        set_budgets(db.backend.write, ADMIN, "ws-a", expected_old=None, new=parse_budgets(text), reason="x")
    assert settings_row(db, "ws-a").leadContextBundleBudgets is None
    assert audit_rows(db) == []


def test_parse_budgets_treats_empty_and_null_as_clear():
    assert parse_budgets("") is CLEAR and parse_budgets(" null ") is CLEAR
    merged = effective_budgets(BUDGETS)
    assert merged["draft"]["knowledge"] == {"maxTokens": 3000, "maxAssetTokens": 1200}
    assert merged["followup_parse"] == {"memory": {"maxTokens": 400, "maxEntryTokens": 200}}


def test_concurrent_writers_never_lose_an_update(db):
    """Two threads, two connections, both saw False: exactly one wins, the other is refused as stale."""
    db.seed.workspace("ws-c")  # no settings row: the insert race is part of the test
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def writer(name: str) -> None:
        barrier.wait()
        try:
            set_toggle(db.backend.write, User(name, name, frozenset({Role.SUPER_ADMIN})), "ws-c",
                       "leadContextBundleEnabled", expected_old=False, new=True, reason=f"by {name}")
            outcomes.append("written")
        except StaleWrite:
            outcomes.append("stale")

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["stale", "written"]
    assert len(audit_rows(db)) == 1
    with db.backend.write.connect() as conn:
        assert conn.execute(select(func.count()).select_from(up.workspace_settings)).scalar_one() == 1


def wait_until_a_writer_waits_on_a_lock(db, timeout: float = 30.0) -> None:
    """PostgreSQL: poll (a fresh snapshot each time) until some backend of this database waits on a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.backend.read.connect() as conn:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar_one()
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the second writer never waited for the first one's lock")


def overlapping_writers(db, monkeypatch, second_field: str) -> dict[str, object]:
    """The first writer stops inside its transaction (row updated, audit written, not committed) until
    the second has started and, on PostgreSQL, is seen waiting on the lock; then both finish."""
    inside, release = threading.Event(), threading.Event()
    real_audit = service._write_audit

    def audit_then_hold(*args, **kwargs):
        real_audit(*args, **kwargs)
        if threading.current_thread().name == "first":
            inside.set()
            release.wait(30)

    monkeypatch.setattr(service, "_write_audit", audit_then_hold)
    results: dict[str, object] = {}

    def writer(field: str) -> None:
        name = threading.current_thread().name
        try:
            results[name] = set_toggle(db.backend.write, User(name, name, frozenset({Role.SUPER_ADMIN})), "ws-c",
                                       field, expected_old=False, new=True, reason=f"by {name}")
        except StaleWrite as exc:
            results[name] = exc

    first = threading.Thread(name="first", target=writer, args=("leadContextBundleEnabled",))
    second = threading.Thread(name="second", target=writer, args=(second_field,))
    first.start()
    assert inside.wait(30)
    second.start()
    if db.name == "postgresql":
        wait_until_a_writer_waits_on_a_lock(db)
    release.set()
    first.join()
    second.join()
    return results


def test_a_writer_that_waited_for_the_lock_is_refused_as_stale(db, monkeypatch):
    """Both saw False for the same column (row missing too): the second really waits inside its
    transaction for the first, then sees True and is refused; only the first is audited."""
    db.seed.workspace("ws-c")
    results = overlapping_writers(db, monkeypatch, "leadContextBundleEnabled")
    assert isinstance(results["first"], service.Change)
    assert isinstance(results["second"], StaleWrite) and results["second"].current is True
    assert [(r.actor, r.field, r.oldValue, r.newValue) for r in audit_rows(db)] == [
        ("first", "leadContextBundleEnabled", "false", "true")]
    assert settings_row(db, "ws-c").leadContextBundleEnabled is True


def test_overlapping_writers_of_different_toggles_both_land(db, monkeypatch):
    """Same row, different columns: the second waits, then both changes are kept and both audited."""
    db.seed.workspace("ws-c", settings={})
    results = overlapping_writers(db, monkeypatch, "autoSendRevisionEnabled")
    assert all(isinstance(r, service.Change) for r in results.values())
    row = settings_row(db, "ws-c")
    assert (row.leadContextBundleEnabled, row.autoSendRevisionEnabled) == (True, True)
    assert sorted((r.actor, r.field) for r in audit_rows(db)) == [
        ("first", "leadContextBundleEnabled"), ("second", "autoSendRevisionEnabled")]
