"""Per-day summaries: their tables, and reading a window from them plus the raw rows at its edges.

For every query declared with a `Summary`, canarywatch keeps the query's own answer for each whole
UTC day and declared variant, and for each hour of that day (`grain` 86400 and 3600), in a table of
its own in the `canarywatch` schema (`summary_<module>__<query>`), and records in `summary_day`
which (query, variant, day) is stored and when it was refreshed. A window is read as

    stored whole days + stored whole hours of days it covers in part + raw rows elsewhere

(the partial hours at its edges, today, any day not stored yet): the stored parts summed in one SQL
statement, the raw parts by the query itself, and all of it summed once more per key in pandas.
Counts come out exactly as the raw query gives them; float sums agree to the last few bits (float
addition is not associative). rollout/summaries.py writes the tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Double,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    cast,
    func,
    inspect,
    or_,
    select,
)

from db.engine import STATE_SCHEMA
from db.upstream import Timestamp
from queries import booking, bundle, drafts, offload, overseer, revision, telemetry  # noqa: F401 - registers them
from queries.filters import Window, naive_utc
from queries.frame import REGISTRY, QuerySpec, read_frame
from queries.summary_spec import Kind, Summary, variant_key

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
DAY_GRAIN, HOUR_GRAIN = 86400, 3600

summary_metadata = MetaData(schema=STATE_SCHEMA)

#: Which (query, variant, UTC day) has its answer stored, when it was computed and how many rows it has.
summary_day = Table(
    "summary_day",
    summary_metadata,
    Column("query", Text, primary_key=True),
    Column("variant", Text, primary_key=True),
    Column("day", Timestamp, primary_key=True),
    Column("refreshedAt", Timestamp, nullable=False),
    Column("rows", Integer, nullable=False),
)

_TYPES = {Kind.TEXT: Text, Kind.INT: BigInteger, Kind.FLOAT: Double, Kind.BOOL: Boolean, Kind.TIME: Timestamp,
          Kind.COUNT: BigInteger, Kind.TOTAL: Double}


def summarised_specs() -> list[QuerySpec]:
    """Every registered query that declares a Summary, by name."""
    return [spec for _, spec in sorted(REGISTRY.items()) if spec.summary is not None]


@cache
def cells_table(name: str) -> Table:
    """The table holding one query's stored answers: variant, grain (86400 or 3600 s), the slot's start,
    then the query's own columns."""
    summary = REGISTRY[name].summary
    assert summary is not None, name
    table_name = "summary_" + name.replace(".", "__")
    return Table(
        table_name,
        summary_metadata,
        Column("variant", Text, nullable=False),
        Column("grain", Integer, nullable=False),
        Column("slot", Timestamp, nullable=False),
        *(Column(column, _TYPES[kind], nullable=True) for column, kind in summary.columns.items()),
        Index(f"{table_name}_slot_idx", "variant", "grain", "slot"),
    )


def all_tables() -> list[Table]:
    return [summary_day, *(cells_table(spec.name) for spec in summarised_specs())]


_AVAILABLE: set[str] = set()


def summaries_available(conn: Connection) -> bool:
    """Whether this database has the summary tables (remembered once seen; a database without them
    is read raw, as before issue 6)."""
    url = conn.engine.url.render_as_string(hide_password=True)
    if url not in _AVAILABLE:
        schema = STATE_SCHEMA if conn.dialect.name == "postgresql" else None
        if not inspect(conn).has_table(summary_day.name, schema=schema):
            return False
        _AVAILABLE.add(url)
    return True


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


def read_plan(f: Window, covered: Sequence[datetime], *, hourly: bool) -> ReadPlan:
    """Whole covered days from day slots; whole hours of covered days the window only partly covers
    from hour slots (when the query keeps hours); everything else raw, adjacent pieces merged."""
    stored = set(covered)
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

    start, end = naive_utc(f.start), naive_utc(f.end)
    day = midnight(f.start)
    while day < end:
        lo, hi = max(start, day), min(end, day + DAY)
        if day not in stored:
            add_raw(lo, hi)
        elif (lo, hi) == (day, day + DAY):
            days.append(day)
        elif not hourly:
            add_raw(lo, hi)
        else:
            first_hour = lo.replace(minute=0, second=0, microsecond=0)
            if first_hour < lo:
                first_hour += HOUR
            last_hour = hi.replace(minute=0, second=0, microsecond=0)
            if first_hour >= last_hour:
                add_raw(lo, hi)
            else:
                add_raw(lo, first_hour)
                hour = first_hour
                while hour < last_hour:
                    hours.append(hour)
                    hour += HOUR
                add_raw(last_hour, hi)
        day += DAY
    pieces = [replace(f, start=a.replace(tzinfo=UTC), end=b.replace(tzinfo=UTC)) for a, b in raw]
    return ReadPlan(days, hours, pieces)


# -- reading -------------------------------------------------------------------------------------


def covered_days(conn: Connection, name: str, variant: str, days: Sequence[datetime]) -> list[datetime]:
    """The days among `days` whose answer is stored for this query and variant."""
    stmt = select(summary_day.c.day).where(
        summary_day.c.query == name,
        summary_day.c.variant == variant,
        summary_day.c.day >= days[0],
        summary_day.c.day <= days[-1],
    )
    return [row.day for row in conn.execute(stmt)]


def stored_cells(conn: Connection, spec: QuerySpec, variant: str, plan: ReadPlan,
                 workspaces: tuple[str, ...]) -> pd.DataFrame:
    """The stored answers for the plan's days and hours, summed per key in SQL."""
    summary = spec.summary
    assert summary is not None
    table = cells_table(spec.name)
    keys = [table.c[name] for name in summary.keys]
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
    return read_frame(conn, stmt)


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
    covered = covered_days(conn, spec.name, variant, days) if usable else []
    plan = read_plan(f, covered, hourly=summary.hourly)
    if not plan.days and not plan.hours:
        return spec.raw(conn, f, **options)
    parts = [stored_cells(conn, spec, variant, plan, f.workspaces)]
    parts += [spec.raw(conn, piece, **bound) for piece in plan.raw]
    return combine(parts, summary)


# -- freshness -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """How current the stored days are, for the line every page shows."""

    days: int  # distinct days stored
    first_day: datetime | None
    last_day: datetime | None
    oldest_recent_refresh: datetime | None  # the least recent refresh among the last two stored days
    newest_refresh: datetime | None


def summary_freshness(conn: Connection) -> Freshness:
    """The stored range and refresh times (a database without summaries reads as none stored)."""
    if not summaries_available(conn):
        return Freshness(0, None, None, None, None)
    d = summary_day.c
    first, last, days, newest = conn.execute(
        select(func.min(d.day), func.max(d.day), func.count(d.day.distinct()), func.max(d.refreshedAt))
    ).one()
    oldest_recent = None
    if last is not None:
        oldest_recent = conn.execute(select(func.min(d.refreshedAt)).where(d.day >= last - DAY)).scalar()
    return Freshness(int(days or 0), first, last, oldest_recent, newest)
