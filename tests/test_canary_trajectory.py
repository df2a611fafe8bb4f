"""The delta-over-time of a rate, from hourly buckets, checked against did_rate_cs on hand-summed cells."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from analysis.canary.trajectory import did_trajectory
from analysis.sequential import did_rate_cs
from queries.canary import CanarySpec, trajectory_bucket

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
