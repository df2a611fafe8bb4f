"""Throttling repeated failed sign-ins per username, in the database every replica shares.

5 failures within 10 minutes lock the username for 10 minutes from the last failure; while locked,
even the right password is refused. A username that does not exist is throttled the same way, so
the answer does not tell an attacker which names are real.

An attempt is recorded *before* the password is checked and only then counted, so many sessions
(or replicas) guessing at the same moment still get at most `max_failures` password checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select

from auth.store import last_choice_is_per_process
from db.state import ensure_state_schema, login_failure
from queries.filters import as_utc, naive_utc


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    within: timedelta = timedelta(minutes=10)
    lockout: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class Attempt:
    accepted: bool
    locked_until: datetime | None = None  # set when the attempt was refused because of the lock
    crowded: bool = False  # refused because too many attempts for this name were running at once


def _key(username: str) -> str:
    return username.strip().lower()  # the library lower-cases usernames too


class LoginThrottle:
    def __init__(self, engine: Engine, policy: ThrottlePolicy | None = None):
        self.engine = engine
        self.policy = policy or ThrottlePolicy()
        ensure_state_schema(engine)

    def attempt(self, username: str, check: Callable[[], bool], *, now: datetime | None = None) -> Attempt:
        """Run `check` (the password check) unless the username is locked; record the outcome."""
        now = as_utc(now or datetime.now(UTC))
        if (until := self.locked_until(username, now=now)) is not None:
            return Attempt(False, until)
        mine = self.record_failure(username, now=now)  # counted as a failure unless the check passes
        with self.engine.connect() as conn:
            others = conn.execute(select(func.count()).where(
                login_failure.c.username == _key(username), login_failure.c.id != mine,
                login_failure.c.failedAt > naive_utc(now - self.policy.within),
            )).scalar_one()
        if others >= self.policy.max_failures:  # others raced ahead of us: this one is not checked
            self._forget(mine)
            until = self.locked_until(username, now=now)
            return Attempt(False, until, crowded=until is None)
        if check():
            self.reset(username)
            return Attempt(True)
        return Attempt(False)

    def locked_until(self, username: str, *, now: datetime | None = None) -> datetime | None:
        """When the lock on this username ends, or None when it may try now."""
        now = as_utc(now or datetime.now(UTC))
        since = naive_utc(now - self.policy.within - self.policy.lockout)
        with self.engine.connect() as conn:
            times = [as_utc(t) for (t,) in conn.execute(
                select(login_failure.c.failedAt)
                .where(login_failure.c.username == _key(username), login_failure.c.failedAt >= since)
                .order_by(login_failure.c.failedAt)
            )]
        for i in range(len(times) - self.policy.max_failures + 1):
            burst = times[i:i + self.policy.max_failures]
            if burst[-1] - burst[0] <= self.policy.within:
                until = times[-1] + self.policy.lockout
                if until > now:
                    return until
        return None

    def record_failure(self, username: str, *, now: datetime | None = None) -> int:
        """Store one failure (and drop failures too old to matter); returns its id."""
        now = as_utc(now or datetime.now(UTC))
        with self.engine.begin() as conn:
            conn.execute(delete(login_failure).where(
                login_failure.c.failedAt < naive_utc(now - 2 * (self.policy.within + self.policy.lockout))))
            return conn.execute(insert(login_failure).values(username=_key(username), failedAt=naive_utc(now))
                                .returning(login_failure.c.id)).scalar_one()

    def reset(self, username: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(login_failure).where(login_failure.c.username == _key(username)))

    def failures(self, username: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).where(login_failure.c.username == _key(username))).scalar_one()

    def _forget(self, failure_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(login_failure).where(login_failure.c.id == failure_id))


def is_per_process() -> bool:
    """True when the throttle (and session revocation) run per process, because the write database
    refuses canarywatch's state writes (a read-only deployment): show a per-replica warning."""
    return last_choice_is_per_process()
