"""The summary tables, built from the `Summary` each summarised query declares (queries/summary_spec.py).

For every query declared with a `Summary`, canarywatch keeps the query's own answer for each whole
UTC day and declared variant, and for each hour of the recent days (`grain` 86400 and 3600), in a
table of its own in the `canarywatch` schema (`summary_<module>__<query>`), and records in
`summary_day` which (query, variant, day) is stored, when it was refreshed and how many day rows it
has, in `summary_hours` the days whose hours are stored too, and in `summary_open_day` how many of
today's hours are stored (today is not whole yet: its finished hours are, up to `through`).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from sqlalchemy import BigInteger, Boolean, Column, Double, Index, Integer, MetaData, Table, Text

from db.engine import STATE_SCHEMA
from db.upstream import Timestamp
from queries import booking, bundle, drafts, offload, overseer, revision, telemetry  # noqa: F401 - registers them
from queries.registry import REGISTRY, QuerySpec
from queries.summary_spec import Kind

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

#: Which (query, variant, UTC day) has its hour answers stored too (the recent days and the first days of
#: the 30- and 90-day windows, see summaries.refresh.RefreshPolicy); a partial day without them is read raw.
summary_hours = Table(
    "summary_hours",
    summary_metadata,
    Column("query", Text, primary_key=True),
    Column("variant", Text, primary_key=True),
    Column("day", Timestamp, primary_key=True),
)

#: Which (query, variant) has the finished hours of a day not yet stored (today) in its hour rows: the
#: hours [day, through), computed at `refreshedAt` (summaries.refresh.store_open_day); the rest of the day
#: is read raw. Replaced by the day's own rows when the day is stored.
summary_open_day = Table(
    "summary_open_day",
    summary_metadata,
    Column("query", Text, primary_key=True),
    Column("variant", Text, primary_key=True),
    Column("day", Timestamp, primary_key=True),
    Column("through", Timestamp, nullable=False),
    Column("refreshedAt", Timestamp, nullable=False),
)

_TYPES = {Kind.TEXT: Text, Kind.INT: BigInteger, Kind.FLOAT: Double, Kind.BOOL: Boolean, Kind.TIME: Timestamp,
          Kind.COUNT: BigInteger, Kind.TOTAL: Double}


def summarised_specs() -> list[QuerySpec]:
    """Every registered query that declares a Summary, by name."""
    return [spec for _, spec in sorted(REGISTRY.items()) if spec.summary is not None]


@cache
def cells_table(name: str) -> Table:
    """The table holding one query's stored answers: variant, grain (86400 or 3600 s), the slot's start,
    then the query's own columns (but the derived ones, which the reader computes)."""
    summary = REGISTRY[name].summary
    assert summary is not None, name
    table_name = "summary_" + name.replace(".", "__")
    return Table(
        table_name,
        summary_metadata,
        Column("variant", Text, nullable=False),
        Column("grain", Integer, nullable=False),
        Column("slot", Timestamp, nullable=False),
        *(Column(column, _TYPES[summary.columns[column]], nullable=True) for column in summary.stored_columns),
        Index(f"{table_name}_slot_idx", "variant", "grain", "slot"),
    )


def all_tables() -> list[Table]:
    return [summary_day, summary_hours, summary_open_day, *(cells_table(spec.name) for spec in summarised_specs())]
