"""Cached reads: every page fetches query results through `cached`, with an explicit ttl.

A database that is down or a statement that timed out becomes `DataUnavailable` with a sentence a
person can act on; the page shows it and the other pages keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import streamlit as st
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from queries.filters import Window
from queries.registry import REGISTRY, spec_of
from summaries.reading import Freshness, summary_reader
from summaries.reading import summary_freshness as read_summary_freshness
from ui.context import app_context

TTL_SECONDS = 60
REFRESHED_AT_KEY = "cw_refreshed_at"


class DataUnavailable(RuntimeError):
    """The data could not be read; the message is safe to show (no SQL, no values)."""


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=512)
def _run(name: str, start: datetime, end: datetime, workspaces: tuple[str, ...], channel: str | None,
         options: tuple[tuple[str, object], ...]) -> tuple[pd.DataFrame, datetime]:
    window = Window(start, end, workspaces, channel)
    spec = REGISTRY[name]
    with summary_reader(app_context().read) as reader:  # stored days plus raw edges for summarised queries
        conn = reader if spec.summary is not None else reader.conn
        return spec.func(conn, window, **dict(options)), datetime.now(UTC)


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
    summary_freshness.clear()


def refreshed_at() -> datetime | None:
    return st.session_state.get(REFRESHED_AT_KEY)
