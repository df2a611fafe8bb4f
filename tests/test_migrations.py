"""The state schema under Alembic: fresh databases, create_all adoption, concurrent first starts, the CLI.

Every test gets its own fresh database (a SQLite file, or a new PostgreSQL database dropped after),
because migrations are about what a database looks like before canarywatch first touches it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, insert, inspect, select, text

import canarywatch_cli
from db.engine import STATE_SCHEMA, read_engine, write_engine
from db.state import (
    BASELINE_TABLES,
    StateSchemaError,
    audit_log,
    current_revision,
    ensure_state_schema,
    head_revision,
    inspect_schema,
    state_metadata,
    upgrade_state_schema,
)
from tests.backends import new_postgres_database

ROOT = Path(__file__).resolve().parent.parent
HEAD = "0003"  # bump with every new revision in db/migrations/versions/


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        return
    url, drop = new_postgres_database("cw_migrate")
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """For what only PostgreSQL has (schemas, advisory locks): a fresh PostgreSQL database."""
    url, drop = new_postgres_database("cw_migrate")
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def fresh_pg(fresh_pg_url: str) -> Iterator[Engine]:
    engine = write_engine(fresh_pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh(fresh_url: str) -> Iterator[Engine]:
    engine = write_engine(fresh_url)
    yield engine
    engine.dispose()


def version_rows(engine: Engine) -> list[str]:
    table = f'"{STATE_SCHEMA}".alembic_version' if engine.dialect.name == "postgresql" else "alembic_version"
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text(f"SELECT version_num FROM {table}"))]


def state_columns(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        inspector, schema = inspect(conn), inspect_schema(conn)
        return {name: [c["name"] for c in inspector.get_columns(name, schema=schema)]
                for name in inspector.get_table_names(schema=schema) if name != "alembic_version"}


def expected_columns() -> dict[str, list[str]]:
    return {t.name: [c.name for c in t.columns] for t in state_metadata.sorted_tables}


def test_the_package_head_is_the_newest_revision():
    assert head_revision() == HEAD


def test_a_fresh_database_is_migrated_to_head_with_every_declared_table_and_column(fresh):
    result = upgrade_state_schema(fresh)
    assert (result.before, result.after, result.adopted) == (None, HEAD, False)
    assert state_columns(fresh) == expected_columns()
    assert version_rows(fresh) == [HEAD]
    again = upgrade_state_schema(fresh)
    assert (again.before, again.after) == (HEAD, HEAD) and again.line() == f"state schema already at {HEAD}"


def test_postgresql_keeps_the_version_table_in_the_canarywatch_schema(fresh_pg):
    upgrade_state_schema(fresh_pg)
    with fresh_pg.connect() as conn:
        where = conn.execute(text("SELECT table_schema FROM information_schema.tables "
                                  "WHERE table_name = 'alembic_version'")).scalars().all()
        public = conn.execute(text("SELECT count(*) FROM information_schema.tables "
                                   "WHERE table_schema = 'public'")).scalar_one()
    assert where == [STATE_SCHEMA] and public == 0


def test_the_migrations_produce_exactly_the_declared_metadata(fresh_pg):
    """Autogenerate finds nothing to change: db/state.py and db/migrations/ say the same thing (on
    PostgreSQL, where the schema is real; the column test covers SQLite)."""
    upgrade_state_schema(fresh_pg)
    with fresh_pg.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_schemas": True, "version_table_schema": STATE_SCHEMA,
            "include_name": lambda name, kind, _parent: kind != "schema" or name == STATE_SCHEMA,
        })
        assert compare_metadata(context, state_metadata) == []


def test_a_create_all_database_is_adopted_keeping_its_rows(fresh):
    legacy = [state_metadata.tables[f"{STATE_SCHEMA}.{name}"] for name in BASELINE_TABLES]
    with fresh.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f'CREATE SCHEMA "{STATE_SCHEMA}"'))
        state_metadata.create_all(conn, tables=legacy)
        conn.execute(insert(audit_log).values(changedAt=datetime(2026, 2, 1), actor="ops", workspaceId="ws-a",
                                              field="autoSendEnabled", oldValue="false", newValue="true",
                                              reason="before migrations"))
    result = upgrade_state_schema(fresh)
    assert (result.before, result.after, result.adopted) == (None, HEAD, True)
    assert result.line() == f"adopted the existing state tables at 0001, upgraded to {HEAD}"
    assert state_columns(fresh) == expected_columns()  # demo_info added by 0002
    assert version_rows(fresh) == [HEAD]
    with fresh.connect() as conn:
        assert conn.execute(select(audit_log.c.reason)).scalars().all() == ["before migrations"]


def test_an_older_create_all_database_missing_some_tables_gets_only_those(fresh):
    older = [state_metadata.tables[f"{STATE_SCHEMA}.{name}"] for name in ("audit_log", "login_failure")]
    with fresh.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f'CREATE SCHEMA "{STATE_SCHEMA}"'))
        state_metadata.create_all(conn, tables=older)
    result = upgrade_state_schema(fresh)
    assert (result.before, result.after, result.adopted) == (None, HEAD, False)
    assert state_columns(fresh) == expected_columns()


def test_ensure_state_schema_runs_the_migrations_then_only_reads(fresh_url):
    writer = write_engine(fresh_url)
    try:
        ensure_state_schema(writer)
        assert version_rows(writer) == [HEAD]
    finally:
        writer.dispose()
    reader = read_engine(fresh_url)  # read-only: an up-to-date schema needs no write at all
    try:
        ensure_state_schema(reader)
        with reader.connect() as conn:
            assert current_revision(conn) == HEAD
    finally:
        reader.dispose()


def test_a_read_only_role_cannot_migrate_a_fresh_database(fresh_url):
    if fresh_url.startswith("sqlite"):
        Path(fresh_url.removeprefix("sqlite:///")).write_bytes(b"")  # an empty database file exists
    reader = read_engine(fresh_url)
    try:
        with pytest.raises(Exception) as raised:  # noqa: PT011 - the read engine's refusal (db/engine.py)
            ensure_state_schema(reader)
        assert "read statements only" in str(raised.value)
    finally:
        reader.dispose()


def test_a_revision_newer_than_this_code_is_refused_by_migrate_and_tolerated_on_start(fresh):
    upgrade_state_schema(fresh)
    table = f'"{STATE_SCHEMA}".alembic_version' if fresh.dialect.name == "postgresql" else "alembic_version"
    with fresh.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET version_num = '9999'"))
    with pytest.raises(StateSchemaError, match="revision 9999, which this canarywatch does not know"):
        upgrade_state_schema(fresh)
    ensure_state_schema(fresh)  # an older replica during a rolling upgrade keeps running
    assert version_rows(fresh) == ["9999"]


def test_eight_concurrent_threads_on_a_fresh_database_all_succeed_with_one_version_row(fresh_url):
    start, errors, results = threading.Barrier(8), [], []
    engines = [write_engine(fresh_url) for _ in range(8)]

    def first_start(engine: Engine) -> None:
        start.wait()
        try:
            results.append(upgrade_state_schema(engine))
        except Exception as exc:  # noqa: BLE001 - every failure is what this test counts
            errors.append(repr(exc))

    threads = [threading.Thread(target=first_start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert errors == []
    assert sorted(r.before or "none" for r in results) == [HEAD] * 7 + ["none"]  # exactly one migrated
    check = write_engine(fresh_url)
    try:
        assert version_rows(check) == [HEAD]
    finally:
        check.dispose()


def test_eight_concurrent_processes_on_a_fresh_postgresql_database_all_succeed(fresh_pg_url):
    """Eight replicas' first start at once (the advisory lock; the old create_all gave 7 UniqueViolation).
    SQLite writers serialise on BEGIN IMMEDIATE (the thread test covers them)."""
    fresh_url = fresh_pg_url
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    procs = [subprocess.Popen([sys.executable, "-c", "import sys, canarywatch_cli; sys.exit(canarywatch_cli.main("
                               f"['migrate', '--database-url', {fresh_url!r}]))"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    outcomes = [(p.wait(timeout=120), p.stderr.read().strip()) for p in procs]
    assert [code for code, _ in outcomes] == [0] * 8, outcomes
    lines = sorted(err.splitlines()[-1] for _, err in outcomes)
    assert lines == [f"state schema already at {HEAD}"] * 7 + [f"state schema upgraded from nothing to {HEAD}"]
    engine = write_engine(fresh_url)
    try:
        assert version_rows(engine) == [HEAD]
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0
    finally:
        engine.dispose()


def test_cli_migrate_check_then_migrate(fresh_url, capsys):
    assert canarywatch_cli.main(["migrate", "--check", "--database-url", fresh_url]) == 1
    assert capsys.readouterr().err.strip() == f"state schema at nothing, newest {HEAD}"
    assert canarywatch_cli.main(["migrate", "--database-url", fresh_url]) == 0
    assert capsys.readouterr().err.strip() == f"state schema upgraded from nothing to {HEAD}"
    assert canarywatch_cli.main(["migrate", "--check", "--database-url", fresh_url]) == 0
    assert capsys.readouterr().err.strip() == f"state schema at {HEAD}, newest {HEAD}"


def test_cli_migrate_on_an_unreachable_database_exits_3(capsys):
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
    assert canarywatch_cli.main(["migrate", "--database-url", url]) == 3
    assert capsys.readouterr().err.strip() == "error: database unreachable (OperationalError)"


def test_the_embedded_demo_is_migrated_when_built_and_when_kept(tmp_path):
    from demo.embedded import ensure_demo_database, stored_demo_info

    path = tmp_path / "demo.sqlite"
    story = ensure_demo_database(path, scale=4)
    engine = write_engine(f"sqlite:///{path}")
    try:
        assert version_rows(engine) == [HEAD]
        with engine.begin() as conn:  # as a demo file from before migrations: no version table
            conn.execute(text("DROP TABLE alembic_version"))
    finally:
        engine.dispose()
    kept = ensure_demo_database(path, scale=4, now=story.end)
    assert kept.end == story.end and stored_demo_info(path)[0] == story.end
    engine = write_engine(f"sqlite:///{path}")
    try:
        assert version_rows(engine) == [HEAD]
    finally:
        engine.dispose()
