"""The sentence a page shows about the per-day summaries its figures may come from (issues 6 and 9)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from summaries.reading import FailureNote, Freshness


#: The staleness bound for a stored day older than the two recent ones when only a table the query joins
#: (not the table its time column is on) changed: such a day is rewritten once a day, 3 days a 60 s cycle
#: (RefreshPolicy), so 200 kept days take 67 min on top of the 24 h.
EDITS_OF_JOINED_TABLES = "5 minutes for the last two days and 25 hours for older days"


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
    stored = (f"Summaries: {fresh.days} whole UTC days between {fresh.first_day:%Y-%m-%d} and "
              f"{fresh.last_day:%Y-%m-%d} come from per-day summaries; the latest two were re-aggregated {age} ago. "
              "Today's finished hours are stored too, re-aggregated at most 5 minutes apart; the hour in progress "
              "and the parts of days without stored hours are read from the raw rows. "
              f"A stored day whose rows upstream edits later is re-aggregated at the next refresh (by the rows' "
              f"updatedAt); an edit only to a joined table shows within {EDITS_OF_JOINED_TABLES}.")
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
