"""Metric verdicts and the overall score: guards by hand, and the demo story on both backends."""

from dataclasses import replace
from datetime import timedelta

import pytest

from analysis.canary import evaluate
from analysis.canary.inputs import side_totals
from analysis.canary.stats import Verdict
from analysis.canary.verdicts import RATE_METRICS, Overall, Settings, judge, rate_verdict, score
from analysis.rules import load_rules
from queries.canary import CanarySpec, gather

NEEDS_REVIEW = RATE_METRICS[0]
EMPTY = side_totals({})


def totals(evaluated, needs_review):
    return replace(EMPTY, evaluated=evaluated, needs_review=needs_review)


def test_149_trials_is_insufficient_and_150_is_judged():
    s = Settings()
    low = rate_verdict(NEEDS_REVIEW, totals(149, 20), totals(150, 60), None, None, s)
    assert low.verdict is Verdict.INSUFFICIENT_DATA and low.passed is None
    assert low.reason == "too little data: 149 before and 150 after, 150 needed on each side"
    judged = rate_verdict(NEEDS_REVIEW, totals(150, 20), totals(150, 60), None, None, s)
    assert judged.verdict is Verdict.HIGH and judged.passed is False
    assert judged.delta == pytest.approx(60 / 150 - 20 / 150)


def test_zero_trials_is_missing_not_zero():
    v = rate_verdict(NEEDS_REVIEW, totals(0, 0), totals(0, 0), None, None, Settings())
    assert v.verdict is Verdict.INSUFFICIENT_DATA and v.measured is None and v.baseline is None


def test_platform_wide_rise_is_not_blamed_on_the_canary():
    # canary 10% -> 20%, and so did everyone else: difference-in-differences is 0
    v = rate_verdict(NEEDS_REVIEW, totals(400, 40), totals(400, 80), totals(4000, 400), totals(4000, 800), Settings())
    assert v.delta == pytest.approx(0.0) and v.verdict is Verdict.PASS
    plain = rate_verdict(NEEDS_REVIEW, totals(400, 40), totals(400, 80), None, None, Settings())
    assert plain.verdict is Verdict.HIGH


def test_a_drop_in_the_harmless_direction_passes():
    v = rate_verdict(NEEDS_REVIEW, totals(400, 120), totals(400, 40), None, None, Settings())
    assert v.verdict is Verdict.LOW and v.passed is True


def test_traffic_drop_is_flagged_by_the_volume_check():
    verdict = judge(totals(1000, 100), totals(500, 50), totals(5000, 500), totals(5000, 500))
    volume = {m.metric: m for m in verdict.metrics}["evaluated_volume"]
    assert volume.verdict is Verdict.LOW and volume.passed is False


def test_all_insufficient_is_insufficient_never_pass():
    verdict = judge(totals(10, 1), totals(10, 1), None, None)
    assert verdict.overall is Overall.INSUFFICIENT_DATA  # only the guards had data
    only_insufficient = [m for m in verdict.metrics if m.passed is None]
    assert score(only_insufficient, [], Settings())[1] is Overall.INSUFFICIENT_DATA


def test_a_failing_critical_metric_fails_the_run():
    twice = replace(totals(1000, 100), drafts_looped=50, drafts_looped_twice=1)
    verdict = judge(totals(1000, 100), twice, None, None)
    assert verdict.overall is Overall.FAIL and "revision_at_most_once" in verdict.reason


def test_demo_canary_fails_and_quiet_workspace_passes(demo_db):
    db, story = demo_db, demo_db.story
    rules = load_rules()
    spec = CanarySpec((story.canary,), story.rollout_at, story.rollout_at + timedelta(days=2))
    canary = evaluate(gather(db.conn, spec).frames, rules).verdict
    by_metric = {m.metric: m for m in canary.metrics}
    assert canary.overall is Overall.FAIL
    assert by_metric["needs_review_rate"].verdict is Verdict.HIGH
    assert by_metric["auto_send_confidence"].verdict is Verdict.LOW
    assert by_metric["evaluated_volume"].verdict is Verdict.PASS  # volume stayed level
    quiet = evaluate(gather(db.conn, CanarySpec((story.quiet,), spec.split, spec.end)).frames, rules).verdict
    assert quiet.overall is Overall.PASS, quiet.reason
    assert all(m.passed in (True, None) for m in quiet.metrics)
