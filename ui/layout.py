"""The frame every page shares: title, demo banner, freshness line, and the empty/error sentences."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlencode, urlparse

import streamlit as st

from analysis.summary_freshness import freshness_sentence
from auth.roles import READERS, Role
from auth.session import User, guard
from db.config import ConfigError
from queries.filters import naive_utc
from ui import data, filters
from ui.context import app_context

URL_REFRESH = "refresh"
#: auto-refresh choices (the `refresh` query parameter) -> seconds between reruns (None: off)
REFRESH_EVERY: dict[str, int | None] = {"off": None, "30s": 30, "1m": 60, "5m": 300}
REFRESH_LABELS = {"off": "Off", "30s": "Every 30 s", "1m": "Every minute", "5m": "Every 5 minutes"}
KEY_REFRESH = "cw_auto_refresh"
KEY_LAST_RUN = "cw_last_full_run"  # monotonic time of this session's last full page run
#: pages where an edit is in progress and a timed rerun would only get in the way
NO_AUTO_REFRESH = frozenset({"Rollout toggles"})


def page_setup(title: str, explanation: str, *, roles: Iterable[Role] = READERS) -> User:
    """Check the role (pages can be run directly), then title, explanation and the demo banner."""
    user = guard(roles)
    data.start_run()
    st.session_state[KEY_LAST_RUN] = time.monotonic()
    st.session_state["cw_page_title"] = title
    st.title(title)
    st.caption(explanation)
    demo_banner()
    return user


def demo_banner() -> None:
    try:
        ctx = app_context()
    except ConfigError as exc:
        st.error(f"canarywatch is misconfigured: {exc}")
        st.stop()
    if ctx.demo:
        st.info(
            "**Demo data.** No DATABASE_URL is configured, so this is the embedded synthetic demo database "
            f"({ctx.describe_database()}); it is regenerated daily and changes made here are discarded then.",
            icon=":material/science:",
        )


def freshness_bar() -> None:
    """"Refreshed at" (the oldest read on this page), the auto-refresh picker, a button that re-reads
    everything, and the link to this view (call it last: it reads every parameter the page wrote)."""
    refreshable = st.session_state.get("cw_page_title") not in NO_AUTO_REFRESH
    left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    when = data.refreshed_at()
    left.caption(f"Refreshed at {when:%Y-%m-%d %H:%M:%S} UTC · cached for {data.TTL_SECONDS} s" if when else "")
    fresh = data.summary_freshness()
    if fresh is not None:
        left.caption(freshness_sentence(fresh, naive_utc(datetime.now(UTC))))
    if refreshable:
        with middle:
            auto_refresh()
    if right.button("Refresh", icon=":material/refresh:", key="cw_refresh"):
        data.refresh()
        st.rerun()
    share_link()


def refresh_choice() -> str:
    """The auto-refresh choice: a link's `refresh` parameter when it is new to the session, else the session's."""
    incoming = filters.url_incoming((URL_REFRESH,))
    page = filters.current_page()
    if incoming is None and st.session_state.get("cw_refresh_page") != page:
        # a page just opened: the session's choice (Streamlit does not carry a value set from code)
        incoming = {URL_REFRESH: st.session_state.get(filters.KEY_URL_SYNCED, {}).get(URL_REFRESH, "off")}
    st.session_state["cw_refresh_page"] = page
    if incoming is not None:
        wanted = incoming[URL_REFRESH]
        st.session_state[KEY_REFRESH] = wanted if wanted in REFRESH_EVERY else "off"
    if st.session_state.get(KEY_REFRESH) not in REFRESH_EVERY:
        st.session_state.pop(KEY_REFRESH, None)
    return st.selectbox("Auto-refresh", list(REFRESH_EVERY), format_func=REFRESH_LABELS.__getitem__,
                        key=KEY_REFRESH, persist_state="session",
                        help=f"Re-run this page on a timer. Reads are cached for {data.TTL_SECONDS} s, so a "
                             "30 s refresh shows data at most a minute old.")


def auto_refresh() -> int | None:
    """The interval picker (kept in the URL as `refresh`) and, when on, a timer that re-runs the page."""
    choice = refresh_choice()
    filters.url_publish({URL_REFRESH: None if choice == "off" else choice})
    seconds = REFRESH_EVERY[choice]
    if seconds is not None:
        _rerun_every(seconds)
    return seconds


def _rerun_every(seconds: int) -> None:
    """A fragment that wakes every `seconds` and re-runs the whole page once that much time has passed
    since its last full run (the fragment's own first run, inside the page run, does nothing)."""

    @st.fragment(run_every=seconds)
    def timer() -> None:
        last = st.session_state.get(KEY_LAST_RUN, 0.0)
        if time.monotonic() - last >= seconds * 0.9:
            st.rerun(scope="app")

    timer()


def share_link() -> None:
    """The full URL of this view (page and every filter) with a copy button, for an incident channel."""
    base = urlparse(st.context.url or "")
    if not base.netloc:
        return
    query = urlencode(dict(st.query_params.to_dict()), safe=",:")
    link = base._replace(query=query).geturl()
    with st.sidebar:
        st.caption("Link to this view (the copy button is at its right)")
        st.code(link, language=None, wrap_lines=True)


@contextmanager
def section(name: str) -> Iterator[None]:
    """Run one part of a page; if its data cannot be read, say so there and carry on with the rest."""
    try:
        yield
    except data.DataUnavailable as exc:
        st.error(f"{name}: {exc}", icon=":material/cloud_off:")


def empty_state(what: str) -> None:
    st.info(f"No {what} in this window. Try a longer window or other workspaces.", icon=":material/inbox:")

