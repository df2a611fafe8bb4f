"""The frame every page shares: title, demo banner, freshness line, and the empty/error sentences."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import streamlit as st

from analysis.summary_freshness import freshness_sentence
from auth.roles import READERS, Role
from auth.session import User, guard
from db.config import ConfigError
from queries.filters import naive_utc
from ui import data
from ui.context import app_context


def page_setup(title: str, explanation: str, *, roles: Iterable[Role] = READERS) -> User:
    """Check the role (pages can be run directly), then title, explanation and the demo banner."""
    user = guard(roles)
    data.start_run()
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
    """"Refreshed at" (the oldest read on this page) and a button that re-reads everything."""
    left, right = st.columns([4, 1])
    when = data.refreshed_at()
    left.caption(f"Refreshed at {when:%Y-%m-%d %H:%M:%S} UTC · cached for {data.TTL_SECONDS} s" if when else "")
    fresh = data.summary_freshness()
    if fresh is not None:
        left.caption(freshness_sentence(fresh, naive_utc(datetime.now(UTC))))
    if right.button("Refresh", icon=":material/refresh:", key="cw_refresh"):
        data.refresh()
        st.rerun()


@contextmanager
def section(name: str) -> Iterator[None]:
    """Run one part of a page; if its data cannot be read, say so there and carry on with the rest."""
    try:
        yield
    except data.DataUnavailable as exc:
        st.error(f"{name}: {exc}", icon=":material/cloud_off:")


def empty_state(what: str) -> None:
    st.info(f"No {what} in this window. Try a longer window or other workspaces.", icon=":material/inbox:")
