"""How a read query declares that it can be served from per-day summaries (issue 6).

A query qualifies when every numeric column it returns is a count or a sum over rows picked by one
time column, grouped by the other columns: then its answer for a window is the sum of its answers
for any split of that window, and canarywatch may keep its answer for each whole UTC day. The
declaration names every output column in order with its kind, the time column the window applies
to, and the keyword variants worth keeping (a 0.01 and a 0.05 histogram, 3 h and daily buckets).

Nothing here runs SQL; the tables are built from the declarations in summaries/declarations.py, read
by summaries/reading.py and written by summaries/refresh.py.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum

import pandas as pd
from sqlalchemy import ColumnElement

from queries.filters import Window, default_bucket_seconds


class Kind(Enum):
    """What a result column is: a grouping key of some type, or a measure that adds up."""

    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    TIME = "time"
    COUNT = "count"  # an integer that adds up across windows
    TOTAL = "total"  # a float sum that adds up across windows

    @property
    def is_measure(self) -> bool:
        return self in (Kind.COUNT, Kind.TOTAL)


@dataclass(frozen=True)
class Summary:
    """A query's promise that its answers for adjacent windows add up (see the module docstring).

    `columns` is every column the query returns, in its order. `time` is the column its window is
    on (the refresh asks it for the first day with data). `variants` are the keyword arguments for
    which whole days are kept; any other call reads the raw rows. `ignores_channel` is set when the
    query has no channel to narrow, so a channel filter does not change its answer. `hourly` keeps
    whole hours too (for the partial days at a window's edges); it needs every row the query counts
    to be picked by `time` alone, so a query that windows several time columns sets it False.

    The refresh stores the answers with one `INSERT ... SELECT` of the query's own statement (the first
    it reads through read_frame), so the statement must return the stored columns itself. `derived`
    names the columns the query adds in pandas from its keys (a bucket's lower edge), with the function
    that computes them from a frame and the query's keyword arguments: they are not stored, and the
    reader computes them the same way. `in_sql=False` marks a query whose pandas step must run before
    anything is stored (key redaction): its answers go through Python, as before issue 11.
    """

    columns: Mapping[str, Kind]
    time: ColumnElement
    variants: tuple[Mapping[str, object], ...] = ({},)
    ignores_channel: bool = False
    hourly: bool = True
    derived: Mapping[str, Callable[[pd.DataFrame, Mapping[str, object]], pd.Series]] = field(
        default_factory=dict, compare=False)
    in_sql: bool = True
    _stored: dict[str, Mapping[str, object]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        measures = [name for name in self.derived if name not in self.columns or self.columns[name].is_measure]
        if measures:
            raise ValueError(f"derived columns must be keys of the query, not {measures}")

    @property
    def keys(self) -> list[str]:
        return [name for name, kind in self.columns.items() if not kind.is_measure]

    @property
    def stored_columns(self) -> list[str]:
        """The columns the summary table keeps (every column but the derived ones), in the query's order."""
        return [name for name in self.columns if name not in self.derived]

    @property
    def stored_keys(self) -> list[str]:
        return [name for name in self.keys if name not in self.derived]

    @property
    def measures(self) -> list[str]:
        return [name for name, kind in self.columns.items() if kind.is_measure]

    @property
    def per_workspace(self) -> bool:
        return "workspace" in self.columns

    def bind(self, func: Callable, f: Window, options: Mapping[str, object]) -> dict[str, object]:
        """Every keyword of `func` with its default filled in, and a time grain of None resolved the
        way the query resolves it for the whole window (so the edges use the same grain)."""
        signature = inspect.signature(func)
        bound = {name: p.default for name, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY}
        unknown = set(options) - set(bound)
        if unknown:
            raise TypeError(f"{func.__name__}() got unexpected keyword arguments {sorted(unknown)}")
        bound.update(options)
        if "bucket_seconds" in bound and bound["bucket_seconds"] is None:
            bound["bucket_seconds"] = default_bucket_seconds(f)
        return bound

    def stored_variants(self, func: Callable) -> dict[str, Mapping[str, object]]:
        """variant key -> its full keyword arguments, for every declared variant."""
        if not self._stored:
            probe = Window.last(timedelta(days=1))
            for variant in self.variants:
                options = self.bind(func, probe, variant)
                self._stored[variant_key(options)] = options
        return self._stored


def variant_key(options: Mapping[str, object]) -> str:
    """A stable text key for a set of keyword arguments (`bucket_seconds=86400`, or '' for none)."""
    return "&".join(f"{name}={options[name]!r}" for name in sorted(options))


TEXT, INT, FLOAT, BOOL = Kind.TEXT, Kind.INT, Kind.FLOAT, Kind.BOOL
TIME, COUNT, TOTAL = Kind.TIME, Kind.COUNT, Kind.TOTAL

#: The time grains a time series keeps whole days for: 3 h (windows up to 8 days) and daily (longer).
SERIES: tuple[Mapping[str, object], ...] = ({"bucket_seconds": 3 * 3600}, {"bucket_seconds": 86400})
