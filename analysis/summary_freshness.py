"""The sentence a page shows about the per-day summaries its figures may come from (issue 6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from queries.summary import Freshness


def freshness_sentence(fresh: Freshness, now: datetime) -> str:
    """Which days come from summaries and how old they are; partial days and today are always raw."""
    if fresh.days == 0 or fresh.last_day is None:
        return ("Summaries: none stored yet, so every figure is computed from the raw rows "
                "(long windows are slower until the background refresh has run).")
    age = _age(now - fresh.oldest_recent_refresh) if fresh.oldest_recent_refresh else "unknown"
    return (f"Summaries: {fresh.days} whole UTC days between {fresh.first_day:%Y-%m-%d} and "
            f"{fresh.last_day:%Y-%m-%d} come from per-day summaries; the latest two were re-aggregated {age} ago. "
            "Partial days and today are read from the raw rows.")


def _age(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
