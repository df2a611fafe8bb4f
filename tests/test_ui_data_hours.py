"""ui.data reads a summarised query's window as its whole hours (kept 5 min) plus two partial edges."""

from datetime import datetime

from ui.data import whole_hours


def test_whole_hours_are_the_hour_boundaries_inside_the_window():
    start, end = datetime(2026, 2, 18, 9, 41, 7), datetime(2026, 2, 19, 9, 41, 7)
    assert whole_hours(start, end) == (datetime(2026, 2, 18, 10), datetime(2026, 2, 19, 9))


def test_a_window_starting_on_the_hour_keeps_that_hour_and_a_short_one_has_none():
    assert whole_hours(datetime(2026, 2, 18, 10), datetime(2026, 2, 18, 12, 5)) == (
        datetime(2026, 2, 18, 10), datetime(2026, 2, 18, 12))
    first, last = whole_hours(datetime(2026, 2, 18, 10, 5), datetime(2026, 2, 18, 10, 55))
    assert (first, last) == (datetime(2026, 2, 18, 11), datetime(2026, 2, 18, 10)) and first >= last
