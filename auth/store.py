"""Where sign-in state lives: canarywatch's tables on the write engine, or this process when it cannot write.

The failed-sign-in throttle and the session epochs (revocation) belong in the database every replica
shares. On a read-only deployment (a read-only `DATABASE_URL`, `CANARYWATCH_WRITE_URL` unset) the
database answers but refuses the writes: sign-in must still work, so both are then kept in a private
SQLite file of this process, which means per replica (a warning the Overview shows, through
`auth.throttle.is_per_process()`). A database that does not answer at all is a different case: that
raises, and sign-in says the database cannot be reached.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from db.engine import write_engine
from db.state import ensure_state_schema, login_failure, session_epoch
from queries.filters import naive_utc

log = logging.getLogger("canarywatch.auth")
_lock = threading.Lock()
_process_engine: Engine | None = None
_last_choice: list[bool] = []  # whether the store chosen last is per process


class StateUnreachable(Exception):
    """The database for sign-in state did not answer (not: answered and refused)."""


@dataclass(frozen=True)
class StateStore:
    engine: Engine
    per_process: bool


def choose_store(engine: Engine) -> StateStore:
    """The shared store when `engine` can write canarywatch's tables, else this process's own store."""
    try:
        with engine.connect() as conn:
            conn.execute(select(1))
    except SQLAlchemyError as exc:
        raise StateUnreachable(type(exc).__name__) from None
    try:
        ensure_state_schema(engine)
        _probe_writes(engine)
        store = StateStore(engine, per_process=False)
    except SQLAlchemyError as exc:
        log.warning("the write database answers but refuses canarywatch's state writes (%s): sign-in "
                    "throttle and session revocation are kept per process", type(exc).__name__)
        store = StateStore(process_engine(), per_process=True)
    _last_choice[:] = [store.per_process]
    return store


def last_choice_is_per_process() -> bool:
    return bool(_last_choice and _last_choice[0])


def _probe_writes(engine: Engine) -> None:
    """Write one row to each sign-in table inside a transaction that is rolled back."""
    now = naive_utc(datetime.now(UTC))
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.execute(insert(login_failure).values(username="canarywatch-probe", failedAt=now))
            conn.execute(insert(session_epoch).values(username="canarywatch-probe", revokedBefore=now))
        finally:
            transaction.rollback()


def process_engine() -> Engine:
    """A SQLite file private to this process (removed at exit), with canarywatch's state tables."""
    global _process_engine
    with _lock:
        if _process_engine is None:
            folder = Path(tempfile.mkdtemp(prefix="canarywatch-state-"))
            atexit.register(shutil.rmtree, folder, True)
            engine = write_engine(f"sqlite:///{folder / 'state.sqlite'}")
            ensure_state_schema(engine)
            _process_engine = engine
        return _process_engine
