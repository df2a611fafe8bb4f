"""`canarywatch watch`: evaluate every active canary each interval, store it, notify changes, roll back if armed.

Each cycle takes the active canaries and evaluates each one exactly as the canary page does (the same
active-canary logic and the one canary service, `services.canary.run`, on always-valid intervals with
the packaged rules), then stores one `canary_evaluation` per canary and interval slot.

Several replicas may run: on PostgreSQL a replica evaluates a (canary, slot) only while holding a
session advisory lock keyed on it (a second replica skips it), and on every backend the unique
(canaryKey, slotStart) turns a racing second insert into a no-op. Only the replica that stored the
evaluation notifies and rolls back, so a state change is announced (and acted on) once.

A database that goes away is waited for with capped exponential backoff ("database unreachable,
retrying in N s", never the URL). SIGTERM/SIGINT finish the canary in hand, skip the rest, exit 0.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, insert, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from analysis.canary.active import ActiveCanary
from analysis.canary.evaluation import Evaluation
from analysis.evidence import Packet
from analysis.rules import RuleSet, load_rules
from analysis.watch_messages import Notice, canary_link, kinds, payload, tripped_rules
from analysis.watch_state import (
    WATCH_ACTOR,
    StateChange,
    canary_key,
    change_key,
    changes,
    lock_key,
    rollback_decision,
    slot_start,
    status_of,
)
from auth.roles import Role, User
from db.config import Settings
from db.state import canary_evaluation, ensure_state_schema
from queries import settings
from queries.filters import Window, naive_utc
from queries.watch import is_armed, previous_status, slot_done
from rollout.arming import active_now
from rollout.notify import Retry, Target, notify, post_json, redeliver, targets
from rollout.service import StaleWrite, WriteRefused, set_toggle
from services.canary import active_spec
from services.canary import run as run_canary

log = logging.getLogger("canarywatch.watch")
WATCH_USER = User(WATCH_ACTOR, "canarywatch watch (armed automatic rollback)", frozenset({Role.SUPER_ADMIN}))
#: the errors that mean "the database is not there right now" (a restart, a network cut)
UNREACHABLE = (OperationalError,)


@dataclass(frozen=True)
class WatchConfig:
    interval_seconds: float = 60
    base_url: str | None = None
    targets: tuple[Target, ...] = ()
    retry: Retry = Retry()
    db_retry_max_seconds: float = 60
    dry_run: bool = False


def config_from(settings: Settings, *, interval: float | None = None, dry_run: bool = False) -> WatchConfig:
    """The watch's configuration from the typed settings (db/config.py), command-line overrides applied."""
    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    return WatchConfig(
        interval_seconds=interval or settings.watch_interval_seconds, base_url=settings.watch_base_url,
        targets=targets(secret(settings.slack_webhook_urls), secret(settings.webhook_urls)),
        retry=Retry(settings.notify_attempts, settings.notify_backoff_seconds, settings.notify_timeout_seconds),
        db_retry_max_seconds=settings.db_retry_max_seconds, dry_run=dry_run)


@dataclass
class Outcome:
    """What one cycle did for one canary (for the log line and the tests)."""

    key: str
    workspace: str
    field: str
    verdict: str | None = None
    stored: bool = False
    skipped: str = ""  # why nothing was stored: locked | done | no window | dry run
    changes: list[StateChange] = field(default_factory=list)
    rolled_back: bool = False
    deliveries: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        what = f"{self.verdict or 'not judged'}" + (f" ({self.skipped})" if self.skipped else "")
        found = ", ".join(c.key for c in self.changes) or "no change"
        return f"{self.workspace} {self.field}: {what}; {found}" + ("; rolled back" if self.rolled_back else "")


def evaluate_canary(read: Engine, canary: ActiveCanary, end: datetime,
                    rules: RuleSet) -> tuple[Evaluation, Packet] | None:
    """The canary page's evaluation of one active canary over [since, end); None without a window yet."""
    spec = active_spec(canary, end)
    if spec is None:
        return None
    with read.connect() as conn:
        done = run_canary(conn, spec, rules, field=canary.field, sequential=True)
    return done.evaluation, done.packet


@contextmanager
def slot_lock(write: Engine, key: str, slot: datetime) -> Iterator[bool]:
    """PostgreSQL: a session advisory lock on (canary, slot) on its own connection, True if won (a dropped
    connection releases it). SQLite: always True; the unique constraint settles a race there."""
    if write.dialect.name != "postgresql":
        yield True
        return
    with write.connect() as conn:
        number = lock_key(key, slot)
        won = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": number}).scalar_one())
        conn.commit()
        try:
            yield won
        finally:
            if won:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": number})
                conn.commit()


def _store(write: Engine, key: str, slot: datetime, now: datetime, canary: ActiveCanary, verdict: str,
           status: dict[str, Any], evidence: str) -> tuple[bool, dict[str, Any] | None, bool]:
    """(stored, previous status, armed): one transaction; False when this slot is already stored."""
    with write.begin() as conn:
        if slot_done(conn, key, slot):
            return False, None, False
        previous, armed = previous_status(conn, key, slot), is_armed(conn, key)
        try:
            with conn.begin_nested():
                conn.execute(insert(canary_evaluation).values(
                    canaryKey=key, slotStart=naive_utc(slot), evaluatedAt=naive_utc(now),
                    workspaceId=canary.workspace, field=canary.field,
                    split=None if canary.since is None else naive_utc(canary.since), verdict=verdict,
                    status=json.dumps(status, sort_keys=True), evidenceHash=evidence))
        except IntegrityError:
            return False, None, False
    return True, previous, armed


def _roll_back(write: Engine, canary: ActiveCanary, reason: str, now: datetime) -> bool:
    """Turn the canary's workspace toggle off through the rollout service; never anything else, never on."""
    try:
        set_toggle(write, WATCH_USER, canary.workspace, canary.field, expected_old=True, new=False, reason=reason,
                   now=now)
    except StaleWrite:
        log.info("%s %s is already off: nothing to roll back", canary.workspace, canary.field)
        return False
    except WriteRefused as exc:
        log.error("automatic rollback of %s %s refused: %s", canary.workspace, canary.field, exc)
        return False
    log.warning("rolled back %s off in workspace %s: %s", canary.field, canary.workspace, reason)
    return True


def watch_canary(read: Engine, write: Engine, canary: ActiveCanary, name: str, now: datetime, config: WatchConfig,
                 rules: RuleSet, stop: threading.Event, post: Callable[..., None] = post_json) -> Outcome:
    """One canary, one slot: evaluate (once across replicas), store, notify its changes, roll back if armed."""
    key = canary_key(canary.workspace, canary.field, canary.since)
    slot = slot_start(now, config.interval_seconds)
    outcome = Outcome(key, canary.workspace, canary.field)
    with slot_lock(write, key, slot) as won:
        if not won:
            outcome.skipped = "another replica has it"
            return outcome
        with write.connect() as conn:
            if slot_done(conn, key, slot):
                outcome.skipped = "already evaluated this interval"
                return outcome
            if config.dry_run:
                previous, armed = previous_status(conn, key, slot), is_armed(conn, key)
        evaluated = evaluate_canary(read, canary, now, rules)
        if evaluated is None:
            outcome.skipped = "no canary window yet"
            return outcome
        evaluation, packet = evaluated
        verdict = evaluation.verdict.overall.value
        status = status_of(evaluation.verdict)
        if not config.dry_run:
            stored, previous, armed = _store(write, key, slot, now, canary, verdict, status, packet.content_hash)
            if not stored:
                outcome.skipped = "already evaluated this interval"
                return outcome
            outcome.stored = True
        outcome.verdict = verdict
    outcome.changes = changes(previous, status)
    decision = rollback_decision(status) if armed else None
    reason = decision.reason(packet.content_hash) if decision else None
    if decision and config.dry_run:
        log.warning("dry run: would turn %s off in workspace %s: %s", canary.field, canary.workspace, reason)
        outcome.changes.append(StateChange("would_roll_back", canary.field))
    elif decision:
        outcome.rolled_back = _roll_back(write, canary, reason or "", now)
        if outcome.rolled_back:
            outcome.changes.append(StateChange("rolled_back", canary.field))
    if not outcome.changes:
        return outcome
    notice = Notice(canary.workspace, name, canary.field, canary.since, verdict, tuple(outcome.changes),
                    tripped_rules(status), packet.content_hash, now,
                    canary_link(config.base_url, canary.workspace, canary.since, canary.field),
                    reason if (outcome.rolled_back or config.dry_run) else None)
    if config.dry_run:
        log.info("dry run: would notify %d target(s) of %s", len(config.targets),
                 ", ".join(c.key for c in outcome.changes))
        outcome.skipped = "dry run"
        return outcome
    bodies = {kind: payload(kind, notice) for kind in kinds()}
    outcome.deliveries = notify(write, canary_key=key, change_key=change_key(slot, outcome.changes),
                                workspace=canary.workspace, bodies=bodies, to=config.targets, retry=config.retry,
                                stop=stop, post=post)
    return outcome


def run_cycle(read: Engine, write: Engine, config: WatchConfig, *, now: datetime | None = None,
              rules: RuleSet | None = None, stop: threading.Event | None = None,
              post: Callable[..., None] = post_json) -> list[Outcome]:
    """One pass over every active canary (stops between canaries when `stop` is set)."""
    stop = stop or threading.Event()
    began = datetime.now(UTC)  # the wall clock of the delivery rows (`now` may be a chosen moment)
    now = (now or began).astimezone(UTC)
    rules = rules or load_rules()
    ensure_state_schema(write)  # the tables it reads even in a dry run (`canarywatch migrate` makes them too)
    canaries = active_now(read, now)
    with read.connect() as conn:
        names_frame = settings.workspace_list(conn, Window(now - timedelta(minutes=1), now,
                                                           tuple(c.workspace for c in canaries)))
    names = dict(zip(names_frame["workspace"], names_frame["name"], strict=True))
    outcomes = []
    for canary in canaries:
        if stop.is_set():
            log.info("stopping: %d canary(ies) left for the next run", len(canaries) - len(outcomes))
            break
        try:
            outcome = watch_canary(read, write, canary, str(names.get(canary.workspace, canary.workspace)), now,
                                   config, rules, stop, post)
        except Exception as exc:  # noqa: BLE001 - one canary that cannot be judged must not blind the others
            if isinstance(exc, DBAPIError) and _is_connection_problem(exc):
                raise  # the database went away: the loop waits for it
            log.error("%s %s could not be evaluated (%s): skipped this cycle", canary.workspace, canary.field,
                      type(exc).__name__)  # the class only: a message could quote upstream values
            log.debug("evaluation failure", exc_info=True)
            outcome = Outcome(canary_key(canary.workspace, canary.field, canary.since), canary.workspace,
                              canary.field, skipped=f"error: {type(exc).__name__}")
        log.info("%s", outcome.line())
        outcomes.append(outcome)
    if config.targets and not config.dry_run and not stop.is_set():
        redeliver(write, config.targets, config.retry, cycle_began=began, stop=stop, post=post)
    return outcomes


def backoff(failures: int, cap: float) -> float:
    """1, 2, 4, ... seconds after each consecutive failure, never more than `cap`."""
    return float(min(2 ** max(failures - 1, 0), cap))


def where(engine: Engine) -> str:
    """The database named for a log line: host and database, never the password."""
    url = engine.url
    return f"{url.host or 'local'}/{url.database or ''}" if url.get_backend_name() == "postgresql" else "SQLite file"


def run(read: Engine, write: Engine, config: WatchConfig, *, once: bool = False,
        stop: threading.Event | None = None, rules: RuleSet | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        post: Callable[..., None] = post_json) -> Sequence[Outcome]:
    """The loop: a cycle per interval slot until `stop` (or one cycle with `once`). Returns the last
    cycle's outcomes. With `once`, an unreachable database raises (the CLI exits 3)."""
    stop = stop or threading.Event()
    rules = rules or load_rules()
    failures = 0
    outcomes: Sequence[Outcome] = []
    while not stop.is_set():
        started = clock()
        try:
            outcomes = run_cycle(read, write, config, now=started, rules=rules, stop=stop, post=post)
            if failures:
                log.warning("database reachable again after %d failed attempt(s)", failures)
            failures = 0
            log.info("cycle at %s: %d active canary(ies), %d evaluation(s) stored", f"{started:%Y-%m-%dT%H:%M:%SZ}",
                     len(outcomes), sum(o.stored for o in outcomes))
        except UNREACHABLE + (DBAPIError,) as exc:
            if once or not _is_connection_problem(exc):
                raise
            failures += 1
            pause = backoff(failures, config.db_retry_max_seconds)
            log.warning("database unreachable (%s at %s), retrying in %g s", type(exc).__name__, where(write), pause)
            stop.wait(pause)
            continue
        if once:
            break
        next_slot = slot_start(started, config.interval_seconds).timestamp() + config.interval_seconds
        stop.wait(max(next_slot - clock().timestamp(), 0.0))
    return outcomes


def _is_connection_problem(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError) or bool(getattr(exc, "connection_invalidated", False))
