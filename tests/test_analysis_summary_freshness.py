"""The freshness sentence every page shows under "Refreshed at" (pure, no database)."""

from datetime import datetime

from analysis.summary_freshness import freshness_sentence
from summaries.reading import Freshness

NOW = datetime(2026, 2, 18, 12, 0)


def test_no_summaries_says_everything_is_raw():
    assert freshness_sentence(Freshness(0, None, None, None, None), NOW).startswith(
        "Summaries: none stored yet, so every figure is computed from the raw rows")


def test_stored_days_name_their_range_and_the_age_of_the_recent_refresh():
    fresh = Freshness(3, datetime(2026, 2, 15), datetime(2026, 2, 17), datetime(2026, 2, 18, 11, 53),
                      datetime(2026, 2, 18, 11, 58))
    assert freshness_sentence(fresh, NOW) == (
        "Summaries: 3 whole UTC days between 2026-02-15 and 2026-02-17 come from per-day summaries; the latest "
        "two were re-aggregated 7 min ago, today's finished hours as they finish; the hour in progress and the "
        "parts of days without stored hours are read from the raw rows. The refresh re-aggregates the last two "
        "days and today's hours every 5 minutes and older days daily, the most overdue first and a few seconds "
        "per cycle, so on a large database these ages can be longer. A stored day whose rows upstream edits "
        "later is re-aggregated by a following refresh (by the rows' updatedAt); an edit only to a joined table "
        "shows when its day is next re-aggregated.")
    today = Freshness(3, datetime(2026, 2, 15), datetime(2026, 2, 17), datetime(2026, 2, 18, 11, 53),
                      datetime(2026, 2, 18, 11, 58), (), datetime(2026, 2, 18, 11, 46))
    assert "re-aggregated 7 min ago, today's finished hours 14 min ago;" in freshness_sentence(today, NOW)
    stale = Freshness(3, datetime(2026, 2, 15), datetime(2026, 2, 17), datetime(2026, 2, 16, 2), None)
    assert "re-aggregated 2 days ago" in freshness_sentence(stale, NOW)
