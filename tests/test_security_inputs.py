"""Issue 12 findings 5 and 6: hostile inputs are refused with their limit before any database work,
and a failing write database becomes one clear message and a log line without secrets."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from analysis.budgets import BudgetError, parse_budgets
from auth.roles import Role
from auth.session import User
from db import upstream as up
from db.engine import write_engine
from db.state import audit_log
from rollout.service import WriteFailed, WriteRefused, set_budgets, set_toggle

ADMIN = User("admin", "Admin", frozenset({Role.SUPER_ADMIN}))
FIELD = "leadContextBundleEnabled"
DOWN = "postgresql+psycopg://canary_secret_user:hunter2@127.0.0.1:1/private_db"


def nested(levels: int, leaf: object = 1) -> object:
    value = leaf
    for _ in range(levels):
        value = {"draft": value}
    return value


def untouched(db) -> None:
    with db.backend.write.connect() as conn:
        row = conn.execute(select(up.workspace_settings.c[FIELD], up.workspace_settings.c.leadContextBundleBudgets)
                           .where(up.workspace_settings.c.clientId == "ws-a")).one()
        assert conn.execute(select(audit_log.c.id)).all() == []
    assert row[0] is False and row[1] is None


@pytest.mark.parametrize(("text", "message"), [
    ('{"draft": {"knowledge": {"maxTokens": ' + "9" * 5001 + "}}}",
     "the number '99999999999999999999'… (5,001 characters) is not an integer 0..20000"),
    ("[" * 5000 + "]" * 5000, "budgets JSON nests 5,000 levels deep; at most 4 are accepted"),
    ('{"' + "p" * 10_000_000 + '": {}}', "budgets JSON has 10,000,008 characters; at most 20,000 are accepted"),
    ('{"' + "p" * 19_000 + '": {}}',
     "'" + "p" * 80 + "'… (19,000 characters) is not a known profile (known: draft, revision, auto_send_evaluator, "
     "meeting_overseer_gate, followup_parse, followup_booking_gate)"),
    ('{"draft": {"knowledge": {"maxTokens": NaN}}}', "NaN is not an integer 0..20000"),
])
def test_hostile_budgets_text_is_refused_with_its_limit(text, message):
    with pytest.raises(BudgetError) as refused:
        parse_budgets(text)
    assert str(refused.value) == message


@pytest.mark.parametrize(("new", "expected_old", "message"), [
    (nested(100_000), None, "the new value nests more than 4 levels deep; budgets have at most 4"),
    ({"draft": {}}, nested(100_000), "the value you saw nests more than 4 levels deep; budgets have at most 4"),
])
def test_deeply_nested_budgets_on_the_service_are_refused(db, new, expected_old, message):
    db.seed.workspace("ws-a", settings={})
    with pytest.raises(WriteRefused) as refused:
        set_budgets(db.backend.write, ADMIN, "ws-a", expected_old=expected_old, new=new, reason="deep")
    assert str(refused.value) == message
    untouched(db)


@pytest.mark.parametrize(("workspace", "reason", "message"), [
    ("ws-a", "rollback\x00now", "a reason may not contain control characters (U+0000, e.g. an ANSI escape or NUL): "
                                "'rollback\\x00now'"),
    ("ws-a", "ok \x1b[2J\x1b[31mDONE", "a reason may not contain control characters (U+001B, e.g. an ANSI escape or "
                                       "NUL): 'ok \\x1b[2J\\x1b[31mDONE'"),
    ("ws-a", "line one\nline two", "a reason may not contain control characters (U+000A, e.g. an ANSI escape or "
                                   "NUL): 'line one\\nline two'"),
    ("ws-a", "swap \u202eevil", "a reason may not contain control characters (U+202E, e.g. an ANSI escape or NUL): "
                                "'swap \\u202eevil'"),
    ("ws-a\x00", "fine", "a workspace id may not contain control characters (U+0000): 'ws-a\\x00'"),
    ("w" * 10_000_000, "fine", "a workspace id has at most 100 characters; got '" + "w" * 80
     + "'… (10,000,000 characters)"),
    ("ws-a", "x" * 10_000_000, "a reason has at most 500 characters; this one has 10,000,000"),
])
def test_control_characters_and_huge_values_are_refused_before_the_database(db, workspace, reason, message):
    """NUL raised DataError on PostgreSQL and was stored on SQLite; ANSI escapes were stored and shown."""
    db.seed.workspace("ws-a", settings={})
    with pytest.raises(WriteRefused) as refused:
        set_toggle(db.backend.write, ADMIN, workspace, FIELD, expected_old=False, new=True, reason=reason)
    assert str(refused.value) == message
    untouched(db)


def test_refusals_come_before_any_database_work():
    """Against a database that does not answer, a bad input is still refused (not a connection error)."""
    engine = write_engine(DOWN)
    with pytest.raises(WriteRefused, match="control characters"):
        set_toggle(engine, ADMIN, "ws-a", FIELD, expected_old=False, new=True, reason="\x00")
    engine.dispose()


def test_a_write_database_that_is_down_gives_one_clear_message_and_a_clean_log_line(caplog):
    engine = write_engine(DOWN)
    with caplog.at_level(logging.WARNING, logger="canarywatch.rollout"), pytest.raises(WriteFailed) as failed:
        set_toggle(engine, ADMIN, "ws-a", FIELD, expected_old=False, new=True, reason="widen the canary")
    engine.dispose()
    assert str(failed.value) == ("the write database failed (OperationalError); the change was not saved. "
                                 "Try again in a moment; the audit log shows every change that was")
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert logged == "rollout write failed: OperationalError (workspace id of 4 characters, field " + FIELD + ")"
    for secret in ("127.0.0.1", ":1", "canary_secret_user", "hunter2", "private_db", "Traceback"):
        assert secret not in str(failed.value) and secret not in logged
