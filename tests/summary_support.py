"""Comparing summary-backed answers with raw answers (tests/test_summaries*.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import func, literal_column, select

from db import upstream as up
from queries.filters import Window, naive_utc
from queries.frame import read_frame
from queries.registry import REGISTRY, query
from queries.summary_spec import COUNT, TEXT, Summary
from summaries.declarations import cells_table, summarised_specs
from summaries.reading import SummaryReader


def assert_same_as_raw(conn, windows: list[Window]) -> int:
    """Every summarised query and stored variant: the summary-backed frame equals the raw frame (rows in
    any order; counts exactly, float sums to 1e-9). Returns how many frames were compared."""
    compared = 0
    for f in windows:
        for spec in summarised_specs():
            for options in [{}, *spec.summary.variants]:
                backed, raw = spec.func(SummaryReader(conn), f, **options), spec.raw(conn, f, **options)
                keys = spec.summary.keys
                backed, raw = (x.sort_values(keys).reset_index(drop=True) for x in (backed, raw))
                pd.testing.assert_frame_equal(backed, raw, check_dtype=False, check_exact=False, rtol=1e-9,
                                              obj=f"{spec.name} {options} {f.label()}")
                compared += 1
    return compared


# -- a summarised query that fails (issue 9 item 4) ----------------------------------------------

BROKEN = "summary_support.broken_drafts"


class _Breakage:
    """Which UTC days the broken query fails on, and how: "lookup" raises LookupError the way an enum
    label the code does not know does; "sql" runs a statement the database refuses."""

    days: set[datetime] = set()
    how: str = "lookup"


def broken_drafts(conn, f: Window) -> pd.DataFrame:
    """Drafts per channel, failing on the days `_Breakage.days` names."""
    for day in _Breakage.days:
        if f.start < day.replace(tzinfo=UTC) + timedelta(days=1) and day.replace(tzinfo=UTC) < f.end:
            if _Breakage.how == "lookup":
                raise LookupError("'from_the_future' is not among the defined enum values")
            d = up.ai_draft.c  # the stored columns, one of them a column the database does not have
            return read_frame(conn, select(d.channel.label("channel"), literal_column("no_such_column").label("drafts"))
                              .where(d.autoSendEvaluatedAt >= naive_utc(f.start)))
    d = up.ai_draft.c
    stmt = (select(d.channel.label("channel"), func.count().label("drafts"))
            .where(d.autoSendEvaluatedAt >= naive_utc(f.start), d.autoSendEvaluatedAt < naive_utc(f.end))
            .group_by(d.channel))
    return read_frame(conn, stmt)


_BROKEN_SUMMARY = Summary({"channel": TEXT, "drafts": COUNT}, up.ai_draft.c.autoSendEvaluatedAt)


@contextmanager
def broken_query(engine, days: set[datetime], how: str = "lookup") -> Iterator[str]:
    """Register `summary_support.broken_drafts` as a summarised query (with its table) for the block;
    it fails on `days` (naive UTC midnights). Yields its registry name; unregistered and dropped after."""
    _Breakage.days, _Breakage.how = set(days), how
    query("drafts per channel (a planted query that fails on some days)", summary=_BROKEN_SUMMARY)(broken_drafts)
    table = cells_table(BROKEN)
    table.create(engine, checkfirst=True)
    try:
        yield BROKEN
    finally:
        REGISTRY.pop(BROKEN, None)
        table.drop(engine, checkfirst=True)
        _Breakage.days = set()


def set_broken_days(days: set[datetime]) -> None:
    _Breakage.days = set(days)
