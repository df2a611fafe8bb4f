"""The delta-over-time of a rate and of the confidence mean, from hourly buckets, checked against did_rate_cs /
did_mean_cs on hand-summed cells and raw values, and on planted drafts against the verdict's own delta."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from analysis.canary import evaluate
from analysis.canary.trajectory import did_trajectory
from analysis.rules import load_rules
from analysis.sequential import Moments, boundary_multiplier, did_mean_cs, did_rate_cs, mean_delta_cs, mixture_rho
from queries.canary import CanarySpec, gather, trajectory_bucket
from tests.seed import at
from ui.canary_view import _charted_limits, trajectory_figure

SPLIT = datetime(2026, 2, 18, 12, tzinfo=UTC)
H = timedelta(hours=1)


def nr(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame([{"bucket": pd.Timestamp(t), "workspace": "w", "evaluated": n, "needs_review": k}
                         for t, n, k in rows])


FRAMES = {
    "canary_before": {"needs_review": nr((SPLIT - 2 * H, 100, 10), (SPLIT - H, 100, 12))},
    "canary_after": {"needs_review": nr((SPLIT, 100, 20), (SPLIT + H, 100, 30))},
    "others_before": {"needs_review": nr((SPLIT - 2 * H, 400, 40), (SPLIT - H, 400, 40))},
    "others_after": {"needs_review": nr((SPLIT, 400, 44), (SPLIT + H, 400, 40))},
}


def test_each_point_mirrors_its_baseline_and_subtracts_the_control():
    points = did_trajectory(FRAMES, "needs_review_rate", split=SPLIT, end=SPLIT + 2 * H, bucket_seconds=3600)
    assert list(points["at"]) == [SPLIT + H, SPLIT + 2 * H]
    first = did_rate_cs(12, 100, 20, 100, 40, 400, 44, 400)  # [split - 1h, split) vs [split, split + 1h)
    second = did_rate_cs(22, 200, 50, 200, 80, 800, 84, 800)
    for row, expected in zip(points.itertuples(), (first, second), strict=True):
        assert (row.delta, row.lo, row.hi) == pytest.approx((expected.estimate, expected.lo, expected.hi))
    assert list(points["n"]) == [100, 200]
    assert points["hi"].iloc[1] - points["lo"].iloc[1] < points["hi"].iloc[0] - points["lo"].iloc[0]  # narrows


def test_trajectory_bucket_keeps_the_points_readable():
    assert trajectory_bucket(CanarySpec(("w",), SPLIT, SPLIT + 2 * H)) == 300
    assert trajectory_bucket(CanarySpec(("w",), SPLIT, SPLIT + 2 * 24 * H)) == 3600
    assert trajectory_bucket(CanarySpec(("w",), SPLIT, SPLIT + 300 * 24 * H)) == 86400
    # past four days only stored grains (3 h, then a day): a 14-day canary has 14 daily points, not 56 at 6 h
    assert trajectory_bucket(CanarySpec(("w",), SPLIT, SPLIT + 10 * 24 * H)) == 3 * 3600
    assert trajectory_bucket(CanarySpec(("w",), SPLIT, SPLIT + 14 * 24 * H)) == 86400


# --- the confidence mean: a DiD delta of means from exact per-bucket sums ---------------------------------

RAW = {  # the planted autoSendConfidence values per side and hourly bucket
    "canary_before": {SPLIT - 2 * H: [0.80, 0.90], SPLIT - H: [0.90, 0.92, 0.94]},
    "canary_after": {SPLIT: [0.95, 0.97], SPLIT + H: [0.96, 0.98, 0.99]},
    "others_before": {SPLIT - 2 * H: [0.85, 0.87], SPLIT - H: [0.88, 0.90]},
    "others_after": {SPLIT: [0.88, 0.92], SPLIT + H: [0.89, 0.91]},
}


def conf(side: str) -> pd.DataFrame:
    return pd.DataFrame([{"bucket": pd.Timestamp(t), "workspace": "w", "scored": len(values),
                          "confidence_sum": sum(values), "confidence_sumsq": sum(v * v for v in values)}
                         for t, values in RAW[side].items()])


def values(side: str, *buckets) -> list[float]:
    return [v for t in buckets for v in RAW[side][t]]


def test_the_mean_delta_is_differenced_against_the_control_at_every_bucket_end():
    frames = {side: {"confidence_series": conf(side)} for side in RAW}
    points = did_trajectory(frames, "auto_send_confidence_mean", split=SPLIT, end=SPLIT + 2 * H, bucket_seconds=3600)
    assert list(points["at"]) == [SPLIT + H, SPLIT + 2 * H]
    # at split + 1h: canary 0.92 -> 0.96 (+0.04), control 0.89 -> 0.90 (+0.01): 0.03
    # at split + 2h: canary 4.46/5 = 0.892 -> 4.85/5 = 0.97 (+0.078), control 3.5/4 = 0.875 -> 3.6/4 = 0.9: 0.053
    assert list(points["delta"]) == pytest.approx([0.03, 0.053])
    assert list(points["n"]) == [2, 5]
    first = did_mean_cs(*(Moments.from_values(values(side, *hours)) for side, hours in (
        ("canary_before", [SPLIT - H]), ("canary_after", [SPLIT]), ("others_before", [SPLIT - H]),
        ("others_after", [SPLIT]))))
    both = [SPLIT - 2 * H, SPLIT - H], [SPLIT, SPLIT + H]
    second = did_mean_cs(*(Moments.from_values(values(side, *both[side.endswith("after")])) for side in RAW))
    for row, expected in zip(points.itertuples(), (first, second), strict=True):
        assert (row.delta, row.lo, row.hi) == pytest.approx((expected.estimate, expected.lo, expected.hi))
    # the band is sqrt(sum of var/n over the four cells) times the boundary at n: checked on the raw values
    cells = [values(side, *both[side.endswith("after")]) for side in RAW]
    se = np.sqrt(sum(np.var(c, ddof=1) / len(c) for c in cells))
    multiplier = boundary_multiplier(5, rho=mixture_rho())
    assert points["hi"].iloc[1] - points["delta"].iloc[1] == pytest.approx(se * multiplier)


def test_without_a_control_the_mean_delta_is_the_canarys_own_past():
    frames = {side: {"confidence_series": conf(side)} for side in ("canary_before", "canary_after")}
    frames["others_before"] = frames["others_after"] = {"confidence_series": pd.DataFrame()}
    points = did_trajectory(frames, "auto_send_confidence_mean", split=SPLIT, end=SPLIT + 2 * H, bucket_seconds=3600)
    assert list(points["delta"]) == pytest.approx([0.04, 0.078])
    expected = mean_delta_cs(Moments.from_values(values("canary_before", SPLIT - 2 * H, SPLIT - H)),
                             Moments.from_values(values("canary_after", SPLIT, SPLIT + H)))
    assert (points["lo"].iloc[1], points["hi"].iloc[1]) == pytest.approx((expected.lo, expected.hi))


def test_a_single_scored_draft_after_the_split_draws_no_point():
    frames = {side: {"confidence_series": conf(side)} for side in RAW}
    frames["canary_after"] = {"confidence_series": conf("canary_after").assign(scored=[1, 3])}
    frames["canary_after"]["confidence_series"].loc[0, ["confidence_sum", "confidence_sumsq"]] = [0.95, 0.9025]
    points = did_trajectory(frames, "auto_send_confidence_mean", split=SPLIT, end=SPLIT + 2 * H, bucket_seconds=3600)
    assert list(points["at"]) == [SPLIT + 2 * H]  # the first look has 1 value after the split: no variance


def test_on_planted_drafts_the_last_point_is_the_verdicts_delta_and_the_chart_has_both_limits(db):
    # canary ws-c and control ws-o, 60 drafts per window; split at T0 - 2h, the baseline [T0 - 4h, T0 - 2h)
    split, end = at(hours=-2), at()
    for ws in ("ws-c", "ws-o"):
        db.seed.workspace(ws)
    db.seed.drafts("ws-c", start=split - 2 * H, end=split, n=60, needs_review=6, confidences=(0.90, 0.94))
    db.seed.drafts("ws-c", start=split, end=end, n=60, needs_review=6, confidences=(0.80, 0.86))
    db.seed.drafts("ws-o", start=split - 2 * H, end=split, n=60, needs_review=6, confidences=(0.90, 0.92))
    db.seed.drafts("ws-o", start=split, end=end, n=60, needs_review=6, confidences=(0.91, 0.93))
    inputs = gather(db.conn, CanarySpec(("ws-c",), split, end))
    points = did_trajectory(inputs.frames, "auto_send_confidence_mean", split=split, end=end,
                            bucket_seconds=inputs.bucket_seconds)
    # canary 0.92 -> 0.83 (-0.09), control 0.91 -> 0.92 (+0.01): -0.10 over the whole window
    assert points["delta"].iloc[-1] == pytest.approx(-0.10)
    assert points["at"].iloc[-1] == end and points["n"].iloc[-1] == 60
    evaluation = evaluate(inputs.frames, load_rules())
    by_metric = {m.metric: m for m in evaluation.verdict.metrics}
    assert by_metric["auto_send_confidence"].delta == pytest.approx(points["delta"].iloc[-1])
    limits = _charted_limits(evaluation)
    assert limits["auto_send_confidence_mean"] == [-0.05, 0.05]  # the drop and the rise rule: one chart
    figure = trajectory_figure(points, title="t", threshold=limits["auto_send_confidence_mean"], split=split,
                               scale=1, unit="confidence")
    lines = [(shape.type, shape.y0, shape.x0) for shape in figure.layout.shapes]
    assert ("line", -0.05, 0) in lines and ("line", 0.05, 0) in lines and ("line", 0, 0) in lines
    assert any(shape.x0 == split for shape in figure.layout.shapes)  # the split marker
