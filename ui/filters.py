"""The shared sidebar filters (workspaces by name, UTC window, channel), defined once, kept in the URL.

Widget state uses `persist_state="session"`, so a choice made on one page holds on every page. The
same state is in the query string (`window`, `start`/`end` with a custom window, `ws`, `channel`:
the names every page uses), so a reload or a pasted link restores it:

- a link whose filter parameters are new to this session (opened, pasted, reloaded in a new tab)
  sets the widgets before they are drawn;
- on a page just opened otherwise (from the sidebar, a link with the same filters) the session's
  last filters are set again (Streamlit does not carry a value set from code to another page);
- after the widgets are drawn their values are written back to the query string.

Bad values in a link are left out with a sentence in the sidebar and change nothing else.
All widget keys live here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from queries import settings
from queries.filters import CHANNELS, FilterError, Window, as_utc
from ui.data import DataUnavailable, cached
from ui.safe import plain

KEY_WORKSPACES = "cw_filter_workspaces"
KEY_PRESET = "cw_filter_window"
KEY_FROM_DAY, KEY_FROM_TIME = "cw_filter_from_day", "cw_filter_from_time"
KEY_TO_DAY, KEY_TO_TIME = "cw_filter_to_day", "cw_filter_to_time"
KEY_CHANNEL = "cw_filter_channel"
KEY_URL_SYNCED = "cw_url_synced"  # the managed query parameters as last read from / written to the URL
KEY_FILTER_PAGE = "cw_filter_page"  # the page the filters were last drawn on

URL_WINDOW, URL_START, URL_END, URL_WS, URL_CHANNEL = "window", "start", "end", "ws", "channel"
FILTER_PARAMS = (URL_WINDOW, URL_START, URL_END, URL_WS, URL_CHANNEL)

CUSTOM = "custom"
PRESETS: dict[str, timedelta | None] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    CUSTOM: None,
}
PRESET_LABELS = {CUSTOM: "Custom (UTC)"}
DEFAULT_PRESET = "24h"
ALL_CHANNELS = "All channels"
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


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


# -- the query string <-> widget values (pure) ------------------------------------------------------

def iso_utc(moment: datetime) -> str:
    """`2026-02-18T03:30:00Z`: the form `start`, `end` and `split` take in a URL."""
    return as_utc(moment).strftime(ISO_UTC)


def parse_iso_utc(text: str) -> datetime | None:
    """An ISO timestamp from a URL as aware UTC (no offset means UTC); None when it is not one."""
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "+"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def widgets_from_params(params: Mapping[str, str], known: Collection[str]) -> tuple[dict[str, object], list[str]]:
    """The widget values a link's filter parameters stand for, and a sentence per value left out.

    A link states the whole filter: a parameter it leaves out means its default (all workspaces, all
    channels, the last 24 hours). Unknown workspace ids are dropped (counted, never echoed).
    """
    values: dict[str, object] = {KEY_PRESET: DEFAULT_PRESET, KEY_WORKSPACES: [], KEY_CHANNEL: ALL_CHANNELS}
    problems: list[str] = []
    preset = params.get(URL_WINDOW, CUSTOM if URL_START in params or URL_END in params else DEFAULT_PRESET)
    if preset not in PRESETS:
        problems.append(f"The link's window {plain(preset, 20)!s} is not one of {', '.join(PRESETS)}: "
                        f"showing the last {DEFAULT_PRESET}.")
        preset = DEFAULT_PRESET
    if preset == CUSTOM:
        start, end = parse_iso_utc(params.get(URL_START, "")), parse_iso_utc(params.get(URL_END, ""))
        if start is None or end is None or start >= end:
            problems.append("The link's custom window needs start < end as ISO UTC times "
                            f"(e.g. 2026-02-18T03:30:00Z): showing the last {DEFAULT_PRESET}.")
            preset = DEFAULT_PRESET
        else:
            values.update({KEY_FROM_DAY: start.date(), KEY_FROM_TIME: start.time().replace(tzinfo=None),
                           KEY_TO_DAY: end.date(), KEY_TO_TIME: end.time().replace(tzinfo=None)})
    values[KEY_PRESET] = preset
    wanted = [w.strip() for w in params.get(URL_WS, "").split(",") if w.strip()]
    chosen = list(dict.fromkeys(w for w in wanted if w in known))
    if len(chosen) < len(set(wanted)):
        missing = len(set(wanted)) - len(chosen)
        problems.append(f"{missing} workspace id{'s' if missing > 1 else ''} in the link "
                        f"{'are' if missing > 1 else 'is'} unknown and left out.")
    values[KEY_WORKSPACES] = chosen
    channel = params.get(URL_CHANNEL, "").strip()
    if channel in CHANNELS:
        values[KEY_CHANNEL] = channel
    elif channel and channel != "all":
        problems.append(f"The link's channel is not one of {', '.join(CHANNELS)}: showing all channels.")
    return values, problems


def params_from_widgets(preset: str, start: datetime, end: datetime, workspaces: Collection[str],
                        channel: str | None) -> dict[str, str | None]:
    """The query string of a filter state (None: the parameter is left out)."""
    custom = preset == CUSTOM
    return {URL_WINDOW: preset, URL_START: iso_utc(start) if custom else None,
            URL_END: iso_utc(end) if custom else None,
            URL_WS: ",".join(sorted(workspaces)) or None, URL_CHANNEL: channel}


def window_params(window: Window, preset: str | None = None) -> dict[str, str]:
    """Query parameters that open another page on this window and these workspaces/channel."""
    params = params_from_widgets(preset or CUSTOM, window.start, window.end, window.workspaces, window.channel)
    return {k: v for k, v in params.items() if v is not None}


# -- syncing with st.query_params ---------------------------------------------------------------------

def url_incoming(names: Collection[str]) -> dict[str, str] | None:
    """The URL's values for these parameters when they are new to this session, else None."""
    present = {k: st.query_params[k] for k in names if k in st.query_params}
    if not present:
        return None
    synced = st.session_state.get(KEY_URL_SYNCED, {})
    if {k: v for k, v in synced.items() if k in names} == present:
        return None
    return present


def url_publish(values: Mapping[str, str | None]) -> None:
    """Write these parameters into the URL (None removes one) and remember them as synced."""
    synced = dict(st.session_state.get(KEY_URL_SYNCED, {}))
    for name, value in values.items():
        if value is None:
            if name in st.query_params:
                del st.query_params[name]
            synced.pop(name, None)
        else:
            if st.query_params.get(name) != value:
                st.query_params[name] = value
            synced[name] = value
    st.session_state[KEY_URL_SYNCED] = synced


def current_params() -> dict[str, str]:
    """The filter parameters of this session (what `sidebar` last wrote), for links to other pages."""
    synced = st.session_state.get(KEY_URL_SYNCED, {})
    return {k: v for k, v in synced.items() if k in FILTER_PARAMS}


def current_page() -> str:
    """The running page's id (its script hash)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.page_script_hash if ctx is not None else ""


def _apply_link(known: Collection[str]) -> list[str]:
    """Set the widgets from a new link, or from the session's filters on a page just opened."""
    incoming = url_incoming(FILTER_PARAMS)
    page, previous = current_page(), st.session_state.get(KEY_FILTER_PAGE)
    st.session_state[KEY_FILTER_PAGE] = page
    if incoming is None:
        if page == previous or not current_params():
            return []
        incoming = current_params()
    values, problems = widgets_from_params(incoming, known)
    st.session_state.update(values)
    return problems


# -- the sidebar ----------------------------------------------------------------------------------------

def sidebar(*, channel: bool = True) -> Window:
    """Render the filters and return the chosen window; bad input falls back to 24h with a message."""
    names = workspace_names()
    label = dict(zip(names["workspace"], names["name"], strict=True))
    bar = st.sidebar
    bar.subheader("Filters")
    for problem in _apply_link(label):
        bar.warning(problem, icon=":material/link_off:")
    if st.session_state.get(KEY_PRESET) not in PRESETS:
        st.session_state.pop(KEY_PRESET, None)
    chosen = bar.multiselect(
        "Workspaces", list(label), format_func=lambda w: label.get(w, w), key=KEY_WORKSPACES,
        persist_state="session", placeholder="All workspaces",
    )
    preset = bar.selectbox("Window", list(PRESETS), index=list(PRESETS).index(DEFAULT_PRESET), key=KEY_PRESET,
                           format_func=lambda p: PRESET_LABELS.get(p, f"Last {p}"), persist_state="session")
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
    url_publish(params_from_widgets(preset, start, end, window.workspaces, chan))
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
