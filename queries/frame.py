"""Running a statement into a small DataFrame, and the registry of every read query.

Every query in queries/ is registered with `@query("one line saying what it counts")`. The line
is what a page shows under its chart, and the registry lets one test run every query against the
personal-data sentinels (tests/test_personal_data.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import pandas as pd
from sqlalchemy import Connection, Executable

F = TypeVar("F", bound=Callable[..., pd.DataFrame])


@dataclass(frozen=True)
class QuerySpec:
    name: str
    describes: str
    func: Callable[..., pd.DataFrame]


REGISTRY: dict[str, QuerySpec] = {}


def query(describes: str) -> Callable[[F], F]:
    """Register a read query and attach the one line that says what it counts."""

    def register(func: F) -> F:
        name = f"{func.__module__.rsplit('.', 1)[-1]}.{func.__name__}"
        if name in REGISTRY and REGISTRY[name].func is not func:
            raise RuntimeError(f"query {name} registered twice")
        REGISTRY[name] = QuerySpec(name, describes, func)
        func.describes = describes  # type: ignore[attr-defined]
        return func

    return register


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
