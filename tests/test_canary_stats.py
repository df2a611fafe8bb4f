"""Canary statistics against independent values: scipy on the expanded samples, and hand-worked numbers."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from analysis.canary.stats import (
    Rate,
    compare_histograms,
    compare_two_rates,
    diff_in_diff,
    expand,
    hodges_lehmann,
    holm,
    psi,
)


def test_wilson_interval_for_8_of_20_worked_by_hand():
    # p = 0.4, z = 1.959964: centre (0.4 + 0.0960)/(1.19208) = 0.41611, half 0.19822
    low, high = Rate(8, 20).wilson()
    assert (round(low, 4), round(high, 4)) == (0.2188, 0.6134)


def test_missing_is_not_zero():
    assert Rate(0, 0).value is None and Rate(0, 0).wilson() is None
    assert Rate(0, 10).value == 0.0
    with pytest.raises(ValueError):
        compare_two_rates(Rate(0, 0), Rate(1, 10))


def test_two_proportion_z_test_matches_the_formula():
    before, after = Rate(30, 200), Rate(60, 200)
    result = compare_two_rates(before, after)
    pooled = 90 / 400
    z = 0.15 / math.sqrt(pooled * (1 - pooled) * (2 / 200))
    assert result.diff == pytest.approx(0.15)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(z))
    assert result.test == "two-proportion z-test"
    assert result.ci[0] < 0.15 < result.ci[1] and result.ci[0] > 0  # Newcombe: clearly above zero


def test_small_counts_use_fishers_exact_test():
    result = compare_two_rates(Rate(1, 10), Rate(6, 10))
    assert result.test == "Fisher's exact test"
    assert result.p_value == pytest.approx(stats.fisher_exact([[6, 4], [1, 9]]).pvalue)


def test_difference_in_differences_cancels_a_platform_wide_rise():
    # everyone went from 10% to 20%: the canary's own +10 pp is not its fault
    result = diff_in_diff(Rate(20, 200), Rate(40, 200), Rate(200, 2000), Rate(400, 2000))
    assert result.diff == pytest.approx(0.0)
    assert result.p_value == pytest.approx(1.0)
    se = math.sqrt(0.1 * 0.9 / 200 + 0.2 * 0.8 / 200 + 0.1 * 0.9 / 2000 + 0.2 * 0.8 / 2000)
    assert result.ci[1] == pytest.approx(1.959964 * se, rel=1e-5)


BASE = {80: 3, 85: 5, 90: 8, 95: 4}
CANARY = {75: 4, 80: 6, 85: 5, 90: 3, 92: 2}


def test_distribution_tests_equal_scipy_on_the_raw_samples():
    x, y = expand(BASE, 0.01), expand(CANARY, 0.01)
    result = compare_histograms(BASE, CANARY, 0.01)
    assert (result.n_baseline, result.n_canary) == (20, 20)
    ks = stats.ks_2samp(x, y, method="asymp")
    assert result.ks_statistic == pytest.approx(ks.statistic)
    assert result.ks_p_value == pytest.approx(ks.pvalue)
    mw = stats.mannwhitneyu(y, x, alternative="two-sided", method="asymptotic", use_continuity=True)
    assert result.mw_u == pytest.approx(mw.statistic) and result.mw_p_value == pytest.approx(mw.pvalue)
    assert result.wasserstein == pytest.approx(stats.wasserstein_distance(x, y))


def test_hodges_lehmann_shift_is_the_median_of_pairwise_differences():
    x, y = expand(BASE, 0.01), expand(CANARY, 0.01)
    pairwise = sorted(b - a for a, b in itertools.product(x, y))
    shift, (low, high) = hodges_lehmann(BASE, CANARY, 0.01)
    assert shift == pytest.approx(float(np.median(pairwise)))
    c = math.floor(400 / 2 - 1.959964 * math.sqrt(20 * 20 * 41 / 12))
    assert low == pytest.approx(pairwise[c - 1]) and high == pytest.approx(pairwise[400 - c])


def test_hodges_lehmann_on_a_three_by_three_example():
    # a = {0.1, 0.2, 0.3}, b = {0.3, 0.4, 0.5}: differences 0.0..0.4, median 0.2
    shift, _ = hodges_lehmann({10: 1, 20: 1, 30: 1}, {30: 1, 40: 1, 50: 1}, 0.01)
    assert shift == pytest.approx(0.2)


def test_psi_on_a_three_bucket_example():
    a = {0: 50, 5: 30, 10: 20}  # three 0.05 buckets: 0.5 / 0.3 / 0.2
    b = {0: 30, 5: 30, 10: 40}  # 0.3 / 0.3 / 0.4
    expected = (0.3 - 0.5) * math.log(0.3 / 0.5) + 0 + (0.4 - 0.2) * math.log(0.4 / 0.2)
    assert psi(a, b) == pytest.approx(expected)  # 0.2408: moderate


def test_holm_on_four_p_values():
    # sorted 0.01, 0.02, 0.03, 0.2 vs alpha/4, /3, /2, /1 = 0.0125, 0.0167, 0.025, 0.05
    rejected = holm({"a": 0.02, "b": 0.01, "c": 0.03, "d": 0.2, "e": None})
    assert rejected == {"a": False, "b": True, "c": False, "d": False, "e": False}
    assert holm({"a": 0.01, "b": 0.015}) == {"a": True, "b": True}


def _bucketed(values: np.ndarray) -> dict[int, int]:
    keys, counts = np.unique(np.floor(values / 0.01).astype(int), return_counts=True)
    return {int(k): int(c) for k, c in zip(keys, counts, strict=True)}


def test_interpolated_hodges_lehmann_tracks_the_raw_samples_and_does_not_collapse():
    """Continuous confidences bucketed at 0.01: the interpolated shift is within a few thousandths of
    the raw-sample Hodges-Lehmann (brute force over all pairs); the bucket-rounded interval of samples
    sharing a bucket collapses to [0, 0], the interpolated one does not."""
    rng = np.random.default_rng(5)
    x = rng.uniform(0.920, 0.940, 400)
    y = rng.uniform(0.916, 0.936, 400)  # a true shift of -0.004, under one bucket
    raw = float(np.median(np.subtract.outer(y, x)))
    shift, (low, high) = hodges_lehmann(_bucketed(x), _bucketed(y), 0.01, interpolate=True)
    assert abs(shift - raw) < 0.002 and low < raw < high
    same_x, same_y = rng.uniform(0.9210, 0.9290, 300), rng.uniform(0.9205, 0.9285, 300)  # all in bucket 92
    rounded, rounded_ci = hodges_lehmann(_bucketed(same_x), _bucketed(same_y), 0.01)
    spread, (s_low, s_high) = hodges_lehmann(_bucketed(same_x), _bucketed(same_y), 0.01, interpolate=True)
    assert rounded == 0.0 and rounded_ci == (0.0, 0.0)
    assert s_low < spread < s_high and s_high - s_low > 0.0005
