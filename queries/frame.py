"""Running a statement into a small DataFrame, and the registry of every read query.

Every query in queries/ is registered with `@query("one line saying what it counts")`. The line
is what a page shows under its chart, and the registry lets one test run every query against the
personal-data sentinels (tests/test_personal_data.py).

A query registered with a `Summary` (queries/summary_spec.py) is wrapped: the whole UTC days of a
window come from canarywatch's per-day summaries where they exist, the rest from the raw rows, and
the sum is the raw answer. `spec.raw` is always the plain query.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Executable, Select, literal_column
from sqlalchemy.sql.util import find_tables

from queries.dialect import time_bucket
from queries.summary_spec import Summary

F = TypeVar("F", bound=Callable[..., pd.DataFrame])


@dataclass(frozen=True)
class QuerySpec:
    name: str
    describes: str
    func: Callable[..., pd.DataFrame]  # what callers use (summary-backed when `summary` is set)
    raw: Callable[..., pd.DataFrame]  # the query over the raw rows
    summary: Summary | None = None


REGISTRY: dict[str, QuerySpec] = {}


def query(describes: str, *, summary: Summary | None = None) -> Callable[[F], F]:
    """Register a read query and attach the one line that says what it counts."""

    def register(func: F) -> F:
        name = f"{func.__module__.rsplit('.', 1)[-1]}.{func.__name__}"
        if name in REGISTRY and REGISTRY[name].raw is not func:
            raise RuntimeError(f"query {name} registered twice")
        public = func if summary is None else _summary_backed(name, func)
        REGISTRY[name] = QuerySpec(name, describes, public, func, summary)
        for target in {func, public}:
            target.describes = describes  # type: ignore[attr-defined]
        return public  # type: ignore[return-value]

    return register


def _summary_backed(name: str, func: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    @functools.wraps(func)
    def summary_backed(conn: Connection, f, **options: object) -> pd.DataFrame:
        from queries.summary import read_with_summaries  # late: queries.summary reads this registry

        return read_with_summaries(conn, REGISTRY[name], f, options)

    summary_backed.raw = func  # type: ignore[attr-defined]
    return summary_backed


def describe(func: Callable[..., pd.DataFrame]) -> str:
    return getattr(func, "describes", "")


_SLOT: ContextVar[tuple[ColumnElement, int] | None] = ContextVar("canarywatch_slot", default=None)


@contextmanager
def grouped_by_slot(column: ColumnElement, seconds: int) -> Iterator[None]:
    """While active, every statement read_frame runs is also grouped by the fixed-size UTC slot of
    `column` and returns it as a last column `slot`: one statement gives a query's answer for each
    hour of a day (the summary refresh uses it; a query's own code does not change)."""
    token = _SLOT.set((column, seconds))
    try:
        yield
    finally:
        _SLOT.reset(token)


def _with_slot(stmt: Executable, column: ColumnElement, seconds: int) -> Select:
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


def read_frame(conn: Connection, stmt: Executable) -> pd.DataFrame:
    """Execute and return a DataFrame; datetime columns come back as aware UTC on every backend."""
    slot = _SLOT.get()
    if slot is not None:
        stmt = _with_slot(stmt, *slot)
    result = conn.execute(stmt)
    columns = list(result.keys())
    frame = pd.DataFrame(result.fetchall(), columns=columns)
    for name in columns:
        frame[name] = _normalise(frame[name])
    return frame


def _normalise(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return pd.to_datetime(series, utc=True)
    values = series.dropna()
    if series.dtype == object and len(values) and isinstance(values.iloc[0], datetime):
        return pd.to_datetime(series, utc=True)
    return series
