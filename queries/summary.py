"""Per-day summaries: their tables, and reading a window from them plus the raw rows at its edges.

For every query declared with a `Summary`, canarywatch keeps the query's own answer for each whole
UTC day and declared variant, in a table of its own in the `canarywatch` schema
(`summary_<module>__<query>`), and records in `summary_day` which (query, variant, day) is stored
and when it was refreshed. A window is read as

    the stored days inside it, summed in SQL  +  the raw query over every other part of it

(the partial days at its edges, today, and any day not stored yet) and then summed once more
per key in pandas. Counts come out exactly as the raw query gives them; float sums agree to the
last few bits (float addition is not associative). rollout/summaries.py writes the tables.
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
    """The table holding one query's stored days: variant, day, then the query's own columns."""
    summary = REGISTRY[name].summary
    assert summary is not None, name
    table_name = "summary_" + name.replace(".", "__")
    return Table(
        table_name,
        summary_metadata,
        Column("variant", Text, nullable=False),
        Column("day", Timestamp, nullable=False),
        *(Column(column, _TYPES[kind], nullable=True) for column, kind in summary.columns.items()),
        Index(f"{table_name}_variant_day_idx", "variant", "day"),
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


def whole_days(f: Window) -> list[datetime]:
    """The UTC days that lie entirely inside [start, end), as naive UTC midnights."""
    first = midnight(f.start)
    if first < naive_utc(f.start):
        first += DAY
    days, day = [], first
    while day + DAY <= naive_utc(f.end):
        days.append(day)
        day += DAY
    return days


def day_runs(days: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted days as [start, end) runs of consecutive days."""
    runs: list[tuple[datetime, datetime]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + DAY)
        else:
            runs.append((day, day + DAY))
    return runs


def uncovered_pieces(f: Window, covered: Sequence[datetime]) -> list[Window]:
    """The parts of the window that the stored days do not cover, as windows of their own."""
    pieces, cursor = [], f.start
    for start, end in day_runs(covered):
        start, end = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)
        if cursor < start:
            pieces.append(replace(f, start=cursor, end=start))
        cursor = max(cursor, end)
    if cursor < f.end:
        pieces.append(replace(f, start=cursor, end=f.end))
    return pieces


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


def stored_cells(conn: Connection, spec: QuerySpec, variant: str, covered: Sequence[datetime],
                 workspaces: tuple[str, ...]) -> pd.DataFrame:
    """The stored answers for the covered days, summed per key in SQL."""
    summary = spec.summary
    assert summary is not None
    table = cells_table(spec.name)
    keys = [table.c[name] for name in summary.keys]
    measures = [
        (cast(func.sum(table.c[name]), BigInteger) if summary.columns[name] is Kind.COUNT
         else func.sum(table.c[name])).label(name)
        for name in summary.measures
    ]
    days = or_(*(and_(table.c.day >= start, table.c.day < end) for start, end in day_runs(covered)))
    stmt = select(*keys, *measures).where(table.c.variant == variant, days)
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
    days = whole_days(f)
    usable = (
        days
        and variant in summary.stored_variants(spec.raw)
        and (f.channel is None or summary.ignores_channel)
        and summaries_available(conn)
    )
    covered = covered_days(conn, spec.name, variant, days) if usable else []
    if not covered:
        return spec.raw(conn, f, **options)
    parts = [stored_cells(conn, spec, variant, covered, f.workspaces)]
    parts += [spec.raw(conn, piece, **bound) for piece in uncovered_pieces(f, covered)]
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
