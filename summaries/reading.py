"""Reading a window from the per-day summaries plus the raw rows at its edges, explicitly.

A caller that wants summary-backed answers opens a `SummaryReader` over its connection and passes
it where a query expects a connection (`drafts.needs_review_series(reader, f)`); on a plain
connection every query reads the raw rows. A window is read as

    stored whole days + stored whole hours of days it covers in part + raw rows elsewhere

(the partial hours at its edges, today's hours after the last finished one the refresh stored, any day
not stored yet, and the part of an older day whose hours are no longer kept:
summaries.refresh.RefreshPolicy.hour_days): the stored parts summed in one SQL
statement, the raw parts by the query itself, and all of it summed once more per key in pandas.
Counts come out exactly as the raw query gives them; float sums agree to the last few bits (float
addition is not associative). summaries/refresh.py writes the tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import BigInteger, Connection, Engine, and_, cast, func, inspect, literal, or_, select, union_all

from db.engine import STATE_SCHEMA
from db.state import summary_failure
from queries.filters import Window, naive_utc
from queries.frame import read_frame
from queries.registry import QuerySpec
from queries.summary_spec import Kind, Summary, variant_key
from summaries.declarations import (
    DAY,
    DAY_GRAIN,
    HOUR,
    HOUR_GRAIN,
    cells_table,
    summary_day,
    summary_hours,
    summary_open_day,
)

_AVAILABLE: set[str] = set()


def summaries_available(conn: Connection) -> bool:
    """Whether this database has the summary tables (remembered once seen; a database without them
    is read raw, as before issue 6; `summary_open_day` is the newest, created by the first refresh of
    the code that stores today's finished hours)."""
    url = conn.engine.url.render_as_string(hide_password=True)
    if url not in _AVAILABLE:
        schema = STATE_SCHEMA if conn.dialect.name == "postgresql" else None
        if not inspect(conn).has_table(summary_open_day.name, schema=schema):
            return False
        _AVAILABLE.add(url)
    return True


class SummaryReader:
    """A connection that answers summarised queries from the stored days plus raw edges.

    Everything else (execute, dialect, ...) is the wrapped connection's, so any query runs on it;
    a query that declares no Summary simply reads the raw rows through it.
    """

    def __init__(self, conn: Connection):
        self.conn = conn

    def __getattr__(self, name: str):
        return getattr(self.conn, name)

    def read_summarised(self, spec: QuerySpec, f: Window, options: Mapping[str, object]) -> pd.DataFrame:
        return read_with_summaries(self.conn, spec, f, dict(options))


@contextmanager
def summary_reader(engine: Engine) -> Iterator[SummaryReader]:
    """A read connection wrapped as a SummaryReader (the read engine raises work_mem at connect)."""
    with engine.connect() as conn:
        yield SummaryReader(conn)


# -- days and pieces of a window ----------------------------------------------------------------


def midnight(moment: datetime) -> datetime:
    """The UTC midnight at or before `moment`, as naive UTC (how summary_day stores days)."""
    return naive_utc(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def touched_days(f: Window) -> list[datetime]:
    """Every UTC day the window has a part of, as naive UTC midnights."""
    days, day = [], midnight(f.start)
    while day < naive_utc(f.end):
        days.append(day)
        day += DAY
    return days


def day_runs(days: Iterable[datetime], step: timedelta = DAY) -> list[tuple[datetime, datetime]]:
    """Sorted slot starts as [start, end) runs of consecutive slots of `step`."""
    runs: list[tuple[datetime, datetime]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + step)
        else:
            runs.append((day, day + step))
    return runs


@dataclass(frozen=True)
class ReadPlan:
    """How to read a window: stored days, stored hours, and the raw pieces in between."""

    days: list[datetime]
    hours: list[datetime]
    raw: list[Window]


def read_plan(f: Window, covered: Sequence[datetime], *, hourly: bool,
              with_hours: Sequence[datetime] | None = None,
              open_days: Mapping[datetime, datetime] | None = None) -> ReadPlan:
    """Whole covered days from day slots; whole hours of covered days the window only partly covers
    from hour slots (when the query keeps hours, and the day's hours are stored: `with_hours`, by
    default every covered day); whole hours of a day not stored yet up to its `open_days` mark (today's
    finished hours); everything else raw, adjacent pieces merged."""
    stored = set(covered)
    hour_days = stored if with_hours is None else set(with_hours) & stored
    opened = dict(open_days or {}) if hourly else {}
    days: list[datetime] = []
    hours: list[datetime] = []
    raw: list[tuple[datetime, datetime]] = []

    def add_raw(start: datetime, end: datetime) -> None:
        if start >= end:
            return
        if raw and raw[-1][1] == start:
            raw[-1] = (raw[-1][0], end)
        else:
            raw.append((start, end))

    def add_hours(lo: datetime, hi: datetime, until: datetime) -> None:
        """[lo, hi) as its whole hours before `until`, raw around them."""
        first_hour = lo.replace(minute=0, second=0, microsecond=0)
        if first_hour < lo:
            first_hour += HOUR
        last_hour = min(hi.replace(minute=0, second=0, microsecond=0), until)
        if first_hour >= last_hour:
            add_raw(lo, hi)
            return
        add_raw(lo, first_hour)
        hour = first_hour
        while hour < last_hour:
            hours.append(hour)
            hour += HOUR
        add_raw(last_hour, hi)

    start, end = naive_utc(f.start), naive_utc(f.end)
    day = midnight(f.start)
    while day < end:
        lo, hi = max(start, day), min(end, day + DAY)
        if day not in stored:
            if day in opened:
                add_hours(lo, hi, opened[day])
            else:
                add_raw(lo, hi)
        elif (lo, hi) == (day, day + DAY):
            days.append(day)
        elif not hourly or day not in hour_days:
            add_raw(lo, hi)
        else:
            add_hours(lo, hi, day + DAY)
        day += DAY
    pieces = [replace(f, start=a.replace(tzinfo=UTC), end=b.replace(tzinfo=UTC)) for a, b in raw]
    return ReadPlan(days, hours, pieces)


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Marks:
    """What is stored for one query and variant over a run of days: read in one statement, since a page
    reads dozens of summarised queries and each would otherwise pay three round trips before its data."""

    days: list[datetime]  # whose day answer is stored
    with_hours: set[datetime]  # whose hour answers are stored too
    open: dict[datetime, datetime]  # not stored whole yet (today) -> the end of its stored finished hours


def stored_marks(conn: Connection, name: str, variant: str, days: Sequence[datetime]) -> Marks:
    """The marks of the query and variant for the days between `days[0]` and `days[-1]`."""
    first, last = days[0], days[-1]
    d, h, o = summary_day.c, summary_hours.c, summary_open_day.c
    kinds = union_all(
        select(literal("day").label("kind"), d.day.label("day"), d.day.label("through"))
        .where(d.query == name, d.variant == variant, d.day >= first, d.day <= last),
        select(literal("hours"), h.day, h.day).where(h.query == name, h.variant == variant, h.day >= first,
                                                     h.day <= last),
        select(literal("open"), o.day, o.through).where(o.query == name, o.variant == variant, o.day >= first,
                                                        o.day <= last),
    )
    stored, hours, opened = [], set(), {}
    for kind, day, through in conn.execute(kinds):  # typed by the first SELECT: datetimes on both databases
        if kind == "day":
            stored.append(day)
        elif kind == "hours":
            hours.add(day)
        else:
            opened[day] = through
    return Marks(sorted(stored), hours, opened)


def stored_cells(conn: Connection, spec: QuerySpec, variant: str, plan: ReadPlan,
                 workspaces: tuple[str, ...], options: Mapping[str, object]) -> pd.DataFrame:
    """The stored answers for the plan's days and hours, summed per key in SQL; the derived columns
    computed from them as the query computes them (`options`: its keyword arguments)."""
    summary = spec.summary
    assert summary is not None
    table = cells_table(spec.name)
    keys = [table.c[name] for name in summary.stored_keys]
    measures = [
        (cast(func.sum(table.c[name]), BigInteger) if summary.columns[name] is Kind.COUNT
         else func.sum(table.c[name])).label(name)
        for name in summary.measures
    ]
    slots = [and_(table.c.grain == grain, table.c.slot >= start, table.c.slot < end)
             for grain, step, starts in ((DAY_GRAIN, DAY, plan.days), (HOUR_GRAIN, HOUR, plan.hours))
             for start, end in day_runs(starts, step)]
    stmt = select(*keys, *measures).where(table.c.variant == variant, or_(*slots))
    if workspaces and summary.per_workspace:
        stmt = stmt.where(table.c.workspace.in_(workspaces))
    if keys:
        stmt = stmt.group_by(*keys)
    frame = read_frame(conn, stmt)
    for name, compute in summary.derived.items():
        frame[name] = compute(frame, options)
    return frame


def combine(parts: Sequence[pd.DataFrame], summary: Summary) -> pd.DataFrame:
    """Sum the parts per key, in the query's column order, sorted by its keys."""
    filled = [part for part in parts if len(part)]
    if not filled:
        return parts[0][list(summary.columns)]
    frame = pd.concat(filled, ignore_index=True) if len(filled) > 1 else filled[0]
    keys, measures = summary.keys, summary.measures
    if keys:
        frame = frame.groupby(keys, dropna=False, sort=True)[measures].sum(min_count=0).reset_index()
    else:
        frame = frame[measures].sum().to_frame().T
    for name in measures:
        if summary.columns[name] is Kind.COUNT:
            frame[name] = frame[name].astype("int64")
        else:
            frame[name] = frame[name].astype("float64")
    return frame[list(summary.columns)]


def read_with_summaries(conn: Connection, spec: QuerySpec, f: Window, options: dict[str, object]) -> pd.DataFrame:
    """The query's answer for the window: stored whole days plus the raw rows everywhere else."""
    summary = spec.summary
    assert summary is not None
    bound = summary.bind(spec.raw, f, options)
    variant = variant_key(bound)
    days = touched_days(f)
    usable = (
        days
        and variant in summary.stored_variants(spec.raw)
        and (f.channel is None or summary.ignores_channel)
        and summaries_available(conn)
    )
    marks = stored_marks(conn, spec.name, variant, days) if usable else Marks([], set(), {})
    covered, stored = marks.days, set(marks.days)
    partial = [day for day in (days[:1] + days[-1:] if days else []) if day in stored
               and (day < naive_utc(f.start) or day + DAY > naive_utc(f.end))]
    with_hours = sorted(day for day in set(partial) if day in marks.with_hours) if summary.hourly else []
    opened = ({day: through for day, through in marks.open.items() if day not in stored}
              if summary.hourly else {})
    plan = read_plan(f, covered, hourly=summary.hourly, with_hours=with_hours, open_days=opened)
    if not plan.days and not plan.hours:
        return spec.raw(conn, f, **options)
    parts = [stored_cells(conn, spec, variant, plan, f.workspaces, bound)]
    parts += [spec.raw(conn, piece, **bound) for piece in plan.raw]
    return combine(parts, summary)


# -- freshness -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailureNote:
    """A summarised query whose refresh failed: on how many days, with which error class, when last."""

    query: str
    error_class: str
    days: int
    last_failed_at: datetime


@dataclass(frozen=True)
class Freshness:
    """How current the stored days are, for the line every page shows."""

    days: int  # distinct days stored
    first_day: datetime | None
    last_day: datetime | None
    oldest_recent_refresh: datetime | None  # the least recent refresh among the last two stored days
    newest_refresh: datetime | None
    failures: tuple[FailureNote, ...] = ()
    oldest_open_refresh: datetime | None = None  # the least recent computing of the latest open day's hours


def summary_freshness(conn: Connection) -> Freshness:
    """The stored range, refresh times and failing queries (a database without summaries reads as none
    stored)."""
    if not summaries_available(conn):
        return Freshness(0, None, None, None, None)
    d = summary_day.c
    first, last, days, newest = conn.execute(
        select(func.min(d.day), func.max(d.day), func.count(d.day.distinct()), func.max(d.refreshedAt))
    ).one()
    oldest_recent = None
    if last is not None:
        oldest_recent = conn.execute(select(func.min(d.refreshedAt)).where(d.day >= last - DAY)).scalar()
    o = summary_open_day.c
    latest_open = select(func.max(o.day)).scalar_subquery()
    oldest_open = conn.execute(select(func.min(o.refreshedAt)).where(o.day == latest_open)).scalar()
    return Freshness(int(days or 0), first, last, oldest_recent, newest, refresh_failures(conn), oldest_open)


def refresh_failures(conn: Connection) -> tuple[FailureNote, ...]:
    """Every query whose latest refresh of some day failed, by name (the table may not exist yet)."""
    schema = STATE_SCHEMA if conn.dialect.name == "postgresql" else None
    if not inspect(conn).has_table(summary_failure.name, schema=schema):
        return ()
    c = summary_failure.c
    rows = conn.execute(
        select(c.query, c.errorClass, func.count(c.day.distinct()), func.max(c.failedAt))
        .group_by(c.query, c.errorClass).order_by(c.query, c.errorClass)
    ).all()
    return tuple(FailureNote(name, error, int(n), when) for name, error, n, when in rows)
