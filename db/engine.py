"""Engines: a read-only one with a statement timeout for queries/, a writing one for rollout/.

Reads on PostgreSQL run with `default_transaction_read_only=on` and `statement_timeout` set at
connection start, so no code path on the read engine can write or run away. SQLite opens the
file read-only (`mode=ro`). canarywatch's own tables live in the `canarywatch` schema; SQLite has
no schemas, so there the name is translated away.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

STATE_SCHEMA = "canarywatch"


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("canarywatch needs a SQLite file, not an in-memory database")
    return Path(database)


def _sqlite_pragmas(engine: Engine, *, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001 - DBAPI connection
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout = 5000")
        if read_only:
            cursor.execute("PRAGMA query_only = ON")
        cursor.close()


def _sqlite_immediate_transactions(engine: Engine) -> None:
    """Writers take SQLite's write lock at BEGIN (SQLAlchemy's documented pysqlite recipe), so a
    read-check-write in one transaction cannot interleave with another writer."""

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def read_engine(url: str, *, statement_timeout_ms: int = 15_000) -> Engine:
    """An engine that cannot write, with every statement bounded in time (PostgreSQL)."""
    if _is_sqlite(url):
        path = _sqlite_path(url)
        engine = create_engine(
            f"sqlite:///file:{path}?mode=ro&uri=true",
            execution_options={"schema_translate_map": {STATE_SCHEMA: None}},
        )
        _sqlite_pragmas(engine, read_only=True)
        return engine
    options = f"-c default_transaction_read_only=on -c statement_timeout={int(statement_timeout_ms)}"
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={"options": options, "connect_timeout": 5, "application_name": "canarywatch-read"},
    )


def write_engine(url: str, *, statement_timeout_ms: int = 15_000) -> Engine:
    """The engine only rollout/ (and the demo seeder) opens writing transactions on."""
    if _is_sqlite(url):
        engine = create_engine(url, execution_options={"schema_translate_map": {STATE_SCHEMA: None}})
        _sqlite_pragmas(engine, read_only=False)
        _sqlite_immediate_transactions(engine)
        return engine
    options = f"-c statement_timeout={int(statement_timeout_ms)}"
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=2,
        max_overflow=2,
        connect_args={"options": options, "connect_timeout": 5, "application_name": "canarywatch-write"},
    )
