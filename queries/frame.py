"""Running a statement into a small DataFrame.

`read_frame(conn, stmt)` is the one place a query's result becomes a frame: built from plain tuples
(pandas probes every SQLAlchemy Row for attributes, which costs ~10x the frame itself), datetimes
aware UTC on every backend. `conn` may be a connection wrapper that reshapes statements before they
run (summaries.refresh groups every statement by hour that way, passed explicitly as the connection,
not through ambient state); it declares so with a `shape_statement` method.

`query`, `REGISTRY` and `QuerySpec` are re-exported from queries/registry.py for modules that import them from here.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Executable

from queries.registry import REGISTRY, QuerySpec, describe, query  # noqa: F401 - re-exported for existing importers

__all__ = ["REGISTRY", "QuerySpec", "describe", "frame_from_result", "query", "read_frame"]


def read_frame(conn: Connection, stmt: Executable) -> pd.DataFrame:
    """Execute and return a DataFrame; datetime columns come back as aware UTC on every backend."""
    shape = getattr(conn, "shape_statement", None)
    if shape is not None:
        stmt = shape(stmt)
    return frame_from_result(conn.execute(stmt))


def frame_from_result(result) -> pd.DataFrame:
    """A frame from a SQLAlchemy result, through plain tuples (never Row objects)."""
    columns = list(result.keys())
    frame = pd.DataFrame([tuple(row) for row in result.fetchall()], columns=columns)
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
