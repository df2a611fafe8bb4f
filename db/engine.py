"""Engines: a read-only one with a statement timeout for queries/, a writing one for rollout/.

Reads, defence in depth (a read engine must not write whatever SQL reaches it):
- PostgreSQL: every transaction starts `BEGIN READ ONLY` (psycopg's `read_only`), the session default
  is `default_transaction_read_only=on`, `statement_timeout` bounds every statement, and a
  `before_cursor_execute` hook refuses anything but one plain read statement (SELECT, WITH, SHOW,
  VALUES, TABLE; no second statement, no comment): `SET TRANSACTION READ WRITE; UPDATE ...` never
  reaches the server, and a data-modifying `WITH` meets a read-only transaction.
- SQLite: the file is opened read-only (`mode=ro`, `query_only`), the same hook applies (plus the
  schema-reading PRAGMAs), and a progress handler interrupts a statement that runs longer than the
  statement timeout.
Writers on SQLite take the write lock at BEGIN and, when other writers hold it, retry for up to
`WRITE_LOCK_WAIT_SECONDS` before giving up with `DatabaseBusy` (a clear message, never a raw
"database is locked"). canarywatch's own tables live in the `canarywatch` schema; SQLite has no
schemas, so there the name is translated away.
"""

from __future__ import annotations

import math
import random
import re
import sqlite3
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

STATE_SCHEMA = "canarywatch"
#: work_mem of a read session on PostgreSQL: the summaries' stored-day aggregates sort and hash in memory
#: (set at connect, since the read engine runs no SET statement)
READ_WORK_MEM = "32MB"
SQLITE_BUSY_TIMEOUT_MS = 5_000  # one wait inside SQLite for the write lock ...
WRITE_LOCK_WAIT_SECONDS = 30.0  # ... retried up to this long in all
_READ_KEYWORDS = frozenset({"SELECT", "WITH", "SHOW", "VALUES", "TABLE",
                            # savepoints isolate one probe inside a read transaction (doctor): they write nothing
                            "SAVEPOINT", "RELEASE", "ROLLBACK"})
_SQLITE_READ_PRAGMA = re.compile(
    r"PRAGMA\s+(?:\w+\.)?(?:table_x?info|index_list|index_x?info|foreign_key_list|database_list)\s*\(\s*[\"'\w.]+\s*\)\s*$",
    re.IGNORECASE)
class ReadOnlyStatement(SQLAlchemyError):
    """A statement that is not a single read was sent through a read engine; it was not executed."""


class DatabaseBusy(SQLAlchemyError):
    """Other writers held the SQLite write lock for too long; nothing was written."""


class StatementTimeout(SQLAlchemyError):
    """A read ran longer than the statement timeout and was interrupted."""


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("canarywatch needs a SQLite file, not an in-memory database")
    return Path(database)


def statement_kind(sql: str) -> str | None:
    """The first keyword of `sql` when it is one plain statement, else None.

    Deliberately blunt, so it cannot be out-lexed (E-strings, nested comments, a session that turned
    standard_conforming_strings off): canarywatch binds every value, so its SQL never holds a literal,
    a comment or a second statement; any `;` (but a trailing one), `--` or `/*` is refused."""
    body = sql.strip().rstrip(";").rstrip()
    if ";" in body or "--" in body or "/*" in body:
        return None
    first = re.match(r"[(\s]*([A-Za-z_]+)\b", body)
    return first.group(1).upper() if first else None


def _refuse_writes(engine: Engine, *, sqlite_pragmas: bool) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _only_reads(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        if sqlite_pragmas and _SQLITE_READ_PRAGMA.match(statement.strip()):
            return
        kind = statement_kind(statement)
        if kind not in _READ_KEYWORDS:
            shown = " ".join(statement.split())[:80]
            raise ReadOnlyStatement(f"the read engine runs single read statements only; refused: {shown!r}")


def _sqlite_pragmas(engine: Engine, *, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001 - DBAPI connection
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if read_only:
            cursor.execute("PRAGMA query_only = ON")
        cursor.close()


def _sqlite_time_limit(engine: Engine, timeout_ms: int) -> None:
    """Interrupt a statement (and the fetching of its rows) once it has run `timeout_ms`."""
    limit = timeout_ms / 1000

    @event.listens_for(engine, "connect")
    def _install(dbapi_conn, record):  # noqa: ANN001
        clock = {"deadline": math.inf}
        record.info["cw_clock"] = clock
        dbapi_conn.set_progress_handler(lambda: 1 if time.monotonic() > clock["deadline"] else 0, 1_000)

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        conn.info["cw_clock"]["deadline"] = time.monotonic() + limit

    @event.listens_for(engine, "handle_error")
    def _explain(context):  # noqa: ANN001
        original = context.original_exception
        if isinstance(original, sqlite3.OperationalError) and "interrupted" in str(original):
            return StatementTimeout(f"the query ran longer than the statement timeout ({timeout_ms} ms) "
                                    "and was stopped")
        return None


def _sqlite_immediate_transactions(engine: Engine) -> None:
    """Writers take SQLite's write lock at BEGIN (SQLAlchemy's documented pysqlite recipe), so a
    read-check-write in one transaction cannot interleave with another writer. A lock held by other
    writers is waited for, with retries, up to WRITE_LOCK_WAIT_SECONDS."""

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn):  # noqa: ANN001
        begin_immediate(conn.connection.dbapi_connection)


def begin_immediate(dbapi_conn: sqlite3.Connection, *, wait_seconds: float = WRITE_LOCK_WAIT_SECONDS) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            dbapi_conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise DatabaseBusy(f"the SQLite database stayed locked by other writers for {wait_seconds:.0f} s; "
                                   "nothing was written, try again") from None
            time.sleep(random.uniform(0.005, 0.05))  # noqa: S311 - jitter, not security


#: SQLite engines open a fresh connection per use (NullPool): opening a file is cheap, and a pooled
#: connection would keep reading a demo database file the background build has since replaced
#: ("attempt to write a readonly database" on the old inode).
def read_engine(url: str, *, statement_timeout_ms: int = 15_000) -> Engine:
    """An engine that cannot write, with every statement bounded in time."""
    if _is_sqlite(url):
        path = _sqlite_path(url)
        engine = create_engine(
            f"sqlite:///file:{path}?mode=ro&uri=true", poolclass=NullPool,
            execution_options={"schema_translate_map": {STATE_SCHEMA: None}},
        )
        _sqlite_pragmas(engine, read_only=True)
        _sqlite_time_limit(engine, int(statement_timeout_ms))
        _refuse_writes(engine, sqlite_pragmas=True)
        return engine
    options = (f"-c default_transaction_read_only=on -c statement_timeout={int(statement_timeout_ms)} "
               f"-c work_mem={READ_WORK_MEM}")
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={"options": options, "connect_timeout": 5, "application_name": "canarywatch-read"},
    )

    @event.listens_for(engine, "connect")
    def _read_only_transactions(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.read_only = True  # psycopg then opens every transaction with BEGIN READ ONLY

    _refuse_writes(engine, sqlite_pragmas=False)
    return engine


def write_engine(url: str, *, statement_timeout_ms: int = 15_000) -> Engine:
    """The engine only rollout/ (and the demo seeder) opens writing transactions on."""
    if _is_sqlite(url):
        engine = create_engine(url, poolclass=NullPool,
                               execution_options={"schema_translate_map": {STATE_SCHEMA: None}})
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


__all__ = ["DatabaseBusy", "OperationalError", "ReadOnlyStatement", "StatementTimeout", "read_engine",
           "statement_kind", "write_engine"]
