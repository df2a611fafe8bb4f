"""Test databases: a SQLite file and a fresh PostgreSQL database, created once per test session.

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
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from db.engine import read_engine, write_engine
from demo.schema import create_schema

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
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def open_backend(name: str, tmp_dir: Path) -> Backend:
    if name == "sqlite":
        url = f"sqlite:///{tmp_dir / 'canarywatch-test.sqlite'}"
        drop = None
    else:
        url, drop = new_postgres_database()
    writer = write_engine(url)
    create_schema(writer)
    return Backend(name, url, writer, read_engine(url, statement_timeout_ms=20_000), drop)
