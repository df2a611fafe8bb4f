"""Rollout events for chart markers: the audit log rows in the window, or none when unreadable."""

from __future__ import annotations

import pandas as pd

from queries import events
from queries.filters import Window
from ui.data import DataUnavailable, cached


def rollout_markers(f: Window) -> pd.DataFrame:
    try:
        return cached(events.rollout_events, f)
    except DataUnavailable:
        return pd.DataFrame(columns=events.COLUMNS)
