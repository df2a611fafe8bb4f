"""Every summarised query on the demo data, both backends: with the demo's days stored, the summary-backed
answer equals the raw answer for windows that start and end mid-day, span midnights, narrow to two
workspaces, or filter a channel (its own module: its module-scoped data must not outlive it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from demo.generate import seed_demo
from demo.schema import clear_all
from queries.filters import Window
from summaries.declarations import summarised_specs
from summaries.reading import summary_freshness
from summaries.refresh import refresh_summaries
from tests.summary_support import assert_same_as_raw

DEMO_END = datetime(2026, 2, 20, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def summarised_demo(backend):
    """A small demo data set with its summaries stored (two days later, as if time had passed)."""
    clear_all(backend.write)
    seed_demo(backend.write, scale=25, end=DEMO_END)
    refresh_summaries(backend.write, now=DEMO_END + timedelta(days=2), backfill=True)
    with backend.read.connect() as conn:
        yield conn
    clear_all(backend.write)


DEMO_WINDOWS = [
    Window(DEMO_END - timedelta(days=7, hours=5, minutes=17), DEMO_END - timedelta(hours=2, minutes=3)),
    Window(DEMO_END - timedelta(days=14, hours=1), DEMO_END + timedelta(hours=7)),
    Window(DEMO_END - timedelta(days=30), DEMO_END, workspaces=("ws-acme", "ws-quiet")),
    Window(DEMO_END - timedelta(days=3, hours=12), DEMO_END - timedelta(days=1, hours=11), channel="sms"),
    Window(DEMO_END - timedelta(days=5, hours=3), DEMO_END - timedelta(days=4, hours=20)),  # whole hours only
]


def test_every_summarised_query_equals_its_raw_answer_on_the_demo(summarised_demo):
    fresh = summary_freshness(summarised_demo)  # every day from the demo's first row to "yesterday"
    assert (fresh.first_day, fresh.last_day, fresh.days) == (datetime(2026, 2, 6), datetime(2026, 2, 21), 16)
    assert assert_same_as_raw(summarised_demo, DEMO_WINDOWS) == len(DEMO_WINDOWS) * sum(
        1 + len(spec.summary.variants) for spec in summarised_specs())
