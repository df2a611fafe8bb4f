"""Issue 12 findings 9 and 11: the read engine cannot be talked into writing, SQLite reads are bounded
in time, and 20 concurrent SQLite writers never see a raw "database is locked"."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from auth.roles import Role
from auth.session import User
from db import upstream as up
from db.engine import ReadOnlyStatement, StatementTimeout, read_engine, statement_kind, write_engine
from db.state import audit_log
from demo.schema import create_schema
from rollout.service import set_toggle
from tests.seed import Seed

ADMIN = User("admin", "Admin", frozenset({Role.SUPER_ADMIN}))


def client_name(db, workspace: str) -> str:
    with db.backend.write.connect() as conn:
        return conn.execute(select(up.client.c.name).where(up.client.c.id == workspace)).scalar_one()


@pytest.mark.parametrize("attack", [
    'SET TRANSACTION READ WRITE; UPDATE "Client" SET "name" = \'owned\'',
    'UPDATE "Client" SET "name" = \'owned\'',
    'START TRANSACTION READ WRITE',
    "PRAGMA query_only = OFF",
    'SELECT 1; UPDATE "Client" SET "name" = \'owned\'',
    'SELECT 1 /* ; */; UPDATE "Client" SET "name" = \'owned\'',
    "EXPLAIN ANALYZE UPDATE \"Client\" SET \"name\" = 'owned'",
])
def test_the_read_engine_refuses_anything_but_one_read(db, attack):
    db.seed.workspace("ws-a", name="Alpha")
    with db.backend.read.connect() as conn:
        with pytest.raises(ReadOnlyStatement, match="single read statements only"):
            conn.exec_driver_sql(attack)
        conn.commit()
    assert client_name(db, "ws-a") == "Alpha"


def test_a_read_that_tries_to_switch_the_transaction_to_read_write_writes_nothing(db):
    """What passes the statement check still meets a read-only transaction (PostgreSQL) or file (SQLite)."""
    db.seed.workspace("ws-a", name="Alpha")
    with db.backend.read.connect() as conn:
        if db.name == "postgresql":
            with pytest.raises(DBAPIError, match="read-write mode must be set before any query"):
                conn.execute(text("SELECT set_config('transaction_read_only', 'off', true)"))
            conn.rollback()
            conn.execute(text("SELECT set_config('default_transaction_read_only', 'off', false)"))
            conn.commit()  # the session default is off now: the next transaction is still BEGIN READ ONLY
            with pytest.raises(DBAPIError, match="read-only transaction"):
                conn.execute(text('WITH changed AS (UPDATE "Client" SET "name" = \'owned\' RETURNING "id") '
                                  "SELECT count(*) FROM changed"))
        else:  # SQLite has no writing WITH; under the statement check, the file itself is read-only
            import sqlite3

            with pytest.raises(sqlite3.OperationalError, match="readonly database"):
                conn.connection.dbapi_connection.execute('UPDATE "Client" SET "name" = \'owned\'')
        conn.rollback()
    assert client_name(db, "ws-a") == "Alpha"


def test_statement_kind_is_blunt_about_anything_unusual():
    assert statement_kind("SELECT 1") == "SELECT"
    assert statement_kind("(SELECT 1) UNION (SELECT 2);") == "SELECT"
    assert statement_kind("WITH x AS (SELECT 1) SELECT * FROM x") == "WITH"
    for sql in ("SELECT 1; SELECT 2", "SELECT e'\\'' ; COMMIT", "-- c\nSELECT 1", "/* */ SELECT 1", "", "  ;"):
        assert statement_kind(sql) is None, sql


def test_a_read_longer_than_the_statement_timeout_is_stopped(db):
    """SQLite had no limit (a 31.8 s query ran to the end); now both stop at the statement timeout."""
    engine = read_engine(db.backend.url, statement_timeout_ms=300)
    slow = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000000) "
            "SELECT count(*) FROM n")
    try:
        with engine.connect() as conn:
            expected = StatementTimeout if db.name == "sqlite" else OperationalError
            with pytest.raises(expected, match="statement timeout|canceling statement"):
                conn.execute(text(slow)).scalar_one()
            conn.rollback()
            assert conn.execute(text("SELECT 1")).scalar_one() == 1  # the next statement gets its own limit
    finally:
        engine.dispose()


def test_twenty_concurrent_sqlite_writers_never_see_database_is_locked(tmp_path):
    url = f"sqlite:///{tmp_path / 'writers.sqlite'}"
    engine = write_engine(url)
    create_schema(engine)
    seed = Seed(engine)
    workspaces = [seed.workspace(f"ws-{i:02d}", settings={}) for i in range(20)]
    failures: list[str] = []

    def writer(workspace: str) -> None:
        on = False
        for n in range(50):
            try:
                set_toggle(engine, ADMIN, workspace, "autoBookMeetings", expected_old=on, new=not on,
                           reason=f"flip {n}")
                on = not on
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=writer, args=(w,)) for w in workspaces]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        audited = conn.execute(select(audit_log.c.id)).all()
    engine.dispose()
    assert failures == []
    assert len(audited) == 1000
