"""Test databases: a SQLite file and a fresh PostgreSQL database, created once per test session.

Speed (the suite runs thousands of tiny transactions): test databases on PostgreSQL run with
`synchronous_commit = off` and the test writer on SQLite with `PRAGMA synchronous = OFF` (no wait for
the disk at commit; what is read back is the same), and `empty()` clears only the tables that hold
rows, leaving the database exactly as `demo.schema.clear_all` does.

PostgreSQL comes from CANARYWATCH_TEST_PG_URL (default: the local server, user postgres). Under
CI=true an unreachable server fails the run; on a developer machine without one, the PostgreSQL
half is skipped with a message saying so.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, literal, select, text
from sqlalchemy.engine import make_url

from db.engine import read_engine, write_engine
from db.state import state_metadata
from db.upstream import upstream_metadata
from demo.schema import create_schema
from summaries.declarations import all_tables as summary_tables

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Backend:
    name: str
    url: str
    write: Engine
    read: Engine
    drop: object = None

    def dispose(self) -> None:
        self.read.dispose()
        self.write.dispose()
        if callable(self.drop):
            self.drop()


def pg_admin_url() -> str:
    return os.environ.get("CANARYWATCH_TEST_PG_URL", DEFAULT_PG_ADMIN_URL)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def new_postgres_database(prefix: str = "cw_test") -> tuple[str, object]:
    """Create a uniquely named database on the test server; return its URL and a drop function."""
    admin_url = pg_admin_url()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        admin.dispose()
        where = make_url(admin_url).render_as_string(hide_password=True)
        message = f"PostgreSQL not reachable at {where}: {type(exc).__name__}"
        if in_ci():
            pytest.fail(f"{message}; CI must run the PostgreSQL tests", pytrace=False)
        pytest.skip(f"{message}; PostgreSQL tests skipped on this machine (set CANARYWATCH_TEST_PG_URL)")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # durability is not under test: commits need not wait for the disk (a loaded CI machine's fsyncs
        # otherwise dominate the thousands of one-row seeding transactions)
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def _no_sync_on_commit(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragma(dbapi_conn, _record):  # noqa: ANN001 - DBAPI connection
        dbapi_conn.execute("PRAGMA synchronous = OFF")


def open_backend(name: str, tmp_dir: Path, prefix: str = "cw_test") -> Backend:
    if name == "sqlite":
        url = f"sqlite:///{tmp_dir / f'{prefix}.sqlite'}"
        drop = None
    else:
        url, drop = new_postgres_database(prefix)
    writer = write_engine(url)
    if name == "sqlite":
        _no_sync_on_commit(writer)
    create_schema(writer)
    return Backend(name, url, writer, read_engine(url, statement_timeout_ms=20_000), drop)


def _tables() -> list:
    """Every table `clear_all` clears, children before parents."""
    return [*reversed(upstream_metadata.sorted_tables), *reversed(state_metadata.sorted_tables), *summary_tables()]


def empty(engine: Engine) -> None:
    """Leave the database as `demo.schema.clear_all` does (no rows, PostgreSQL sequences restarted), but
    write only where a test wrote: one read finds the tables holding rows (and the sequences a test
    used), and only those are deleted from (and restarted). A TRUNCATE of every table costs a file per
    table and index on PostgreSQL, which a test that planted three rows should not pay."""
    tables = _tables()
    probe = select(*(select(literal(1)).select_from(t).exists().label(f"t{i}") for i, t in enumerate(tables)))
    with engine.connect() as conn:
        held = conn.execute(probe).one()
        used: list[tuple[str, str]] = []
        if conn.dialect.name == "postgresql":
            used = [tuple(r) for r in conn.execute(text(
                "SELECT pg_sequences.schemaname, pg_sequences.sequencename FROM pg_sequences "
                "WHERE pg_sequences.last_value IS NOT NULL"))]
    full = [t for t, has_rows in zip(tables, held, strict=True) if has_rows]
    if not full and not used:
        return
    with engine.begin() as conn:
        for table in full:
            conn.execute(table.delete())
        for schema, sequence in used:
            conn.execute(text(f'ALTER SEQUENCE "{schema}"."{sequence}" RESTART'))
