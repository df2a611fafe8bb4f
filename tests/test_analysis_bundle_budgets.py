"""Bundle budgets, inclusion and coverage helpers: exact numbers from small hand-made frames."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from analysis.bundle_budgets import (
    bundle_effective,
    configured_budget,
    coverage_starts,
    inclusion,
    silent_fallbacks,
    token_use,
)

START, END = datetime(2026, 2, 18, 0, tzinfo=UTC), datetime(2026, 2, 19, 0, tzinfo=UTC)


def series(**values) -> pd.DataFrame:
    row = {"workspace": "ws-a", "profile": "draft", "knowledge_calls": 0, "knowledge_tokens": 0,
           "knowledge_max_tokens": 0, "memory_calls": 0, "memory_tokens": 0, "memory_max_tokens": 0,
           "assets_included": 0, "assets_total": 0, "entries_included": 0, "entries_total": 0}
    row.update(values)
    return pd.DataFrame([row])


def settings(budgets=None, state="unset", **toggles) -> pd.DataFrame:
    return pd.DataFrame([{"workspace": "ws-a", "budgets": budgets, "budgets_state": state,
                          "leadContextBundleEnabled": False, **toggles}])


def test_configured_budget_merges_the_workspace_json_over_the_defaults():
    stored = {"draft": {"knowledge": {"maxTokens": 2000}}}
    assert configured_budget(stored, "draft", "knowledge") == 2000
    assert configured_budget(stored, "draft", "memory") == 1200  # default
    assert configured_budget(None, "revision", "knowledge") == 3000
    assert configured_budget(None, "followup_parse", "knowledge") is None  # the profile has no knowledge section
    assert configured_budget(None, "no_such_profile", "memory") is None


def test_token_use_is_mean_tokens_per_call_against_the_configured_budget():
    frame = pd.concat([series(knowledge_calls=2, knowledge_tokens=3000, knowledge_max_tokens=4000,
                              memory_calls=1, memory_tokens=600, memory_max_tokens=1200),
                       series(knowledge_calls=2, knowledge_tokens=1000, knowledge_max_tokens=4000)])
    out = token_use(frame, settings({"draft": {"knowledge": {"maxTokens": 2000}}}, "set")).set_index("section")
    assert out.loc["knowledge", "calls"] == 4
    assert out.loc["knowledge", "mean_tokens"] == pytest.approx(4000 / 4)  # (3000 + 1000) / (2 + 2)
    assert out.loc["knowledge", "mean_carried_budget"] == pytest.approx(8000 / 4)
    assert out.loc["knowledge", "budget"] == 2000
    assert out.loc["knowledge", "share_of_budget"] == pytest.approx(1000 / 2000)
    assert out.loc["knowledge", "budget_from"] == "workspace JSON"
    assert out.loc["memory", "share_of_budget"] == pytest.approx(600 / 1200)


def test_token_use_leaves_out_sections_without_calls_and_keeps_unknown_budgets_missing():
    out = token_use(series(profile="mystery", memory_calls=1, memory_tokens=50), settings())
    assert list(out["section"]) == ["memory"]
    assert math.isnan(out.loc[0, "budget"]) and math.isnan(out.loc[0, "share_of_budget"])
    assert out.loc[0, "budget_from"] == "defaults"
    assert token_use(series().iloc[0:0], settings()).empty


def test_inclusion_sums_included_and_total_items_per_profile():
    frame = pd.concat([series(assets_included=3, assets_total=5), series(assets_included=2, assets_total=2,
                                                                          entries_included=1, entries_total=4)])
    out = inclusion(frame).set_index("measure")["items"]
    assert (out["assets included"], out["assets total"]) == (5, 7)
    assert (out["entries included"], out["entries total"]) == (1, 4)


def test_bundle_effective_needs_the_toggle_and_no_kill_switch():
    frame = pd.concat([settings(leadContextBundleEnabled=True),
                       settings(leadContextBundleEnabled=False).assign(workspace="ws-b")])
    assert bundle_effective(frame, {}) == ["ws-a"]
    assert bundle_effective(frame, {"LEAD_CONTEXT_BUNDLE_DISABLED": True}) == []


def events(*rows) -> pd.DataFrame:
    return pd.DataFrame([{"changed_at": at, "workspace": ws, "field": field} for at, ws, field in rows],
                        columns=["changed_at", "workspace", "field"])


def test_coverage_starts_at_the_window_start_or_the_toggle_change_inside_it():
    inside = datetime(2026, 2, 18, 6, tzinfo=UTC)
    got = coverage_starts(["ws-a", "ws-b", "ws-c"], events(
        (inside.replace(tzinfo=None), "ws-a", "leadContextBundleEnabled"),  # naive = UTC, as SQLite returns it
        (datetime(2026, 2, 18, 8, tzinfo=UTC), "ws-b", "autoSendRevisionEnabled"),  # another toggle: ignored
        (END, "ws-c", "leadContextBundleEnabled"),  # at the window's end: not in this state during the window
    ), START, END)
    assert got == {"ws-a": inside, "ws-b": START}


def test_coverage_starts_takes_the_latest_change_of_several():
    early, late = datetime(2026, 2, 18, 2, tzinfo=UTC), datetime(2026, 2, 18, 9, tzinfo=UTC)
    got = coverage_starts(["ws-a"], events((late, "ws-a", "leadContextBundleEnabled"),
                                           (early, "ws-a", "leadContextBundleEnabled")), START, END)
    assert got == {"ws-a": late}
    assert coverage_starts([], events(), START, END) == {}


def test_silent_fallbacks_are_calls_without_bundle_stats():
    coverage = pd.DataFrame({"workspace": ["ws-a", "ws-a", "ws-b"], "feature_group": ["draft.generate"] * 3,
                             "calls": [4, 6, 0], "with_bundle": [4, 3, 0]})
    out = silent_fallbacks(coverage, by=["workspace"]).set_index("workspace")
    assert (out.loc["ws-a", "calls"], out.loc["ws-a", "missing"]) == (10, 3)
    assert out.loc["ws-a", "missing_share"] == pytest.approx(3 / 10)
    assert math.isnan(out.loc["ws-b", "missing_share"])  # no calls: no share, not 0
    assert silent_fallbacks(coverage.iloc[0:0], by=["workspace"]).empty
