"""Decision shares, hygiene verdicts and offload figures behind the monitoring pages: exact numbers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from analysis.decisions import decision_rate, share_of
from analysis.hygiene import feature_summary, flagged, key_status_rows, key_table
from analysis.offload_health import depth_bucket_seconds, failure_ratios, oldest_due_age, retry_totals

T = datetime(2026, 2, 18, 12, tzinfo=UTC)


def decisions(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["bucket", "workspace", "decision", "decisions"])


def test_decision_rate_counts_every_code_in_the_denominator():
    frame = decisions(("b1", "ws-a", "approve", 3), ("b1", "ws-a", "revise", 1), ("b1", "ws-a", "other", 1),
                      ("b2", "ws-b", "revise", 2))
    by_ws = decision_rate(frame, "revise", by=["workspace"], name="revise_rate").set_index("workspace")
    assert by_ws.loc["ws-a", "revise"] == 1 and by_ws.loc["ws-a", "decisions"] == 5
    assert by_ws.loc["ws-a", "revise_rate"] == pytest.approx(1 / 5)  # 'other' counts in the total
    assert by_ws.loc["ws-b", "revise_rate"] == pytest.approx(1.0)
    overall = decision_rate(frame, "revise")
    assert overall.loc[0, "rate"] == pytest.approx(3 / 7)


def test_decision_rate_and_share_without_decisions_are_missing_not_zero():
    empty = decisions(("b1", "ws-a", "approve", 0))
    assert math.isnan(decision_rate(empty, "revise").loc[0, "rate"])
    assert share_of(empty, "revise") is None
    assert share_of(decisions(), "revise") is None
    assert share_of(decisions(("b1", "ws-a", "deny", 1), ("b1", "ws-a", "approve", 3)), "deny") == pytest.approx(0.25)


def keys(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["workspace", "feature_id", "key", "rows", "documented", "long_strings"])


def test_key_table_flags_undocumented_keys_and_long_strings_summed_over_workspaces():
    frame = keys(("ws-a", "f1", "leadContextBundle", 5, True, 0), ("ws-b", "f1", "leadContextBundle", 2, True, 0),
                 ("ws-a", "f2", "promptPreview", 1, False, 1), ("ws-b", "f2", "note", 3, False, 0),
                 ("ws-a", "f3", "runId", 4, True, 2))
    table = key_table(frame).set_index(["feature_id", "key"])
    assert table.loc[("f1", "leadContextBundle"), "rows"] == 7
    assert table.loc[("f1", "leadContextBundle"), "flag"] == ""
    assert table.loc[("f2", "promptPreview"), "flag"] == "undocumented key, long string values"
    assert table.loc[("f2", "note"), "flag"] == "undocumented key"
    assert table.loc[("f3", "runId"), "flag"] == "long string values"
    assert list(flagged(key_table(frame))["key"]) == ["note", "promptPreview", "runId"]


def test_key_status_rows_split_documented_undocumented_and_long():
    table = key_table(keys(("ws-a", "f1", "a", 5, True, 2), ("ws-a", "f1", "b", 3, False, 1)))
    got = key_status_rows(table).set_index("status")["rows"]
    assert got["documented"] == 3  # 5 rows of a documented key, 2 of them long
    assert got["undocumented key"] == 3
    assert got["long string value"] == 2 + 1
    assert key_status_rows(key_table(keys())).empty


def test_feature_summary_joins_calls_and_keys():
    table = key_table(keys(("ws-a", "f1", "a", 5, True, 0), ("ws-a", "f1", "b", 1, False, 0)))
    presence = pd.DataFrame({"workspace": ["ws-a", "ws-b", "ws-a"], "feature_id": ["f1", "f1", "f9"],
                             "rows": [6, 2, 4], "without_metadata": [0, 2, 4]})
    out = feature_summary(table, presence).set_index("feature_id")
    assert out.loc["f1"].to_dict() == {"calls": 8, "without_metadata": 2, "keys_seen": 2, "flagged_keys": 1}
    assert out.loc["f9"].to_dict() == {"calls": 4, "without_metadata": 4, "keys_seen": 0, "flagged_keys": 0}


def due(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["workspace", "provider", "due", "oldest_due_run_at"])


def test_oldest_due_age_is_the_minimum_run_at_across_groups():
    frame = due(("ws-a", "INBOXXIA", 2, T - timedelta(minutes=10)), ("ws-b", "CRM", 1, T - timedelta(minutes=45)),
                (None, "INBOXXIA", 0, None))
    assert oldest_due_age(frame, T) == timedelta(minutes=45)
    naive = due(("ws-a", "CRM", 1, (T - timedelta(minutes=5)).replace(tzinfo=None)))  # SQLite: naive UTC
    assert oldest_due_age(naive, T) == timedelta(minutes=5)
    assert oldest_due_age(due(), T) is None
    assert oldest_due_age(due(("ws-a", "CRM", 1, T + timedelta(minutes=1))), T) == timedelta(0)


def test_retry_totals_sum_events_retries_and_attempts():
    retries = pd.DataFrame({"provider": ["CRM", "CRM", "INBOXXIA"], "status": ["FAILED", "SUCCEEDED", "SUCCEEDED"],
                            "events": [2, 8, 10], "attempts_sum": [16, 9, 10], "retried": [2, 1, 0]})
    overall = retry_totals(retries)
    assert (overall.loc[0, "events"], overall.loc[0, "retried"]) == (20, 3)
    assert overall.loc[0, "attempts_per_event"] == pytest.approx(35 / 20)
    crm = retry_totals(retries, by=["provider"]).set_index("provider").loc["CRM"]
    assert crm["attempts_per_event"] == pytest.approx(25 / 10)
    assert retry_totals(retries.iloc[0:0]).empty


def test_failure_ratios_need_enough_runs():
    runs = pd.DataFrame({"bucket": ["b1", "b1", "b2"], "function": ["f", "g", "f"], "runs": [10, 3, 20],
                         "failed": [1, 1, 4]})
    per_bucket = failure_ratios(runs, by=["bucket", "function"], min_runs=10).set_index(["bucket", "function"])
    assert per_bucket.loc[("b1", "f"), "failure_ratio"] == pytest.approx(0.1)
    assert math.isnan(per_bucket.loc[("b1", "g"), "failure_ratio"])  # 3 runs < 10
    overall = failure_ratios(runs, by=["function"], min_runs=1).set_index("function")
    assert overall.loc["f", "failure_ratio"] == pytest.approx(5 / 30)


@pytest.mark.parametrize(("hours", "seconds"), [(1, 60), (2, 60), (6, 300), (24, 600), (48, 600), (168, 1800),
                                                (720, 3 * 3600)])
def test_depth_grain_is_finer_than_the_series_grain(hours, seconds):
    assert depth_bucket_seconds(hours) == seconds
