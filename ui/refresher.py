"""One summary refresher per dashboard process (issue 6), started with the app.

Set CANARYWATCH_SUMMARY_REFRESH=off to run without one (the tests do; a cron job running
`canarywatch summaries` can take its place). Replicas each run one: summaries/refresh.py keeps them
from writing the same day twice.
"""

from __future__ import annotations

import streamlit as st

from db.config import ConfigError, load_settings
from summaries.refresh import SummaryRefresher
from ui.context import app_context

SWITCH = "CANARYWATCH_SUMMARY_REFRESH"
EVERY_SECONDS = 60.0


def refresher_enabled() -> bool:
    try:
        return load_settings().summary_refresh
    except ConfigError:
        return False  # the app itself says what is misconfigured


@st.cache_resource(show_spinner=False)
def start_summary_refresher() -> SummaryRefresher | None:
    """Start the background refresher once per process (None when switched off)."""
    if not refresher_enabled():
        return None
    ctx = app_context()
    refresher = SummaryRefresher(ctx.write, every=EVERY_SECONDS)
    refresher.start()
    return refresher
