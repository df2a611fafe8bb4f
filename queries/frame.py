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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import pandas as pd
from sqlalchemy import Connection, Executable

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


def read_frame(conn: Connection, stmt: Executable) -> pd.DataFrame:
    """Execute and return a DataFrame; datetime columns come back as aware UTC on every backend."""
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
