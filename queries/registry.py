"""The registry of every read query: `@query("one line saying what it counts")`.

The line is what a page shows under its chart, and the registry lets one test run every query
against the personal-data sentinels (tests/test_personal_data.py) and the summaries package find the
queries that declare a `Summary` (queries/summary_spec.py).

A query that declares a Summary is registered with a thin wrapper: called on a plain Connection it
is the raw query; called on a *summary reader* (summaries.reading.SummaryReader, which a caller
opens explicitly) the reader answers it from stored days plus raw edges. The wrapper only asks the
object it is given; this module imports nothing of the summaries, so queries/ has no import circle.
`spec.raw` is always the plain query.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import pandas as pd

from queries.summary_spec import Summary

F = TypeVar("F", bound=Callable[..., pd.DataFrame])


@dataclass(frozen=True)
class QuerySpec:
    name: str
    describes: str
    func: Callable[..., pd.DataFrame]  # what callers use (summary-backed on a summary reader)
    raw: Callable[..., pd.DataFrame]  # the query over the raw rows
    summary: Summary | None = None


REGISTRY: dict[str, QuerySpec] = {}


@runtime_checkable
class SummarisedReads(Protocol):
    """A connection-like object that answers a summarised query itself (summaries.reading.SummaryReader)."""

    def read_summarised(self, spec: QuerySpec, f: Any, options: Mapping[str, object]) -> pd.DataFrame: ...


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
    def summary_backed(conn, f, **options: object) -> pd.DataFrame:
        if isinstance(conn, SummarisedReads):
            return conn.read_summarised(REGISTRY[name], f, options)
        return func(conn, f, **options)

    summary_backed.raw = func  # type: ignore[attr-defined]
    return summary_backed


def describe(func: Callable[..., pd.DataFrame]) -> str:
    return getattr(func, "describes", "")


def spec_of(func: Callable[..., pd.DataFrame]) -> QuerySpec:
    """The registered spec of a query function (the public or the raw one)."""
    for spec in REGISTRY.values():
        if spec.func is func or spec.raw is func:
            return spec
    raise KeyError(f"{getattr(func, '__name__', func)} is not a registered query")
