"""The sentence a page shows about the per-day summaries its figures may come from (issues 6 and 9)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from summaries.reading import FailureNote, Freshness


#: How often the refresh re-aggregates what (summaries.refresh.RefreshPolicy): the ages the sentence shows are
#: measured; they pass these on a database too large for a cycle's few seconds to keep up.
SCHEDULE = ("The refresh re-aggregates the last two days and today's hours every 5 minutes and older days daily, "
            "the most overdue first and a few seconds per cycle, so on a large database these ages can be longer.")


def freshness_sentence(fresh: Freshness, now: datetime) -> str:
    """Which days come from summaries and how old they are; what is read raw.
    A query whose refresh failed is named first, so a broken refresh never reads as "none stored yet"."""
    failed = failure_sentence(fresh.failures, now)
    if fresh.days == 0 or fresh.last_day is None:
        if failed:
            return f"{failed} No day is stored yet, so every figure is computed from the raw rows."
        return ("Summaries: none stored yet, so every figure is computed from the raw rows "
                "(long windows are slower until the background refresh has run).")
    age = _age(now - fresh.oldest_recent_refresh) if fresh.oldest_recent_refresh else "unknown"
    hours = (f"today's finished hours {_age(now - fresh.oldest_open_refresh)} ago" if fresh.oldest_open_refresh
             else "today's finished hours as they finish")
    stored = (f"Summaries: {fresh.days} whole UTC days between {fresh.first_day:%Y-%m-%d} and "
              f"{fresh.last_day:%Y-%m-%d} come from per-day summaries; the latest two were re-aggregated {age} ago, "
              f"{hours}; the hour in progress and the parts of days without stored hours are read from the raw "
              f"rows. {SCHEDULE} A stored day whose rows upstream edits later is re-aggregated by a following "
              "refresh (by the rows' updatedAt); an edit only to a joined table shows when its day is next "
              "re-aggregated.")
    return f"{failed} {stored}" if failed else stored


def failure_sentence(failures: tuple[FailureNote, ...], now: datetime) -> str:
    """"Summary refresh failed for q (LookupError, 3 days, last 2 min ago)…" or "" when none failed.
    Names are the registry's own (module.function) and error classes ours: no upstream text."""
    if not failures:
        return ""
    parts = [f"`{note.query}` ({note.error_class}, {note.days} day{'s' if note.days != 1 else ''}, "
             f"last {_age(now - note.last_failed_at)} ago)" for note in failures]
    names = {note.query for note in failures}
    return (f"Summary refresh failed for {len(names)} quer{'y' if len(names) == 1 else 'ies'}: {'; '.join(parts)}; "
            "those days are read from the raw rows.")


def _age(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
