"""Refreshing the per-day summaries (issue 6): incremental, cheap per cycle, safe from many replicas.

Each cycle picks the days that are due and rewrites each of them in a transaction of its own: for
every summarised query and variant, delete that day's stored answers, then, in the database and with
no row passing through Python, `INSERT INTO summary_x ... SELECT` the query's own statement over the
day grouped by hour as well (`slot_grouped` adds the hour to it), `INSERT ... SELECT ... GROUP BY` the
day's answer from those hour rows, and stamp `summary_day`. Readers see a day before or after, never
half. The statement is the one the query reads through read_frame, captured by running the query on
a `StatementOf` stand-in that stops it there (so the query's code does not change); a query that
declares `in_sql=False` (its pandas step must run before storing) is aggregated in Python as before.

- One failing query never takes the others down (issue 9): each query and variant is computed on its
  own (a SAVEPOINT); a failure is recorded in `summary_failure` (query, day, error
  class, time; never the message, which may quote upstream values), that query's stored answer for
  the day is removed (read raw, never stale), and the other queries and days still store. A failed
  (query, day) is retried on the same schedule as a stored one; a later success clears the record.

- Today is not whole yet: its day answer is never stored. Its finished hours are (`store_open_day`: an
  hour that finished is appended, and all of them are rewritten once older than `recent_every`), so a
  reader takes only the hour in progress raw (and the last minute counts).
- Recent days (yesterday and the day before by default) are rewritten when older than a few
  minutes, because upstream rows change after they are written (needs_review becomes a send,
  dispositions and revision fields arrive later).
- Older days are written once and rewritten daily, a few per cycle, the least recently
  refreshed first (missing days newest first); `backfill=True` does every due day at once (a first
  back-fill).
- Hour answers are kept for the last `hour_days` days and for the `start_days` back (the first days of the
  30- and 90-day windows ending now); a day that reaches one of those is rewritten with its hours.
- A cycle's rewriting is bounded by `cycle_budget`: once spent, the rest waits for the next cycle,
  the most overdue day first (`due_work`), and a day's answers that are still fresh are not rewritten
  with its stale ones (`stale_pairs`). A cycle's database time so stays the same at any table size;
  what grows with it is the age of the stored answers, which every page's freshness line shows.
- Replicas: on PostgreSQL a day is only written under `pg_try_advisory_xact_lock`; a replica that
  finds the lock held skips the day (another replica is writing it) and re-checks under the lock
  that the day is still due. On SQLite the write engine begins IMMEDIATE, which serialises writers
  (and holds the write lock while a day aggregates: milliseconds on the demo's data).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    Executable,
    MetaData,
    Select,
    Subquery,
    Table,
    and_,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    union,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import visitors
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.util import find_tables

from db import upstream as up
from db.engine import STATE_SCHEMA
from db.state import state_metadata, summary_failure
from queries.dialect import time_bucket
from queries.filters import Window, naive_utc
from queries.registry import QuerySpec
from queries.summary_spec import Kind, Summary
from summaries.declarations import (
    DAY,
    DAY_GRAIN,
    HOUR_GRAIN,
    all_tables,
    cells_table,
    summarised_specs,
    summary_day,
    summary_hours,
    summary_metadata,
    summary_open_day,
)
from summaries.reading import combine, midnight

log = logging.getLogger("canarywatch.summaries")

#: pg_try_advisory_xact_lock(namespace, day number): the namespace keeps clear of other users' locks.
LOCK_NAMESPACE = 0x63770006
#: work_mem of a refresh transaction on PostgreSQL: a day's hour answers sort and hash in memory
REFRESH_WORK_MEM = "64MB"


@dataclass(frozen=True)
class RefreshPolicy:
    keep_days: int = 200  # a 90-day window and the 90 days before it, with room
    recent_days: int = 2  # yesterday and the day before
    recent_every: timedelta = timedelta(minutes=5)
    older_every: timedelta = timedelta(hours=24)
    older_per_cycle: int = 3
    # an older day whose rows upstream edited since it was stored (their updatedAt) is rewritten at the
    # next cycle; `edit_margin` covers clock skew and transactions still open when the day was read
    edit_margin: timedelta = timedelta(minutes=2)
    edited_per_cycle: int = 20
    # hour answers are kept for the last `hour_days` days (the partial first day of a 24 h or 7 d window);
    # an older day keeps its day answer only, and a window starting inside it reads that part raw
    hour_days: int = 8
    # and for the days this many days back: the first days of the pages' 30- and 90-day windows ending now,
    # which would otherwise read their part of that day raw (a day reaching one is rewritten with its hours)
    start_days: tuple[int, ...] = (30, 90)
    # a cycle (not a back-fill) starts no new rewrite of a (query, variant, day) once it has spent this long
    # rewriting: the rest waits for the next cycle, most overdue day first, so a cycle's database time stays
    # bounded whatever the tables' size (a large database's answers then age past `recent_every`, and the
    # freshness line says by how much). Every cycle does at least one rewrite.
    cycle_budget: timedelta = timedelta(seconds=6)


class Budget:
    """The seconds a cycle may spend rewriting (None: no limit, a back-fill). `take()` before each rewrite:
    the first of a cycle is always allowed, later ones while the budget lasts; a refused one is counted."""

    def __init__(self, seconds: float | None):
        self.seconds, self.started = seconds, time.perf_counter()
        self.taken = self.deferred = 0

    @property
    def spent(self) -> bool:
        return (self.seconds is not None and self.taken > 0
                and time.perf_counter() - self.started >= self.seconds)

    def take(self) -> bool:
        if self.spent:
            self.deferred += 1
            return False
        self.taken += 1
        return True

    def defer(self, count: int = 1) -> None:
        """Count rewrites left for the next cycle without starting them (a day skipped as a whole)."""
        self.deferred += count


def stored_pairs(*, hourly: bool = False) -> set[tuple[str, str]]:
    """Every summarised (query, variant) the refresh stores (`hourly`: of the queries that keep hours)."""
    return {(spec.name, variant) for spec in summarised_specs() if spec.summary.hourly or not hourly
            for variant in spec.summary.stored_variants(spec.raw)}


def keeps_hours(day: datetime, now: datetime, policy: RefreshPolicy) -> bool:
    """Whether the day's hour answers are kept (the last `hour_days` days, and the `start_days` back)."""
    today = midnight(now)
    return day >= today - policy.hour_days * DAY or day in hour_start_days(now, policy)


def hour_start_days(now: datetime, policy: RefreshPolicy) -> set[datetime]:
    today = midnight(now)
    return {today - back * DAY for back in policy.start_days}


@dataclass(frozen=True)
class Due:
    """A day to rewrite: its answers stored before `stale_before` (or missing), and, with `rehour`, its
    hourly answers stored without their hours (a day that reached one of `start_days`)."""

    day: datetime
    stale_before: datetime
    rehour: bool = False


@dataclass(frozen=True)
class Failure:
    """One summarised query (one variant) that could not be computed for one day."""

    query: str
    variant: str
    day: datetime
    error_class: str


@dataclass(frozen=True)
class OpenDayReport:
    """Today's finished hours stored in a cycle: through which hour, how many query variants, rows, time."""

    through: datetime
    variants: int  # rewritten from midnight
    rows: int
    seconds: float
    appended: int = 0  # query variants whose stored hours were fresh: only the hours finished since were added

    def line(self) -> str:
        added = f" and {self.appended} extended by the hours since finished" if self.appended else ""
        return (f"today's hours to {self.through:%H:%M} for {self.variants} query variant(s){added}, "
                f"{self.rows:,} rows, in {self.seconds:.2f} s")


@dataclass
class RefreshReport:
    refreshed: list[datetime] = field(default_factory=list)
    skipped_locked: list[datetime] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0
    planning_seconds: float = 0.0  # choosing the due days (due_days, last_edits)
    open_day: OpenDayReport | None = None  # today's finished hours
    deferred: int = 0  # rewrites left for the next cycle (the cycle's budget was spent)
    budget: float | None = None  # that budget, in seconds (None: a back-fill, no limit)
    day_seconds: dict[datetime, float] = field(default_factory=dict)
    query_seconds: dict[str, float] = field(default_factory=dict)  # "query variant" -> seconds, over all days

    def slowest(self, n: int = 5) -> str:
        """The n queries (and variants) that took the longest, summed over the cycle's days."""
        top = sorted(self.query_seconds.items(), key=lambda item: -item[1])[:n]
        return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in top)

    @property
    def failing_queries(self) -> list[str]:
        return sorted({failure.query for failure in self.failures})

    def line(self) -> str:
        days = ", ".join(f"{d:%Y-%m-%d}" for d in self.refreshed) or "none"
        locked = f"; {len(self.skipped_locked)} being written by another replica" if self.skipped_locked else ""
        today = f"; {self.open_day.line()}" if self.open_day else ""
        left = (f"; {self.deferred} rewrite(s) left for the next cycle (its {self.budget:.0f} s budget was spent)"
                if self.deferred and self.budget is not None else "")
        return (f"refreshed {len(self.refreshed)} day(s) ({days}), {self.rows:,} rows, in {self.seconds:.2f} s "
                f"({self.planning_seconds:.2f} s choosing the days){today}{left}{locked}")

    def failure_lines(self) -> list[str]:
        """One line per failing query: its error classes and the days it failed on."""
        lines = []
        for name in self.failing_queries:
            mine = [f for f in self.failures if f.query == name]
            errors = ", ".join(sorted({f.error_class for f in mine}))
            days = ", ".join(sorted({f"{f.day:%Y-%m-%d}" for f in mine}))
            lines.append(f"{name} failed ({errors}) on {days}")
        return lines


_ENSURED: set[str] = set()


def ensure_summary_tables(engine: Engine) -> None:
    """Create the summary tables that are missing (once per process and database)."""
    url = engine.url.render_as_string(hide_password=True)
    if url in _ENSURED:
        return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # replicas starting together must not race to CREATE TABLE
            conn.execute(text("SELECT pg_advisory_xact_lock(:ns, -1)"), {"ns": LOCK_NAMESPACE})
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{STATE_SCHEMA}"'))
        summary_metadata.create_all(conn, tables=all_tables(), checkfirst=True)
        state_metadata.create_all(conn, tables=[summary_failure], checkfirst=True)
    _ENSURED.add(url)


def refresh_summaries(engine: Engine, *, now: datetime | None = None, policy: RefreshPolicy = RefreshPolicy(),
                      backfill: bool = False) -> RefreshReport:
    """One refresh cycle on the write engine; returns what it did."""
    started = time.perf_counter()
    now = naive_utc(now or datetime.now(UTC))
    ensure_summary_tables(engine)
    with engine.connect() as conn:
        due = due_work(conn, now, policy, backfill=backfill)
        conn.rollback()
    _forget_unknown_failures(engine)
    report = RefreshReport(planning_seconds=time.perf_counter() - started)
    budget = Budget(None if backfill else policy.cycle_budget.total_seconds())
    report.budget = budget.seconds
    report.open_day = store_open_day(engine, now, policy, report.failures, budget)
    report.rows += report.open_day.rows if report.open_day else 0
    for item in due:
        day = item.day
        if budget.spent:
            budget.defer()
            continue
        t = time.perf_counter()
        with engine.begin() as conn:
            if not _lock_day(conn, day):
                report.skipped_locked.append(day)
                continue
            if day not in due_days(conn, now, policy, backfill=backfill, only=day):
                continue  # another replica wrote it while we waited
            only = stale_pairs(conn, day, item.stale_before, rehour=item.rehour)
            if only == set():
                continue
            _tune_session(conn)
            hours = keeps_hours(day, now, policy)
            rows, failures = store_day(conn, day, now, report.query_seconds, hours=hours, only=only, budget=budget)
        report.rows += rows
        report.failures += failures
        report.refreshed.append(day)
        report.day_seconds[day] = time.perf_counter() - t
    report.deferred = budget.deferred
    drop_old_hours(engine, midnight(now) - policy.hour_days * DAY, keep=hour_start_days(now, policy))
    if backfill and len(report.refreshed) > 1:
        analyze_summary_tables(engine)
    report.seconds = time.perf_counter() - started
    return report


def _tune_session(conn: Connection) -> None:
    """On PostgreSQL, room for the day's sorts and hashes in memory (this transaction only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SET LOCAL work_mem = '{REFRESH_WORK_MEM}'"))  # a constant of ours, not input


def due_days(conn: Connection, now: datetime, policy: RefreshPolicy, *, backfill: bool = False,
             only: datetime | None = None) -> list[datetime]:
    """The days to rewrite this cycle, in the order `due_work` gives."""
    return [item.day for item in due_work(conn, now, policy, backfill=backfill, only=only)]


def due_work(conn: Connection, now: datetime, policy: RefreshPolicy, *, backfill: bool = False,
             only: datetime | None = None) -> list[Due]:
    """Each day to rewrite this cycle (`Due`). The recent days are due `recent_every` after their stalest
    answer was stored, older ones `older_every` after, or when a row of theirs was edited since (at most
    `edited_per_cycle` of those, and `older_per_cycle` of the others, per cycle), or when they reached one
    of `start_days` without their hours. The most overdue day comes first (one with answers missing before
    any), so a cycle whose budget runs out leaves the least overdue for the next."""
    now = naive_utc(now)
    today = midnight(now)
    first = only or max(today - policy.keep_days * DAY, _first_day_with_data(conn) or today)
    last = (only + DAY) if only else today
    variants = {spec.name: list(spec.summary.stored_variants(spec.raw)) for spec in summarised_specs()}
    wanted = stored_pairs()
    # day -> (query, variant) -> when it was last stored, or last failed (a failure is retried on the
    # same schedule as a stored answer, so a broken query does not make its days due every cycle)
    stamps: dict[datetime, dict[tuple[str, str], datetime]] = {}
    rows = conn.execute(select(summary_day.c.query, summary_day.c.variant, summary_day.c.day,
                               summary_day.c.refreshedAt).where(summary_day.c.day >= first, summary_day.c.day < last))
    for name, variant, day, refreshed in rows:
        if (name, variant) in wanted:
            stamps.setdefault(day, {})[(name, variant)] = refreshed
    c = summary_failure.c
    failed = conn.execute(select(c.query, c.day, c.failedAt).where(c.day >= first, c.day < last))
    for name, day, failed_at in failed:
        for variant in variants.get(name, []):
            stamps.setdefault(day, {}).setdefault((name, variant), failed_at)
    # (overdue since, day, stale_before); datetime.min: answers missing
    recent, older, edited = [], [], []
    end = min(last, today)
    oldest_stamp = min((min(v.values()) for v in stamps.values() if v), default=None)
    edits = last_edits(conn, first, end, oldest_stamp - policy.edit_margin) if oldest_stamp else {}
    day = first
    while day < end:
        stored = stamps.get(day, {})
        oldest = min(stored.values()) if len(stored) == len(wanted) else None  # None: some variant is missing
        if day >= today - policy.recent_days * DAY:
            if oldest is None or oldest < now - policy.recent_every:
                since = datetime.min if oldest is None else oldest + policy.recent_every
                recent.append((since, day, now - policy.recent_every))
        elif oldest is None or oldest < now - policy.older_every:
            since = datetime.min if oldest is None else oldest + policy.older_every
            older.append((since, day, now - policy.older_every))
        elif day in edits and edits[day] > oldest - policy.edit_margin:
            edited.append((edits[day], day, edits[day] + policy.edit_margin))
        day += DAY
    limit = backfill or only
    edited = sorted(edited, key=lambda item: -item[1].timestamp())[: None if limit else policy.edited_per_cycle]
    older.sort(key=lambda item: (item[0], -item[1].timestamp()))  # least recently refreshed, newest day first
    picked = older if limit else older[: policy.older_per_cycle]
    work = sorted([*recent, *edited, *picked], key=lambda item: (item[0], -item[1].timestamp()))
    due = [Due(day, stale_before) for _, day, stale_before in work]
    listed = {item.day for item in due}
    for day in sorted(_without_hours(conn, now, policy, first, end) - listed, reverse=True):
        due.insert(0, Due(day, datetime.min, rehour=True))
    return due


def _without_hours(conn: Connection, now: datetime, policy: RefreshPolicy, first: datetime,
                   end: datetime) -> set[datetime]:
    """The `start_days` past `hour_days` (between first and end) whose day answers are stored while some
    hourly query's hours are not (the day was stored when it was older than `hour_days`)."""
    days = [day for day in hour_start_days(now, policy)
            if first <= day < end and day < midnight(now) - policy.hour_days * DAY]
    if not days:
        return set()
    hourly = stored_pairs(hourly=True)
    d, h = summary_day.c, summary_hours.c
    stored: dict[datetime, set[tuple[str, str]]] = {}
    for name, variant, day in conn.execute(select(d.query, d.variant, d.day).where(d.day.in_(days))):
        stored.setdefault(day, set()).add((name, variant))
    marked: dict[datetime, set[tuple[str, str]]] = {}
    for name, variant, day in conn.execute(select(h.query, h.variant, h.day).where(h.day.in_(days))):
        marked.setdefault(day, set()).add((name, variant))
    return {day for day, pairs in stored.items() if (pairs & hourly) - marked.get(day, set())}


def stale_pairs(conn: Connection, day: datetime, before: datetime, *,
                rehour: bool = False) -> set[tuple[str, str]] | None:
    """The (query, variant) pairs of the day whose answer is missing or was stored before `before` (and, with
    `rehour`, the hourly ones whose hours are not stored): only those are rewritten (the day's others keep
    their own schedule; a query added later is written alone into the days already stored). None when that
    is all of them (write the whole day)."""
    wanted = stored_pairs()
    d = summary_day.c
    fresh = {(name, variant) for name, variant in conn.execute(
        select(d.query, d.variant).where(d.day == day, d.refreshedAt >= before))}
    stale = wanted - fresh
    if rehour:
        h = summary_hours.c
        with_hours = {(name, variant) for name, variant in conn.execute(
            select(h.query, h.variant).where(h.day == day))}
        stale |= stored_pairs(hourly=True) - with_hours
    return None if stale == wanted else stale


def last_edits(conn: Connection, first: datetime, end: datetime, since: datetime) -> dict[datetime, datetime]:
    """Day -> the newest `updatedAt` among rows edited since `since`, for every summarised query's time
    column whose table has one (upstream's Prisma @updatedAt). One small aggregate per table (not per time
    column: upstream has no index on updatedAt, so each is a scan) over the rows edited since the oldest
    stored day was refreshed, grouped by the day of each of its time columns; a day is due again when a row
    of it was edited after (or just before) that day was stored. Edits to other tables a query joins are not
    seen here: those days follow `older_every`."""
    found: dict[datetime, datetime] = {}
    by_table: dict[Table, dict[str, ColumnElement]] = {}
    for spec in summarised_specs():
        column = spec.summary.time
        table = getattr(column, "table", None)
        if isinstance(table, Table) and "updatedAt" in table.c:
            by_table.setdefault(table, {})[column.name] = column
    for table, columns in by_table.items():
        updated = table.c["updatedAt"]
        days = [time_bucket(column, DAY_GRAIN).label(f"day_{i}") for i, column in enumerate(columns.values())]
        in_range = or_(*(and_(column >= first, column < end) for column in columns.values()))
        stmt = (select(*days, func.max(updated)).where(updated >= since, in_range)
                .group_by(*(literal_column(day.name) for day in days)))
        for *edited_days, newest in conn.execute(stmt):
            for edited_day in edited_days:
                if edited_day is None:
                    continue
                key = midnight(pd.Timestamp(edited_day).to_pydatetime())
                if first <= key < end:
                    found[key] = max(found.get(key, newest), newest)
    return found


def _first_day_with_data(conn: Connection) -> datetime | None:
    """The earliest day any summarised query has rows on (each time column is indexed upstream)."""
    columns = {str(spec.summary.time): spec.summary.time for spec in summarised_specs()}
    firsts = [conn.execute(select(func.min(column))).scalar() for column in columns.values()]
    firsts = [f for f in firsts if f is not None]
    return midnight(min(firsts)) if firsts else None


def _lock_day(conn: Connection, day: datetime) -> bool:
    if conn.dialect.name != "postgresql":
        return True  # BEGIN IMMEDIATE already holds SQLite's write lock
    number = int(day.replace(tzinfo=UTC).timestamp() // 86400)
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:ns, :day)"),
                             {"ns": LOCK_NAMESPACE, "day": number}).scalar())


def store_open_day(engine: Engine, now: datetime, policy: RefreshPolicy, failures: list[Failure],
                   budget: Budget | None = None) -> OpenDayReport | None:
    """Store today's finished hours [today, this hour) for every hourly query and variant, in one
    transaction. A variant whose stored hours were computed within `policy.recent_every` only gets the hours
    finished since (appended; its mark keeps the older computing time); one whose hours are older than that,
    or missing, is rewritten from midnight, stalest first (so today's edits show within that bound, as the
    recent days' do, while the cycle's `budget` lasts). A query that fails is appended to `failures`, its
    hours for today removed (read raw). None when nothing was due (or another replica holds today's lock).
    Readers take these hours and read the rest of today raw (reading.read_plan)."""
    today = midnight(now)
    through = now.replace(minute=0, second=0, microsecond=0)
    if through <= today:
        return None
    began = time.perf_counter()
    with engine.begin() as conn:
        if not _lock_day(conn, today):
            return None
        due = _open_day_work(conn, today, through, now, now - policy.recent_every)
        if not due:
            return None
        _tune_session(conn)
        sources = day_sources(conn, today, {(spec.name, variant) for spec, variant, _, _, _ in due},
                              Window(min(start for *_, start, _ in due), through))
        written = rewritten = appended = 0
        done: dict[tuple[str, datetime], dict[str, Mapping[str, object]]] = {}  # (query, from) -> variants stored
        for spec, variant, options, start, computed in due:
            if budget is not None and not budget.take():
                continue
            savepoint = conn.begin_nested()
            try:
                if start == today:
                    _forget(conn, spec.name, variant, today)
                else:
                    _forget_open_hours(conn, spec.name, variant, today, start)
                finer = finer_variant(spec.summary, done.get((spec.name, start), {}), options)
                written += (store_hours(conn, spec, variant, options, Window(start, through), sources)
                            if finer is None else
                            derive_rows(conn, spec, variant, options, finer, start, HOUR_GRAIN, end=through))
                conn.execute(insert(summary_open_day).values(query=spec.name, variant=variant, day=today,
                                                             through=through, refreshedAt=computed))
            except Exception as exc:  # noqa: BLE001 - one query's failure is isolated, it reads raw
                savepoint.rollback()
                _forget(conn, spec.name, variant, today)
                failures.append(Failure(spec.name, variant, today, type(exc).__name__))
                log.warning("summaries: %s %s on today's hours failed (%s)", spec.name, variant, type(exc).__name__)
                continue
            savepoint.commit()
            done.setdefault((spec.name, start), {})[variant] = options
            if start == today:
                rewritten += 1
            else:
                appended += 1
    return OpenDayReport(through, rewritten, written, time.perf_counter() - began, appended)


def _open_day_work(conn: Connection, today: datetime, through: datetime, now: datetime, fresh_after: datetime,
                   ) -> list[tuple[QuerySpec, str, Mapping[str, object], datetime, datetime]]:
    """(spec, variant, options, from, computed) for each hourly query variant whose today's hours are due:
    from its stored `through` when they were computed after `fresh_after` (append the hours finished since,
    keeping that time), else from midnight (rewrite, now). Appends first, then the stalest rewrite."""
    o = summary_open_day.c
    marks = {(name, variant): (stored_through, refreshed) for name, variant, stored_through, refreshed
             in conn.execute(select(o.query, o.variant, o.through, o.refreshedAt).where(o.day == today))}
    appends, rewrites = [], []
    for spec in summarised_specs():
        if not (spec.summary.hourly and spec.summary.in_sql):
            continue
        for variant, options in finest_first(spec.summary.stored_variants(spec.raw)):
            mark = marks.get((spec.name, variant))
            if mark is not None and mark[1] >= fresh_after:
                if mark[0] < through:
                    appends.append((spec, variant, options, mark[0], mark[1]))
            else:
                rewrites.append((mark[1] if mark else datetime.min, (spec, variant, options, today, now)))
    rewrites.sort(key=lambda item: item[0])  # stable: a query's finer variants stay before its coarser
    return [*appends, *(item for _, item in rewrites)]


def store_hours(conn: Connection, spec: QuerySpec, variant: str, options: Mapping[str, object], window: Window,
                sources: DaySources | None) -> int:
    """INSERT ... SELECT the query's hour answers over the window (whole hours); the rows inserted."""
    summary = spec.summary
    stmt = slot_grouped(query_statement(conn, spec, window, options), summary.time, HOUR_GRAIN)
    answer = (stmt if sources is None else sources.apply(stmt, summary.time)).subquery("answer")
    return _insert_from(conn, spec, variant, HOUR_GRAIN, stored_time(answer.c.slot), answer)


def store_day(conn: Connection, day: datetime, now: datetime, seconds: dict[str, float] | None = None, *,
              hours: bool = True, only: set[tuple[str, str]] | None = None,
              budget: Budget | None = None) -> tuple[int, list[Failure]]:
    """Replace the day's stored answers of every summarised query and variant, each on its own in a
    SAVEPOINT: a query that raises is a Failure (its error class), its stored answer for the day is
    removed (it is read raw, never stale), and the others still store. `hours`: store the hour answers
    too (recent days); `only`: just these (query, variant) pairs (stale_pairs); `budget`: stop starting new
    ones once it is spent (those left keep their old answers and stay due). The caller owns the transaction.
    Returns the rows stored and the failures."""
    written = 0
    stored: set[str] = set()
    failures: list[Failure] = []
    sources = day_sources(conn, day, only)
    for spec in summarised_specs():
        with_hours = hours and spec.summary.hourly
        done: dict[str, Mapping[str, object]] = {}  # the query's variants stored this day
        for variant, options in finest_first(spec.summary.stored_variants(spec.raw)):
            if only is not None and (spec.name, variant) not in only:
                continue
            if budget is not None and not budget.take():
                continue
            savepoint = conn.begin_nested()
            began = time.perf_counter()
            try:
                _forget(conn, spec.name, variant, day)
                finer = finer_variant(spec.summary, done, options)
                if finer is None:
                    hour_rows, day_rows = store_answers(conn, spec, variant, options, day, hours=with_hours,
                                                        sources=sources)
                else:
                    hour_rows = derive_rows(conn, spec, variant, options, finer, day, HOUR_GRAIN) if with_hours else 0
                    day_rows = derive_rows(conn, spec, variant, options, finer, day, DAY_GRAIN)
                conn.execute(insert(summary_day).values(query=spec.name, variant=variant, day=day, refreshedAt=now,
                                                        rows=day_rows))
                if with_hours:
                    conn.execute(insert(summary_hours).values(query=spec.name, variant=variant, day=day))
            except Exception as exc:  # noqa: BLE001 - any failure of one query is isolated and recorded
                savepoint.rollback()
                failures.append(Failure(spec.name, variant, day, type(exc).__name__))
                log.warning("summaries: %s %s on %s failed (%s)", spec.name, variant, f"{day:%Y-%m-%d}",
                            type(exc).__name__)
                continue
            savepoint.commit()
            done[variant] = options
            if seconds is not None:
                key = f"{spec.name} {variant}".rstrip()
                seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - began
            stored.add(spec.name)
            written += hour_rows + day_rows
    c = summary_failure.c
    conn.execute(delete(summary_failure).where(c.day == day, c.query.in_(stored)))
    for failure in failures:
        _forget(conn, failure.query, failure.variant, day)
    for name, error_class in sorted({(f.query, f.error_class) for f in failures}):
        conn.execute(delete(summary_failure).where(c.day == day, c.query == name))
        conn.execute(insert(summary_failure).values(query=name, day=day, errorClass=error_class, failedAt=now))
    return written, failures


#: The upstream tables a day's statements read from a copy of the day's rows, with the time columns the
#: summarised queries window each by: the copy holds every row that any of them puts in the day, so each
#: statement, which applies its own window, finds all of its rows. A query windowing one of these tables
#: by another column must be added here (the PostgreSQL run of tests/test_summaries_demo.py fails if not).
DAY_COPIES: dict[Table, tuple[str, ...]] = {
    up.ai_draft: ("autoSendEvaluatedAt", "autoSendRevisionAttemptedAt"),
    up.ai_interaction: ("createdAt",),
    up.meeting_overseer_decision: ("createdAt",),
    up.webhook_event: ("createdAt", "startedAt", "finishedAt"),
    up.background_function_run: ("createdAt",),
}
#: the tables whose day's rows point to the day's copy of Lead (by their leadId)
LEAD_POINTERS = (up.ai_draft, up.appointment, up.follow_up_task)


class DaySources:
    """The day's rows of the big upstream tables (DAY_COPIES) and the Lead rows they point to, read once
    per day into temporary tables (PostgreSQL) that the day's statements read instead of the tables.

    Run one by one, each statement scanned its table again: WebhookEvent and BackgroundFunctionRun have no
    index on the columns the queries window them by (a sequential scan per statement and variant), the
    drafts queries hashed the whole of Lead for one day of drafts, and AIInteraction's day was read once
    per query. A statement reads a copy only when its own time column is one of that table's DAY_COPIES
    columns (Lead: when it windows one of LEAD_POINTERS); everything else it reads from upstream. Only the
    columns the statements read are copied. The tables are dropped at the end of the day's transaction.
    On SQLite (the demo) nothing is copied.
    """

    def __init__(self, conn: Connection, window: Window, statements: Iterable[Select]):
        self.swap: dict[Table, Table] = {}
        if conn.dialect.name != "postgresql":
            return
        used: dict[Table, set[str]] = {table: {"id", *columns} for table, columns in DAY_COPIES.items()}
        used[up.ai_draft].add("leadId")
        used[up.lead] = {"id"}
        read: set[Table] = set()  # only the tables the statements read are copied
        for stmt in statements:
            for element in visitors.iterate(stmt):
                if isinstance(element, Column) and element.table in used:
                    used[element.table].add(element.name)
                    read.add(element.table)
        day, end = naive_utc(window.start), naive_utc(window.end)
        for table, columns in DAY_COPIES.items():
            if table not in read and not (table is up.ai_draft and up.lead in read):
                continue
            in_day = or_(*(and_(table.c[name] >= day, table.c[name] < end) for name in columns))
            rows = select(*(table.c[name] for name in sorted(used[table]))).where(in_day)
            self._copy(conn, f"cw_day_{table.name.lower()}", table, sorted(used[table]), rows)
        if up.lead not in read:
            return
        pointed = union(
            select(self.swap[up.ai_draft].c.leadId),
            select(up.appointment.c.leadId).where(up.appointment.c.createdAt >= day, up.appointment.c.createdAt < end),
            select(up.follow_up_task.c.leadId).where(up.follow_up_task.c.createdAt >= day,
                                                     up.follow_up_task.c.createdAt < end))
        lead = up.lead.c
        leads = select(*(lead[name] for name in sorted(used[up.lead]))).where(lead.id.in_(pointed))
        self._copy(conn, "cw_day_lead", up.lead, sorted(used[up.lead]), leads)

    def _copy(self, conn: Connection, name: str, source: Table, columns: list[str], rows: Select) -> Table:
        compiled = rows.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        # our own table name and a compiled statement whose values are all bound parameters
        conn.exec_driver_sql(f'CREATE TEMPORARY TABLE "{name}" ON COMMIT DROP AS {compiled}', compiled.params)
        conn.exec_driver_sql(f'ANALYZE "{name}"')
        copy = Table(name, MetaData(), *(Column(column, source.c[column].type) for column in columns))
        self.swap[source] = copy
        return copy

    def tables_for(self, time: ColumnElement) -> dict[Table, Table]:
        """The copies a statement windowed by `time` may read (see the class docstring)."""
        table = getattr(time, "table", None)
        name = getattr(time, "name", None)
        swap = {}
        if table in DAY_COPIES and name in DAY_COPIES[table] and table in self.swap:
            swap[table] = self.swap[table]
        if table in LEAD_POINTERS and up.lead in self.swap:
            swap[up.lead] = self.swap[up.lead]
        return swap

    def apply(self, stmt: Select, time: ColumnElement) -> Select:
        """The statement reading the day's copies instead of the upstream tables, where it may."""
        swap = self.tables_for(time)
        if not swap:
            return stmt

        def replace(element):
            if isinstance(element, Table) and element in swap:
                return swap[element]
            if isinstance(element, Column) and element.table in swap:
                return swap[element.table].c[element.name]
            return None

        return visitors.replacement_traverse(stmt, {}, replace)


def finest_first(variants: Mapping[str, Mapping[str, object]]) -> list[tuple[str, Mapping[str, object]]]:
    """The variants, finest time bucket first (a coarser one may then follow from it: `finer_variant`)."""
    return sorted(variants.items(), key=lambda item: (item[1].get("bucket_seconds") or 0, item[0]))


def finer_variant(summary: Summary, done: Mapping[str, Mapping[str, object]],
                  options: Mapping[str, object]) -> str | None:
    """A variant already stored for the slot whose rows this one's follow from: the same time series with
    a bucket that divides this one's. Every bucket starts at a multiple of its width since the epoch, so
    each finer bucket lies inside exactly one coarser bucket and the coarser counts and sums are the finer
    ones summed. None when there is none (the query's own statement runs)."""
    seconds = options.get("bucket_seconds")
    if not (summary.in_sql and summary.columns.get("bucket") is Kind.TIME and isinstance(seconds, int)):
        return None
    rest = {k: v for k, v in options.items() if k != "bucket_seconds"}
    for variant, stored in done.items():
        finer = stored.get("bucket_seconds")
        if (isinstance(finer, int) and finer < seconds and seconds % finer == 0
                and rest == {k: v for k, v in stored.items() if k != "bucket_seconds"}):
            return variant
    return None


def derive_rows(conn: Connection, spec: QuerySpec, variant: str, options: Mapping[str, object], finer: str,
                day: datetime, grain: int, end: datetime | None = None) -> int:
    """INSERT the variant's rows of `grain` for [day, end) (the whole day by default), summed from the rows
    of the finer variant `finer` (see `finer_variant`) with each bucket widened; the rows inserted."""
    summary = spec.summary
    table = cells_table(spec.name)
    t = table.c
    keys = [name for name in summary.stored_keys if name != "bucket"]
    widened = (select(t.slot, time_bucket(t.bucket, int(options["bucket_seconds"])).label("widened"),
                      *(t[name] for name in (*keys, *summary.measures)))
               .where(t.variant == finer, t.grain == grain, t.slot >= day, t.slot < (end or day + DAY))
               .subquery("finer"))
    w = widened.c
    rows = (select(literal(variant), literal(grain), w.slot, stored_time(w.widened), *(w[name] for name in keys),
                   *(func.sum(w[name]) for name in summary.measures))
            .group_by(w.slot, w.widened, *(w[name] for name in keys)))
    order = ["variant", "grain", "slot", "bucket", *keys, *summary.measures]
    return _inserted(conn, insert(table).from_select(order, rows))


def store_answers(conn: Connection, spec: QuerySpec, variant: str, options: Mapping[str, object],
                  day: datetime, *, hours: bool = True, sources: DaySources | None = None) -> tuple[int, int]:
    """Store the query's answers for the day: its hour answers (`INSERT ... SELECT` of its own statement
    grouped by hour), then the day's answer summed from them in SQL; without `hours` (or for a query that
    keeps none) the day's answer directly. Returns (hour rows, day rows)."""
    summary = spec.summary
    table = cells_table(spec.name)
    window = Window(day, day + DAY)
    hours = hours and summary.hourly
    if not summary.in_sql:
        return _store_through_python(conn, spec, variant, options, day, hours=hours)
    stmt = query_statement(conn, spec, window, options)
    def adapt(statement: Select) -> Select:
        return statement if sources is None else sources.apply(statement, summary.time)

    if not hours:
        answer = adapt(stmt).subquery("answer")
        return 0, _insert_from(conn, spec, variant, DAY_GRAIN, literal(day, table.c.slot.type), answer)
    t = table.c
    hour_rows = store_hours(conn, spec, variant, options, window, sources)
    keys = [t[name] for name in summary.stored_keys]
    sums = [func.sum(t[name]) for name in summary.measures]
    by_key = (select(literal(variant), literal(DAY_GRAIN), literal(day, t.slot.type), *keys, *sums)
              .where(t.variant == variant, t.grain == HOUR_GRAIN, t.slot >= day, t.slot < day + DAY)
              .group_by(*(keys or [t.variant])))
    order = ["variant", "grain", "slot", *summary.stored_keys, *summary.measures]
    day_rows = _inserted(conn, insert(table).from_select(order, by_key))
    return hour_rows, day_rows


def _insert_from(conn: Connection, spec: QuerySpec, variant: str, grain: int, slot: ColumnElement,
                 answer: Subquery) -> int:
    """INSERT INTO the query's table (variant, grain, slot, its stored columns) SELECT ... FROM answer."""
    summary = spec.summary
    names = summary.stored_columns
    values = [stored_time(answer.c[name]) if summary.columns[name] is Kind.TIME else answer.c[name]
              for name in names]
    source = select(literal(variant), literal(grain), slot, *values)
    return _inserted(conn, insert(cells_table(spec.name)).from_select(["variant", "grain", "slot", *names], source))


def _inserted(conn: Connection, stmt: Executable) -> int:
    """Run an INSERT ... SELECT and return how many rows it inserted (SQLAlchemy keeps the count of an
    INSERT only when asked)."""
    return conn.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount


def day_sources(conn: Connection, day: datetime, only: set[tuple[str, str]] | None = None,
                window: Window | None = None) -> DaySources | None:
    """The copies of the big tables and Lead for the day (or `window`, a part of it) that the day's
    statements (`only` those pairs, when given) read (None when they cannot be made: every statement then
    reads the upstream tables, as correct and slower)."""
    window = window or Window(day, day + DAY)
    statements = []
    for spec in summarised_specs():
        for variant, options in spec.summary.stored_variants(spec.raw).items():
            if spec.summary.in_sql and (only is None or (spec.name, variant) in only):
                try:
                    statements.append(query_statement(conn, spec, window, options))
                except Exception:  # noqa: BLE001, S112 - that query fails on its own turn, recorded there
                    continue
    savepoint = conn.begin_nested()
    try:
        sources = DaySources(conn, window, statements)
    except Exception as exc:  # noqa: BLE001 - a refused copy must not stop the day
        savepoint.rollback()
        log.warning("summaries: the day's copies of the upstream tables failed (%s); reading the tables",
                    type(exc).__name__)
        return None
    savepoint.commit()
    return sources


class _Captured(Exception):  # noqa: N818 - a control-flow signal, not an error
    def __init__(self, stmt: Executable):
        super().__init__("statement captured")
        self.stmt = stmt


class StatementOf:
    """A connection stand-in that captures the first statement a query reads through read_frame and
    stops the query there (its pandas steps never run); everything else is the wrapped connection's."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def __getattr__(self, name: str):
        return getattr(self.conn, name)

    def shape_statement(self, stmt: Executable) -> Executable:
        raise _Captured(stmt)


def query_statement(conn: Connection, spec: QuerySpec, f: Window, options: Mapping[str, object]) -> Select:
    """The SELECT the query runs for the window, unordered; its columns must be the stored ones."""
    try:
        spec.raw(StatementOf(conn), f, **options)
    except _Captured as captured:
        stmt = captured.stmt
    else:
        raise TypeError(f"{spec.name} read no statement through read_frame")
    if not isinstance(stmt, Select):
        raise TypeError(f"{spec.name} does not read a SELECT")
    got, expected = list(stmt.selected_columns.keys()), spec.summary.stored_columns
    if sorted(got) != sorted(expected):
        raise ValueError(f"{spec.name} selects {got}, its summary stores {expected}: declare the others derived")
    return stmt.order_by(None)


class stored_time(FunctionElement):  # noqa: N801 - reads like the SQL it compiles to
    """A timestamp as the summary tables store it: as is on PostgreSQL; on SQLite the text SQLAlchemy
    writes and compares ('YYYY-MM-DD HH:MM:SS.ffffff'), so a slot written by SQL sorts with bound values."""

    type = DateTime()
    inherit_cache = True
    name = "stored_time"


@compiles(stored_time)
def _stored_time_default(element, compiler, **kw):
    return compiler.process(list(element.clauses)[0], **kw)


@compiles(stored_time, "sqlite")
def _stored_time_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m-%d %H:%M:%S.000000', {compiler.process(list(element.clauses)[0], **kw)})"


def _store_through_python(conn: Connection, spec: QuerySpec, variant: str, options: Mapping[str, object],
                          day: datetime, *, hours: bool) -> tuple[int, int]:
    """The answers of a query whose pandas step must run before storing, through Python rows."""
    if hours:
        daily, hourly = answers_for_day(conn, spec, day, dict(options))
    else:
        daily, hourly = spec.raw(conn, Window(day, day + DAY), **options), pd.DataFrame()
    table = cells_table(spec.name)
    days = list(_records(daily, variant, DAY_GRAIN, day))
    hours = list(_records(hourly, variant, HOUR_GRAIN, None))
    _insert_rows(conn, table, [*days, *hours])
    return len(hours), len(days)


def _forget(conn: Connection, name: str, variant: str, day: datetime) -> None:
    table = cells_table(name)
    conn.execute(delete(table).where(table.c.variant == variant, table.c.slot >= day, table.c.slot < day + DAY))
    for marks in (summary_day, summary_hours, summary_open_day):
        conn.execute(delete(marks).where(marks.c.query == name, marks.c.variant == variant, marks.c.day == day))


def _forget_open_hours(conn: Connection, name: str, variant: str, day: datetime, start: datetime) -> None:
    """Before appending today's hours from `start`: any rows already there, and the day's mark."""
    t = cells_table(name).c
    conn.execute(delete(cells_table(name)).where(t.variant == variant, t.grain == HOUR_GRAIN, t.slot >= start,
                                                 t.slot < day + DAY))
    o = summary_open_day.c
    conn.execute(delete(summary_open_day).where(o.query == name, o.variant == variant, o.day == day))


def drop_old_hours(engine: Engine, before: datetime, keep: set[datetime] = frozenset()) -> None:
    """Delete the hour answers of days before `before` (they aged out of `hour_days`) but the days in `keep`
    (`start_days`): the day rows stay, and a window starting inside such a day reads that part raw. One
    indexed delete per (query, variant, day) listed in summary_hours, so a cycle with nothing to drop reads
    one small table."""
    with engine.begin() as conn:
        h = summary_hours.c
        aged = conn.execute(select(h.query, h.variant, h.day).where(h.day < before, h.day.not_in(list(keep)))).all()
        known = {spec.name for spec in summarised_specs()}
        for name, variant, day in aged:
            if name in known:
                t = cells_table(name).c
                conn.execute(delete(cells_table(name)).where(t.variant == variant, t.grain == HOUR_GRAIN,
                                                             t.slot >= day, t.slot < day + DAY))
        if aged:
            conn.execute(delete(summary_hours).where(h.day < before, h.day.not_in(list(keep))))


def _forget_unknown_failures(engine: Engine) -> None:
    """Failure records of queries no longer registered (renamed, removed) would be shown forever."""
    names = [spec.name for spec in summarised_specs()]
    with engine.begin() as conn:
        conn.execute(delete(summary_failure).where(summary_failure.c.query.not_in(names)))


def analyze_summary_tables(engine: Engine) -> None:
    """Give the planner real row counts after a back-fill (the tables are new and large)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for table in all_tables():
                conn.execute(text(f'ANALYZE "{table.schema}"."{table.name}"'))  # our own names, not input
        else:
            conn.execute(text("ANALYZE"))


def slot_grouped(stmt: Executable, column: ColumnElement, seconds: int) -> Select:
    """The statement also grouped by the fixed-size UTC slot of `column`, returned as a last column
    `slot`: one statement gives a query's answer for each hour of a day."""
    if not isinstance(stmt, Select):
        raise TypeError("only a SELECT can be grouped by slot")
    # the FROM objects named by select_from() and by the columns (get_final_froms() would compile the
    # statement with the generic compiler, which our dialect constructs do not support)
    froms = [*stmt._from_obj, *stmt.columns_clause_froms]  # noqa: SLF001 - no public accessor without compiling
    tables = {table for clause in froms for table in find_tables(clause, include_joins=True)}
    if getattr(column, "table", None) not in tables:
        # adding the column would add its table to FROM: a cross join, silently wrong
        raise ValueError(f"the slot column {column} is not in the statement's FROM")
    # grouped by the output name: repeating the expression would repeat its bound parameter
    return stmt.add_columns(time_bucket(column, seconds).label("slot")).group_by(literal_column("slot"))


class SlotGrouped:
    """A connection whose every statement read through queries.frame.read_frame is also grouped by the
    hour (`slot_grouped`): the Python path of a query that declares `in_sql=False`."""

    def __init__(self, conn: Connection, column: ColumnElement, seconds: int):
        self.conn, self.column, self.seconds = conn, column, seconds

    def __getattr__(self, name: str):
        return getattr(self.conn, name)

    def shape_statement(self, stmt: Executable) -> Select:
        return slot_grouped(stmt, self.column, self.seconds)


def answers_for_day(conn: Connection, spec: QuerySpec, day: datetime,
                    options: dict[str, object]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The query's answer for the day and, for an hourly query, for each hour of it (with `slot`), from
    one statement: the day's answer is the hours' answers summed per key."""
    summary = spec.summary
    window = Window(day, day + DAY)
    if not summary.hourly:
        return spec.raw(conn, window, **options), pd.DataFrame(columns=[*summary.columns, "slot"])
    hourly = spec.raw(SlotGrouped(conn, summary.time, HOUR_GRAIN), window, **options)
    return combine([hourly.drop(columns="slot")], summary), hourly


def _records(frame: pd.DataFrame, variant: str, grain: int, slot: datetime | None) -> Iterable[dict]:
    """Rows as plain Python values: naive UTC datetimes, None for missing, ints and floats unboxed.
    `slot` None takes each row's own `slot` column (the hour answers)."""
    columns = list(frame.columns)
    for values in frame.itertuples(index=False, name=None):
        record = {"variant": variant, "grain": grain, "slot": slot}
        for name, value in zip(columns, values, strict=True):
            record[name] = _plain(value)
        yield record


def _insert_rows(conn: Connection, table: Table, rows: list[dict]) -> None:
    """INSERT on SQLite; COPY on PostgreSQL (a day of hour answers is tens of thousands of rows)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    names = [column.name for column in table.columns]
    quoted = ", ".join(f'"{name}"' for name in names)
    statement = f'COPY "{table.schema}"."{table.name}" ({quoted}) FROM STDIN'
    with conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row.get(name) for name in names])


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert(UTC).tz_localize(None).to_pydatetime() if value.tzinfo else value.to_pydatetime()
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


class SummaryRefresher(threading.Thread):
    """Runs a refresh cycle every `every` seconds in the background of a dashboard process.

    The first cycle back-fills every due day; later ones follow the policy. A query that fails is
    recorded and the cycle goes on (see the module docstring); a cycle that fails as a whole (the
    database away) is logged (its exception class only) and retried on the next tick; the pages
    meanwhile read raw rows.
    """

    def __init__(self, engine: Engine, *, every: float = 60.0, policy: RefreshPolicy = RefreshPolicy(),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        super().__init__(name="canarywatch-summary-refresh", daemon=True)
        self.engine, self.every, self.policy, self.clock = engine, every, policy, clock
        self.stopped = threading.Event()
        self.last: RefreshReport | None = None

    def run(self) -> None:
        backfill = True
        while not self.stopped.is_set():
            try:
                self.last = refresh_summaries(self.engine, now=self.clock(), policy=self.policy, backfill=backfill)
                backfill = False
                log.info("summaries: %s", self.last.line())
                for line in self.last.failure_lines():  # recorded in summary_failure, shown on every page
                    log.warning("summaries: %s", line)
            except Exception as exc:  # noqa: BLE001 - a background cycle must never kill the thread
                log.warning("summaries: refresh cycle failed (%s); retrying in %.0f s", type(exc).__name__, self.every)
            self.stopped.wait(self.every)

    def stop(self) -> None:
        self.stopped.set()
