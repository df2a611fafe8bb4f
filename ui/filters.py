"""The shared sidebar filters (workspaces by name, UTC window, channel), defined once.

Widget state uses `persist_state="session"`, so a choice made on one page holds on every page.
All widget keys live here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from queries import settings
from queries.filters import CHANNELS, FilterError, Window
from ui.data import DataUnavailable, cached

KEY_WORKSPACES = "cw_filter_workspaces"
KEY_PRESET = "cw_filter_window"
KEY_FROM_DAY, KEY_FROM_TIME = "cw_filter_from_day", "cw_filter_from_time"
KEY_TO_DAY, KEY_TO_TIME = "cw_filter_to_day", "cw_filter_to_time"
KEY_CHANNEL = "cw_filter_channel"

PRESETS: dict[str, timedelta | None] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "Custom (UTC)": None,
}
DEFAULT_PRESET = "24h"
ALL_CHANNELS = "All channels"


def now_minute() -> datetime:
    """The end of the current minute: windows (and so cache keys) stay stable within a minute, and the
    half-open window still includes everything up to now."""
    return datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)


def workspace_names() -> pd.DataFrame:
    """id -> name for every workspace (empty when the database cannot be read)."""
    try:
        return cached(settings.workspace_list, Window.last(timedelta(minutes=1), now=now_minute()))
    except DataUnavailable:
        return pd.DataFrame(columns=["workspace", "name"])


def sidebar(*, channel: bool = True) -> Window:
    """Render the filters and return the chosen window; bad input falls back to 24h with a message."""
    names = workspace_names()
    label = dict(zip(names["workspace"], names["name"], strict=True))
    bar = st.sidebar
    bar.subheader("Filters")
    chosen = bar.multiselect(
        "Workspaces", list(label), format_func=lambda w: label.get(w, w), key=KEY_WORKSPACES,
        persist_state="session", placeholder="All workspaces",
    )
    preset = bar.selectbox("Window", list(PRESETS), index=list(PRESETS).index(DEFAULT_PRESET), key=KEY_PRESET,
                           persist_state="session")
    start, end = _window_bounds(preset)
    chan = None
    if channel:
        picked = bar.selectbox("Channel", [ALL_CHANNELS, *CHANNELS], key=KEY_CHANNEL, persist_state="session")
        chan = None if picked == ALL_CHANNELS else picked
    try:
        window = Window(start, end, tuple(w for w in chosen if w in label), chan)
    except FilterError as exc:
        bar.error(f"{exc}. Showing the last 24 hours instead.")
        window = Window.last(PRESETS[DEFAULT_PRESET], now=now_minute(), workspaces=tuple(chosen), channel=chan)
    bar.caption(f"Window: {window.label()}")
    return window


def _window_bounds(preset: str) -> tuple[datetime, datetime]:
    duration = PRESETS[preset]
    end = now_minute()
    if duration is not None:
        return end - duration, end
    bar = st.sidebar
    yesterday = end - timedelta(days=1)
    c1, c2 = bar.columns(2)
    from_day = c1.date_input("From (UTC)", yesterday.date(), key=KEY_FROM_DAY, persist_state="session")
    from_time = c2.time_input("at", yesterday.time(), key=KEY_FROM_TIME, persist_state="session", step=300)
    c3, c4 = bar.columns(2)
    to_day = c3.date_input("To (UTC, exclusive)", end.date(), key=KEY_TO_DAY, persist_state="session")
    to_time = c4.time_input("at ", end.time(), key=KEY_TO_TIME, persist_state="session", step=300)
    return _utc(from_day, from_time), _utc(to_day, to_time)


def _utc(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment).replace(tzinfo=UTC)


def workspace_label(frame: pd.DataFrame, column: str = "workspace") -> pd.DataFrame:
    """Add a `workspace_name` column next to workspace ids for display."""
    names = workspace_names()
    mapping = dict(zip(names["workspace"], names["name"], strict=True))
    out = frame.copy()
    out["workspace_name"] = out[column].map(lambda w: mapping.get(w, w if w is not None else "unmapped"))
    return out
