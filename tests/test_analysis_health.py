"""Overview hints at their documented edges."""

import pandas as pd
import pytest

from analysis.health import (
    AMBER,
    GREEN,
    GREY,
    RED,
    RULES,
    ChangeRule,
    judge_bookings,
    judge_change,
    judge_failure_ratio,
    judge_queue,
    judge_rates_by_workspace,
)

UP = RULES["needs_review"]  # worse when it rises: 5 / 10 points, at least 20 on each side


def test_a_rate_that_rose_is_amber_from_5_points_and_red_from_10():
    assert judge_change(0.20, 100, 0.15, 100, UP).colour == AMBER  # +5 points exactly
    assert judge_change(0.25, 100, 0.15, 100, UP).colour == RED  # +10 points exactly
    assert judge_change(0.199, 100, 0.15, 100, UP).colour == GREEN  # +4.9 points
    assert judge_change(0.05, 100, 0.15, 100, UP).colour == GREEN  # better
    assert "10.0 points worse" in judge_change(0.25, 100, 0.15, 100, UP).reason


def test_a_rate_that_should_not_fall_is_judged_downwards():
    applied = RULES["revision_applied"]
    assert judge_change(0.30, 50, 0.45, 50, applied).colour == RED  # 15 points lower
    assert judge_change(0.40, 50, 0.45, 50, applied).colour == AMBER  # 5 points lower
    assert judge_change(0.60, 50, 0.45, 50, applied).colour == GREEN


def test_mean_confidence_is_judged_in_confidence_not_points():
    mean = RULES["mean_confidence"]
    assert judge_change(0.88, 100, 0.90, 100, mean).colour == AMBER  # 0.02 lower
    assert judge_change(0.85, 100, 0.90, 100, mean).colour == RED  # 0.05 lower
    assert judge_change(0.89, 100, 0.90, 100, mean).colour == GREEN
    assert judge_change(0.85, 100, 0.90, 100, mean).reason == "0.050 worse than the 24 h before"


def test_thin_or_missing_data_is_grey_never_green():
    assert judge_change(None, 0, 0.1, 100, UP).colour == GREY
    assert judge_change(0.9, 19, 0.1, 100, UP).colour == GREY  # 19 < 20
    assert judge_change(0.9, 20, 0.1, 19, UP).colour == GREY  # too little before
    assert judge_change(0.9, 20, None, 0, UP).colour == GREY
    assert judge_change(0.9, 20, 0.1, 20, UP).colour == RED  # 20 on each side is enough
    assert judge_change(0.9, 5, 0.1, 5, ChangeRule("up", 0.05, 0.1, min_n=5)).colour == RED


def test_function_failure_ratio_lines():
    assert judge_failure_ratio(0.11).colour == RED
    assert judge_failure_ratio(0.10).colour == AMBER  # at the red line: not above it
    assert judge_failure_ratio(0.05).colour == GREEN
    assert judge_failure_ratio(None).colour == GREY


def test_queue_by_the_age_of_the_oldest_due_event():
    assert judge_queue(0, None).colour == GREEN
    assert judge_queue(3, 4.9).colour == GREEN
    assert judge_queue(3, 5).colour == AMBER
    assert judge_queue(3, 30).colour == RED


def test_bookings_halving_from_at_least_five_is_amber():
    assert judge_bookings(0, 0).colour == GREY
    assert judge_bookings(3, 6).colour == AMBER  # 6 -> 3 is half
    assert judge_bookings(4, 6).colour == GREEN
    assert judge_bookings(0, 4).colour == GREEN  # 4 before is too few to call a drop
    assert judge_bookings(9, 0).colour == GREEN


def test_rates_by_workspace_sum_buckets_then_judge_each_workspace():
    # ws-a: now (3 + 9) / (20 + 20) = 0.30 from 40 drafts; before 4 / 40 = 0.10 -> +20 points, red
    # ws-b: now 2 / 30 from 30 drafts; before 2 / 25 -> better, green; ws-c only before: absent
    now = pd.DataFrame({"workspace": ["ws-a", "ws-a", "ws-b"], "needs_review": [3, 9, 2], "evaluated": [20, 20, 30]})
    before = pd.DataFrame({"workspace": ["ws-a", "ws-b", "ws-c"], "needs_review": [4, 2, 1],
                           "evaluated": [40, 25, 30]})
    out = judge_rates_by_workspace(now, before, "needs_review", "evaluated", UP).set_index("workspace")
    assert list(out.index) == ["ws-a", "ws-b"]
    assert out.loc["ws-a", "value"] == pytest.approx(0.30)
    assert out.loc["ws-a", "before"] == pytest.approx(0.10)
    assert out.loc["ws-a", "n"] == 40
    assert out.loc["ws-a", "colour"] == RED
    assert out.loc["ws-b", "value"] == pytest.approx(2 / 30)
    assert out.loc["ws-b", "colour"] == GREEN


def test_rates_by_workspace_without_an_earlier_day_is_grey():
    now = pd.DataFrame({"workspace": ["ws-a"], "needs_review": [5], "evaluated": [50]})
    before = pd.DataFrame({"workspace": [], "needs_review": [], "evaluated": []})
    out = judge_rates_by_workspace(now, before, "needs_review", "evaluated", UP)
    assert out["colour"].tolist() == [GREY]
    assert out["before"].isna().all()
