"""Derived figures from additive counts, worked by hand."""

import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from analysis.derive import (
    bucket_edges,
    change,
    count_where,
    ecdf_from_histogram,
    percentile_upper_edge,
    sums_by,
    total,
    total_rate,
    wait_minutes,
    with_rate,
)


def test_rates_are_summed_before_dividing_and_zero_denominators_are_missing():
    frame = pd.DataFrame({"ws": ["a", "a", "b"], "nr": [1, 3, 0], "ev": [10, 10, 0]})
    out = with_rate(frame, "nr", "ev", by=["ws"]).set_index("ws")
    assert out.loc["a", "rate"] == pytest.approx(4 / 20)  # (1 + 3) / (10 + 10), not mean(0.1, 0.3)
    assert math.isnan(out.loc["b", "rate"])
    assert total_rate(frame, "nr", "ev") == pytest.approx(4 / 20)
    assert total_rate(frame.iloc[2:], "nr", "ev") is None
    assert total_rate(frame.iloc[0:0], "nr", "ev") is None
    assert total(frame, "nr", ws="a") == 4
    assert total(frame.iloc[0:0], "nr") == 0


def test_a_mean_comes_from_summed_sums_and_counts():
    # two buckets: confidences {0.5, 0.7} and {0.9}: sums 1.2 and 0.9, counts 2 and 1 -> mean 2.1 / 3 = 0.7
    frame = pd.DataFrame({"confidence_sum": [1.2, 0.9], "scored": [2, 1]})
    assert total_rate(frame, "confidence_sum", "scored") == pytest.approx(0.7)


def test_sums_by_groups_additive_columns_and_keeps_columns_when_empty():
    frame = pd.DataFrame({"workspace": ["a", "b", "a"], "bucket": [1, 1, 2], "n": [2, 5, 3]})
    out = sums_by(frame, ["workspace"], ["n"]).set_index("workspace")["n"].to_dict()
    assert out == {"a": 5, "b": 5}
    assert list(sums_by(frame.iloc[0:0], ["workspace"], ["n"]).columns) == ["workspace", "n"]


def test_change_is_missing_when_either_side_is():
    assert change(0.25, 0.20) == pytest.approx(0.05)
    assert change(None, 0.2) is None
    assert change(0.2, None) is None


def test_count_where_keeps_only_matching_categories():
    frame = pd.DataFrame({"decision": ["approve", "revise", "other"], "decisions": [6, 3, 1]})
    assert count_where(frame, "decisions", "decision", ["revise"])["matching"].tolist() == [0, 3, 0]
    assert total_rate(count_where(frame, "decisions", "decision", ["revise"]), "matching", "decisions") == 3 / 10


def test_percentile_is_the_upper_edge_of_its_bucket():
    hist = pd.DataFrame({"b": [0, 50, 100, 150], "n": [50, 40, 5, 5]})
    assert percentile_upper_edge(hist, bucket="b", count="n", width=50, q=0.5) == 50  # 50th of 100 in [0, 50)
    assert percentile_upper_edge(hist, bucket="b", count="n", width=50, q=0.51) == 100  # 51st in [50, 100)
    assert percentile_upper_edge(hist, bucket="b", count="n", width=50, q=0.95) == 150  # 95th in [100, 150)
    assert percentile_upper_edge(hist, bucket="b", count="n", width=50, q=0.96) == 200  # 96th in [150, 200)
    assert percentile_upper_edge(hist.iloc[0:0], bucket="b", count="n", width=50, q=0.5) is None


def test_percentile_sums_rows_of_the_same_bucket_and_survives_float_products():
    # two workspaces share bucket 0: 3 + 4 = 7 calls there, 93 in bucket 50. 0.07 * 100 is
    # 7.000000000000001 in floating point: the 7th call is still in bucket 0, so p7 <= 50.
    hist = pd.DataFrame({"b": [0, 0, 50], "n": [3, 4, 93]})
    assert percentile_upper_edge(hist, bucket="b", count="n", width=50, q=0.07) == 50
    assert percentile_upper_edge(hist, bucket="b", count="n", width=50, q=0.08) == 100


def test_bucket_indexes_become_lower_edges():
    frame = pd.DataFrame({"original_bucket": [5, 17], "revised_bucket": [18, 19], "drafts": [1, 2]})
    out = bucket_edges(frame, ["original_bucket", "revised_bucket"], 0.05)
    assert out["original_bucket"].tolist() == [0.25, 0.85]
    assert out["revised_bucket"].tolist() == [0.9, 0.95]
    assert out["drafts"].tolist() == [1, 2]


def test_ecdf_points_sit_at_upper_edges_and_start_at_zero():
    # workspace a: 1 draft in [0.80, 0.85), 3 in [0.90, 0.95); workspace b: 2 in [0.50, 0.55)
    hist = pd.DataFrame({"ws": ["a", "a", "b"], "lower": [0.80, 0.90, 0.50], "drafts": [1, 3, 2]})
    points = ecdf_from_histogram(hist, lower="lower", count="drafts", width=0.05, by="ws")
    a = points[points["ws"] == "a"]
    assert a["x"].tolist() == [0.8, 0.85, 0.95]
    assert a["share"].tolist() == pytest.approx([0.0, 1 / 4, 4 / 4])
    assert a["drafts"].tolist() == [0, 1, 3]
    b = points[points["ws"] == "b"]
    assert b["x"].tolist() == [0.5, 0.55]
    assert b["share"].tolist() == pytest.approx([0.0, 1.0])


def test_ecdf_of_nothing_is_empty_with_its_columns():
    empty = pd.DataFrame({"ws": [], "lower": [], "drafts": []})
    assert list(ecdf_from_histogram(empty, lower="lower", count="drafts", width=0.05, by="ws").columns) == [
        "ws", "x", "drafts", "share"]
    zero = pd.DataFrame({"lower": [0.5], "drafts": [0]})
    assert ecdf_from_histogram(zero, lower="lower", count="drafts", width=0.05).empty


def test_wait_minutes_from_the_oldest_due_time_never_negative():
    now = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)
    assert wait_minutes(datetime(2026, 2, 18, 11, 15, 30, tzinfo=UTC), now) == 44.5  # 44 min 30 s
    assert wait_minutes(pd.Timestamp("2026-02-18 12:00:40", tz="UTC"), now) == 0.0  # due within the minute
    assert wait_minutes(pd.NaT, now) is None
    assert wait_minutes(None, now) is None
