"""Refreshing the per-day summaries (issue 6): incremental, cheap per cycle, safe from many replicas.

Each cycle picks the days that are due and rewrites each of them in a transaction of its own: for
every summarised query and variant, delete that day's stored answers, run the raw query over the day
once, grouped by hour as well (the query runs on a `SlotGrouped` connection, which adds the hour to
every statement it reads), store its per-hour answers and their sum per key as the day's answer, and
stamp `summary_day`. Readers see a day before or after, never half.

- One failing query never takes the others down (issue 9): each query and variant is computed on its
  own (a SAVEPOINT on PostgreSQL); a failure is recorded in `summary_failure` (query, day, error
  class, time; never the message, which may quote upstream values), that query's stored answer for
  the day is removed (read raw, never stale), and the other queries and days still store. A failed
  (query, day) is retried on the same schedule as a stored one; a later success clears the record.

- Today is never stored: it is not whole yet, and readers take it raw (so the last minute counts).
- Recent days (yesterday and the day before by default) are rewritten when older than a few
  minutes, because upstream rows change after they are written (needs_review becomes a send,
  dispositions and revision fields arrive later).
- Older days are written once and rewritten daily, a few per cycle, the least recently
  refreshed first (missing days newest first), so a cycle's cost stays bounded; `backfill=True`
  does every due day at once (a first back-fill).
- Replicas: on PostgreSQL a day is only written under `pg_try_advisory_xact_lock`; a replica that
  finds the lock held skips the day (another replica is writing it) and re-checks under the lock
  that the day is still due. On SQLite the write engine begins IMMEDIATE, which serialises writers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Executable,
    Select,
    Table,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.sql.util import find_tables

from db.engine import STATE_SCHEMA, read_engine
from db.state import state_metadata, summary_failure
from queries.dialect import time_bucket
from queries.filters import Window, naive_utc
from queries.registry import QuerySpec
from summaries.declarations import (
    DAY,
    DAY_GRAIN,
    HOUR_GRAIN,
    all_tables,
    cells_table,
    summarised_specs,
    summary_day,
    summary_metadata,
)
from summaries.reading import combine, midnight

log = logging.getLogger("canarywatch.summaries")

#: pg_try_advisory_xact_lock(namespace, day number): the namespace keeps clear of other users' locks.
LOCK_NAMESPACE = 0x63770006


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


@dataclass(frozen=True)
class Failure:
    """One summarised query (one variant) that could not be computed for one day."""

    query: str
    variant: str
    day: datetime
    error_class: str


@dataclass
class RefreshReport:
    refreshed: list[datetime] = field(default_factory=list)
    skipped_locked: list[datetime] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0
    day_seconds: dict[datetime, float] = field(default_factory=dict)

    @property
    def failing_queries(self) -> list[str]:
        return sorted({failure.query for failure in self.failures})

    def line(self) -> str:
        days = ", ".join(f"{d:%Y-%m-%d}" for d in self.refreshed) or "none"
        locked = f"; {len(self.skipped_locked)} being written by another replica" if self.skipped_locked else ""
        return f"refreshed {len(self.refreshed)} day(s) ({days}), {self.rows:,} rows, in {self.seconds:.2f} s{locked}"

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
                      backfill: bool = False, read: Engine | None = None) -> RefreshReport:
    """One refresh cycle on the write engine; returns what it did. On SQLite the day's answers are
    aggregated on `read` (a read-only engine on the same file; one is opened when not given), because
    every transaction of the write engine takes SQLite's single write lock."""
    started = time.perf_counter()
    now = naive_utc(now or datetime.now(UTC))
    ensure_summary_tables(engine)
    with engine.connect() as conn:
        due = due_days(conn, now, policy, backfill=backfill)
        conn.rollback()
    _forget_unknown_failures(engine)
    report = RefreshReport()
    reader = read
    if engine.dialect.name == "sqlite" and reader is None and due:
        reader = read_engine(engine.url.render_as_string(hide_password=False))
    for day in due:
        t = time.perf_counter()
        if engine.dialect.name == "sqlite":
            # SQLite has one writer at a time: aggregate first, hold the write lock only to store
            with reader.connect() as conn:
                answers, failures = day_answers(conn, day)
            with engine.begin() as conn:
                if day not in due_days(conn, now, policy, backfill=backfill, only=day):
                    continue
                report.rows += store_day(conn, day, now, answers, failures)
        else:
            with engine.begin() as conn:
                if not _lock_day(conn, day):
                    report.skipped_locked.append(day)
                    continue
                if day not in due_days(conn, now, policy, backfill=backfill, only=day):
                    continue  # another replica wrote it while we waited
                answers, failures = day_answers(conn, day)
                report.rows += store_day(conn, day, now, answers, failures)
        report.failures += failures
        report.refreshed.append(day)
        report.day_seconds[day] = time.perf_counter() - t
    if reader is not None and read is None:
        reader.dispose()
    if backfill and len(report.refreshed) > 1:
        analyze_summary_tables(engine)
    report.seconds = time.perf_counter() - started
    return report


def due_days(conn: Connection, now: datetime, policy: RefreshPolicy, *, backfill: bool = False,
             only: datetime | None = None) -> list[datetime]:
    """The days to rewrite this cycle: recent ones first (newest first), then older ones."""
    now = naive_utc(now)
    today = midnight(now)
    first = only or max(today - policy.keep_days * DAY, _first_day_with_data(conn) or today)
    last = (only + DAY) if only else today
    variants = {spec.name: list(spec.summary.stored_variants(spec.raw)) for spec in summarised_specs()}
    wanted = {(name, variant) for name, names in variants.items() for variant in names}
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
                recent.append(day)
        elif oldest is None or oldest < now - policy.older_every:
            older.append((oldest or datetime.min, day))
        elif day in edits and edits[day] > oldest - policy.edit_margin:
            edited.append(day)
        day += DAY
    recent.sort(reverse=True)
    edited = sorted(edited, reverse=True)[: None if backfill or only else policy.edited_per_cycle]
    older.sort(key=lambda item: (item[0], -item[1].timestamp()))  # least recently refreshed, newest day first
    picked = [d for _, d in older] if backfill or only else [d for _, d in older[: policy.older_per_cycle]]
    return recent + edited + picked


def last_edits(conn: Connection, first: datetime, end: datetime, since: datetime) -> dict[datetime, datetime]:
    """Day -> the newest `updatedAt` among rows edited since `since`, for every summarised query's time
    column whose table has one (upstream's Prisma @updatedAt). One small aggregate per time column over
    the rows edited since the oldest stored day was refreshed; a day is due again when a row of it was
    edited after (or just before) that day was stored. Edits to other tables a query joins are not seen
    here: those days follow `older_every`."""
    found: dict[datetime, datetime] = {}
    columns = {str(spec.summary.time): spec.summary.time for spec in summarised_specs()}
    for column in columns.values():
        table = getattr(column, "table", None)
        if table is None or "updatedAt" not in table.c:
            continue
        updated = table.c["updatedAt"]
        day = time_bucket(column, DAY_GRAIN).label("edited_day")
        stmt = (select(day, func.max(updated)).where(updated >= since, column >= first, column < end)
                .group_by(literal_column("edited_day")))
        for edited_day, newest in conn.execute(stmt):
            key = midnight(pd.Timestamp(edited_day).to_pydatetime())
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


Answers = list[tuple[QuerySpec, str, pd.DataFrame, pd.DataFrame]]  # spec, variant, day answer, hour answers


def day_answers(conn: Connection, day: datetime) -> tuple[Answers, list[Failure]]:
    """Every summarised query and variant's answers for the day (reads only), each on its own: a query
    that raises is a Failure (its error class), and the others still answer. On PostgreSQL each runs in
    a SAVEPOINT, so a refused statement does not abort the day's transaction."""
    answers: Answers = []
    failures: list[Failure] = []
    for spec in summarised_specs():
        for variant, options in spec.summary.stored_variants(spec.raw).items():
            savepoint = conn.begin_nested() if conn.dialect.name == "postgresql" else None
            try:
                daily, hourly = answers_for_day(conn, spec, day, options)
            except Exception as exc:  # noqa: BLE001 - any failure of one query is isolated and recorded
                if savepoint is not None:
                    savepoint.rollback()
                failures.append(Failure(spec.name, variant, day, type(exc).__name__))
                log.warning("summaries: %s %s on %s failed (%s)", spec.name, variant, f"{day:%Y-%m-%d}",
                            type(exc).__name__)
                continue
            if savepoint is not None:
                savepoint.commit()
            answers.append((spec, variant, daily, hourly))
    return answers, failures


def store_day(conn: Connection, day: datetime, now: datetime, answers: Answers,
              failures: list[Failure] = ()) -> int:
    """Replace the day's stored answers and failure records; the caller owns the transaction. A failed
    query's stored answer for the day is removed (it is read raw, never stale). Returns the rows stored."""
    written = 0
    for spec, variant, daily, hourly in answers:
        _forget(conn, spec.name, variant, day)
        rows = [*_records(daily, variant, DAY_GRAIN, day), *_records(hourly, variant, HOUR_GRAIN, None)]
        _insert_rows(conn, cells_table(spec.name), rows)
        written += len(rows)
        conn.execute(insert(summary_day).values(query=spec.name, variant=variant, day=day, refreshedAt=now,
                                                rows=len(daily)))
    c = summary_failure.c
    conn.execute(delete(summary_failure).where(c.day == day, c.query.in_({spec.name for spec, *_ in answers})))
    for failure in failures:
        _forget(conn, failure.query, failure.variant, day)
    for name, error_class in sorted({(f.query, f.error_class) for f in failures}):
        conn.execute(delete(summary_failure).where(c.day == day, c.query == name))
        conn.execute(insert(summary_failure).values(query=name, day=day, errorClass=error_class, failedAt=now))
    return written


def _forget(conn: Connection, name: str, variant: str, day: datetime) -> None:
    table = cells_table(name)
    conn.execute(delete(table).where(table.c.variant == variant, table.c.slot >= day, table.c.slot < day + DAY))
    conn.execute(delete(summary_day).where(summary_day.c.query == name, summary_day.c.variant == variant,
                                           summary_day.c.day == day))


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


class SlotGrouped:
    """A connection whose every statement read through queries.frame.read_frame is also grouped by
    the fixed-size UTC slot of `column`, returned as a last column `slot`: one statement gives a
    query's answer for each hour of a day, and the query's own code does not change."""

    def __init__(self, conn: Connection, column: ColumnElement, seconds: int):
        self.conn, self.column, self.seconds = conn, column, seconds

    def __getattr__(self, name: str):
        return getattr(self.conn, name)

    def shape_statement(self, stmt: Executable) -> Select:
        if not isinstance(stmt, Select):
            raise TypeError("only a SELECT can be grouped by slot")
        # the FROM objects named by select_from() and by the columns (get_final_froms() would compile the
        # statement with the generic compiler, which our dialect constructs do not support)
        froms = [*stmt._from_obj, *stmt.columns_clause_froms]  # noqa: SLF001 - no public accessor without compiling
        tables = {table for clause in froms for table in find_tables(clause, include_joins=True)}
        if getattr(self.column, "table", None) not in tables:
            # adding the column would add its table to FROM: a cross join, silently wrong
            raise ValueError(f"the slot column {self.column} is not in the statement's FROM")
        # grouped by the output name: repeating the expression would repeat its bound parameter
        return stmt.add_columns(time_bucket(self.column, self.seconds).label("slot")).group_by(literal_column("slot"))


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
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), read: Engine | None = None):
        super().__init__(name="canarywatch-summary-refresh", daemon=True)
        self.engine, self.every, self.policy, self.clock, self.read = engine, every, policy, clock, read
        self.stopped = threading.Event()
        self.last: RefreshReport | None = None

    def run(self) -> None:
        backfill = True
        while not self.stopped.is_set():
            try:
                self.last = refresh_summaries(self.engine, now=self.clock(), policy=self.policy, backfill=backfill,
                                              read=self.read)
                backfill = False
                log.info("summaries: %s", self.last.line())
                for line in self.last.failure_lines():  # recorded in summary_failure, shown on every page
                    log.warning("summaries: %s", line)
            except Exception as exc:  # noqa: BLE001 - a background cycle must never kill the thread
                log.warning("summaries: refresh cycle failed (%s); retrying in %.0f s", type(exc).__name__, self.every)
            self.stopped.wait(self.every)

    def stop(self) -> None:
        self.stopped.set()
