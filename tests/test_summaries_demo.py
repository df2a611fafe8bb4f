"""Every summarised query on the demo data, both backends: with the demo's days stored, the summary-backed
answer equals the raw answer for windows that start and end mid-day, span midnights, narrow to two
workspaces, or filter a channel (its own module: its module-scoped data must not outlive it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from analysis.rules import load_rules
from demo.generate import seed_demo
from demo.schema import clear_all
from queries.canary import SIDE_QUERIES, SIDES, CanarySpec, gather
from queries.filters import Window
from queries.registry import spec_of
from services.canary import gather_window, judge
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


# -- the canary read through the summaries (services.canary.gather_window) ------------------------

CANARY_SPLITS = [  # (split, end), mid-hour: the 300 s, 3 h and daily trajectory grains
    (DEMO_END - timedelta(hours=3, minutes=41), DEMO_END - timedelta(hours=1, minutes=7)),
    (DEMO_END - timedelta(days=6, minutes=10), DEMO_END + timedelta(days=1, hours=2)),
    (DEMO_END - timedelta(days=7, minutes=30), DEMO_END + timedelta(days=6)),
]


def _by_keys(frame: pd.DataFrame, func) -> pd.DataFrame:
    summary = spec_of(func).summary
    if summary is None or frame.empty:
        return frame.reset_index(drop=True)
    return frame.sort_values(summary.keys).reset_index(drop=True)


@pytest.mark.parametrize(("split", "end"), CANARY_SPLITS, ids=["2h", "7d", "13d"])
def test_a_canary_read_through_the_summaries_equals_the_raw_read_and_its_verdict(summarised_demo, split, end):
    spec = CanarySpec(("ws-acme",), split, end)
    backed, raw = gather_window(summarised_demo, spec), gather(summarised_demo, spec)
    assert backed.others == raw.others and len(raw.others) >= 5  # a clean control to compare
    compared = 0
    for side in SIDES:
        for name, (func, _) in SIDE_QUERIES.items():
            pd.testing.assert_frame_equal(_by_keys(backed.frames[side][name], func),
                                          _by_keys(raw.frames[side][name], func), check_dtype=False,
                                          check_exact=False, rtol=1e-9, obj=f"{side} {name}")
            compared += bool(len(raw.frames[side][name]))
    for health in ("health", "workspace_health"):
        for name, frame in getattr(raw, health).items():
            def rows(f: pd.DataFrame) -> pd.DataFrame:  # counts only: every column a key
                return f.sort_values(list(f.columns)).reset_index(drop=True) if len(f) else f

            pd.testing.assert_frame_equal(rows(getattr(backed, health)[name]), rows(frame), check_dtype=False,
                                          obj=f"{health} {name}")
    assert compared >= 20  # half the 44 side frames hold rows or more: not a comparison of empty frames
    rules = load_rules()
    (summarised, _), (plain, _) = (judge(inputs, rules) for inputs in (backed, raw))
    assert summarised.verdict.overall == plain.verdict.overall
    assert [(r.rule.id, r.status) for r in summarised.verdict.rules] == [(r.rule.id, r.status)
                                                                          for r in plain.verdict.rules]
    for backed_rule, raw_rule in zip(summarised.verdict.rules, plain.verdict.rules, strict=True):
        if raw_rule.measured is None:
            assert backed_rule.measured is None, raw_rule.rule.id
        else:
            assert backed_rule.measured == pytest.approx(raw_rule.measured, rel=1e-9, abs=1e-12), raw_rule.rule.id
    assert sum(r.measured is not None for r in plain.verdict.rules) >= 5  # rules that measured something
