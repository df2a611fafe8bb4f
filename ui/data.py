"""Cached reads: every page fetches query results through `cached`, with an explicit ttl.

A database that is down or a statement that timed out becomes `DataUnavailable` with a sentence a
person can act on; the page shows it and the other pages keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from queries.filters import Window
from queries.registry import REGISTRY, spec_of
from summaries.reading import Freshness, combine, summary_reader
from summaries.reading import summary_freshness as read_summary_freshness
from ui.context import app_context

TTL_SECONDS = 60
REFRESHED_AT_KEY = "cw_refreshed_at"


class DataUnavailable(RuntimeError):
    """The data could not be read; the message is safe to show (no SQL, no values)."""


#: how long the whole hours inside a window are kept (a summarised query's answer for hours already over);
#: the summaries of the recent days are refreshed as often (summaries.refresh.RefreshPolicy.recent_every)
HOURS_TTL_SECONDS = 300


def _read(name: str, window: Window, options: dict[str, object]) -> pd.DataFrame:
    spec = REGISTRY[name]
    with summary_reader(app_context().read) as reader:  # stored days plus raw edges for summarised queries
        return spec.func(reader if spec.summary is not None else reader.conn, window, **options)


@st.cache_data(ttl=HOURS_TTL_SECONDS, show_spinner=False, max_entries=512)
def _whole_hours(name: str, start: datetime, end: datetime, workspaces: tuple[str, ...], channel: str | None,
                 options: tuple[tuple[str, object], ...]) -> tuple[pd.DataFrame, datetime]:
    return _read(name, Window(start, end, workspaces, channel), dict(options)), datetime.now(UTC)


def whole_hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The first and last whole hour boundaries inside [start, end) (first >= last: no whole hour)."""
    first = start.replace(minute=0, second=0, microsecond=0)
    if first < start:
        first += timedelta(hours=1)
    return first, end.replace(minute=0, second=0, microsecond=0)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=512)
def _run(name: str, start: datetime, end: datetime, workspaces: tuple[str, ...], channel: str | None,
         options: tuple[tuple[str, object], ...]) -> tuple[pd.DataFrame, datetime]:
    """A summarised query (its answers for adjacent windows add up) is read as three parts: the whole hours
    inside the window, kept for HOURS_TTL_SECONDS (a window that ends "now" moves every minute, its whole
    hours only every hour), and the partial hours at its two edges, read again each minute. Summed per key
    as the SummaryReader sums its own parts; the time grain is the whole window's. Other queries whole."""
    window = Window(start, end, workspaces, channel)
    spec = REGISTRY[name]
    first, last = whole_hours(window.start, window.end)
    if spec.summary is None or first >= last:
        return _read(name, window, dict(options)), datetime.now(UTC)
    bound = spec.summary.bind(spec.raw, window, dict(options))
    middle, fetched_at = _whole_hours(name, first, last, workspaces, channel, tuple(sorted(bound.items())))
    parts = [_read(name, Window(a, b, workspaces, channel), bound)
             for a, b in ((window.start, first), (last, window.end)) if a < b]
    return combine([middle, *parts], spec.summary), fetched_at


def cached(func: Callable[..., pd.DataFrame], f: Window, **options: object) -> pd.DataFrame:
    """The query's result for this window, from the cache when younger than the ttl."""
    spec = spec_of(func)
    try:
        frame, fetched_at = _run(spec.name, f.start, f.end, f.workspaces, f.channel, tuple(sorted(options.items())))
    except OperationalError as exc:
        raise DataUnavailable(_explain(exc)) from None
    except DBAPIError as exc:
        raise DataUnavailable(_explain(exc)) from None
    except SQLAlchemyError as exc:
        raise DataUnavailable(f"The query could not run ({type(exc).__name__}).") from None
    oldest = st.session_state.get(REFRESHED_AT_KEY)
    st.session_state[REFRESHED_AT_KEY] = fetched_at if oldest is None else min(oldest, fetched_at)
    return frame


def _explain(exc: DBAPIError) -> str:
    text = str(getattr(exc, "orig", exc)).lower()
    if "statement timeout" in text or "canceling statement" in text:
        return "The query took longer than the statement timeout and was stopped. Try a shorter window."
    if "read-only" in text or "readonly" in text:
        return "The read connection is read-only and refused a write."
    if any(s in text for s in ("connection refused", "could not connect", "timeout expired", "unable to open",
                               "server closed", "no such host", "name or service not known")):
        return "The database is unreachable right now. Check DATABASE_URL and that the server is up."
    if "does not exist" in text or "no such table" in text:
        return "The database does not have the tables canarywatch expects (is DATABASE_URL the upstream database?)."
    return f"The database refused the query ({type(getattr(exc, 'orig', exc)).__name__})."


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def summary_freshness() -> Freshness | None:
    """How fresh the per-day summaries are (None when the database cannot say)."""
    try:
        with app_context().read.connect() as conn:
            return read_summary_freshness(conn)
    except SQLAlchemyError:
        return None


def start_run() -> None:
    """Called at the top of every page run: the "refreshed at" time is the oldest read of this run."""
    st.session_state.pop(REFRESHED_AT_KEY, None)


def refresh() -> None:
    """Forget every cached result so the next read goes to the database."""
    _run.clear()
    _whole_hours.clear()
    summary_freshness.clear()


def refreshed_at() -> datetime | None:
    return st.session_state.get(REFRESHED_AT_KEY)
