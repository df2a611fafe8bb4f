"""Distribution comparison from histograms, checked against scipy on the expanded raw samples and by hand."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.distributions import (
    Histogram,
    MannWhitney,
    compare_distributions,
    hodges_lehmann,
    ks_test,
    mann_whitney,
    psi,
    psi_label,
    shift_verdict,
    wasserstein,
)
from analysis.verdicts import Verdict


def binned(values: np.ndarray, width: float = 0.01) -> Histogram:
    keys, counts = np.unique(np.round(values / width).astype(int), return_counts=True)
    return Histogram(width, dict(zip(keys.tolist(), counts.tolist(), strict=True)))


def expand(h: Histogram) -> np.ndarray:
    """The raw samples the histogram stands for: each bucket's value repeated count times."""
    return np.repeat(h.values, h.weights)


def pair(m: int, n: int, shift: float, *, width: float = 0.01, seed: int = 7) -> tuple[Histogram, Histogram]:
    rng = np.random.default_rng(seed)
    a = np.clip(rng.normal(0.7, 0.1, m), 0, 1)
    b = np.clip(rng.normal(0.7 + shift, 0.1, n), 0, 1)
    return binned(a, width), binned(b, width)


CASES = [(60, 80, 0.05), (50, 50, 0.1), (137, 211, 0.02), (300, 300, 0.0), (1000, 700, 0.03), (40, 90, 0.3)]


# -- Histogram --------------------------------------------------------------------------------------


def test_histogram_sums_a_query_frame_over_workspaces_and_drops_empty_buckets():
    frame = pd.DataFrame({"workspace": ["a", "b", "a", "b"], "bucket": [29.0, 29.0, 30.0, 31.0],
                          "drafts": [2, 3, 4, 0]})
    h = Histogram.from_frame(frame, "bucket", "drafts", 0.01)
    assert h.counts == {29: 5, 30: 4}
    assert h.n == 9
    assert h.mean == pytest.approx((5 * 0.29 + 4 * 0.30) / 9)


def test_bucket_29_at_width_001_is_exactly_029():
    assert Histogram(0.01, {29: 1}).values[0] == 0.29
    assert Histogram(0.001, {7: 1}).values[0] == 0.007


def test_empty_histogram_has_no_mean_rather_than_zero():
    assert Histogram(0.01, {}).mean is None
    assert Histogram.from_frame(pd.DataFrame({"bucket": [], "n": []}), "bucket", "n", 0.01).n == 0


@pytest.mark.parametrize("counts", [{1: -1}, {1.5: 2}, {1: 2.5}])
def test_histogram_refuses_negative_counts_and_fractional_buckets(counts):
    with pytest.raises(ValueError):
        Histogram(0.01, counts)


def test_histograms_at_different_widths_are_not_compared():
    with pytest.raises(ValueError, match="widths"):
        ks_test(Histogram(0.01, {1: 3}), Histogram(0.001, {1: 3}))


# -- Kolmogorov-Smirnov -----------------------------------------------------------------------------


@pytest.mark.parametrize(("m", "n", "shift"), CASES)
def test_ks_matches_ks_2samp_on_the_expanded_samples(m, n, shift):
    a, b = pair(m, n, shift)
    ours, theirs = ks_test(a, b), stats.ks_2samp(expand(a), expand(b))
    assert ours.method == "exact"
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-15)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("m", "n", "shift"), CASES)
def test_ks_asymptotic_matches_ks_2samp_asymp(m, n, shift):
    a, b = pair(m, n, shift, width=0.001)
    ours, theirs = ks_test(a, b, method="asymp"), stats.ks_2samp(expand(a), expand(b), method="asymp")
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-15)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)


def test_ks_switches_to_asymptotic_above_10000_like_ks_2samp():
    a, b = pair(10_001, 12_000, 0.004, width=0.001)
    ours, theirs = ks_test(a, b), stats.ks_2samp(expand(a), expand(b))
    assert ours.method == "asymp"
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)


def test_ks_by_hand_on_two_buckets():
    # a: 3 at bucket 0, 1 at bucket 1 -> ECDF 3/4 then 1; b: 1 at 0, 3 at 1 -> 1/4 then 1; D = 1/2
    result = ks_test(Histogram(0.01, {0: 3, 1: 1}), Histogram(0.01, {0: 1, 1: 3}))
    assert result.statistic == 0.5
    # exact, n = m = 4, h = 2: P(D >= 1/2) = 2 * (C(8,2) - C(8,0)) / C(8,4) = 2 * 27 / 70
    assert result.p_value == pytest.approx(54 / 70)


def test_identical_histograms_have_no_ks_difference():
    a = Histogram(0.01, {70: 30, 80: 20})
    result = ks_test(a, Histogram(0.01, {70: 60, 80: 40}))
    assert (result.statistic, result.p_value) == (0.0, 1.0)


# -- Wasserstein and PSI ----------------------------------------------------------------------------


@pytest.mark.parametrize(("m", "n", "shift"), CASES)
def test_wasserstein_matches_scipy_on_the_expanded_samples(m, n, shift):
    a, b = pair(m, n, shift)
    assert wasserstein(a, b) == pytest.approx(stats.wasserstein_distance(expand(a), expand(b)), abs=1e-12)


def test_wasserstein_by_hand():
    # half the mass moves 0.02 (bucket 0 -> 2), the other half stays: 0.01
    assert wasserstein(Histogram(0.01, {0: 2, 5: 2}), Histogram(0.01, {2: 2, 5: 2})) == pytest.approx(0.01)


def test_psi_on_three_buckets_by_hand():
    # baseline shares .5 .3 .2, canary .3 .3 .4:
    # (.3-.5) ln(.3/.5) + 0 + (.4-.2) ln(.4/.2) = .2 ln(5/3) + .2 ln 2 = 0.102165 + 0.138629 = 0.240795
    result = psi(Histogram(0.01, {0: 50, 1: 30, 2: 20}), Histogram(0.01, {0: 30, 1: 30, 2: 40}))
    assert result.value == pytest.approx(0.2 * math.log(5 / 3) + 0.2 * math.log(2))
    assert round(result.value, 4) == 0.2408
    assert (result.label, result.bins) == ("moderate", 3)


def test_psi_floors_an_empty_bucket_at_eps():
    # canary has nothing in bucket 1: its share counts as eps = 1e-4
    result = psi(Histogram(0.01, {0: 50, 1: 50}), Histogram(0.01, {0: 100}), eps=1e-4)
    assert result.value == pytest.approx((1 - 0.5) * math.log(1 / 0.5) + (1e-4 - 0.5) * math.log(1e-4 / 0.5))
    assert result.label == "significant"


def test_psi_quantile_bins_merge_buckets_at_the_baseline_deciles():
    # baseline: 10 per bucket over 0..9, so 5 bins = buckets {0,1} {2,3} ... {8,9}; canary piles into 8-9
    baseline = Histogram(0.01, dict.fromkeys(range(10), 10))
    canary = Histogram(0.01, {0: 10, 3: 10, 5: 10, 8: 30, 9: 40})
    merged_a = Histogram(0.01, dict.fromkeys(range(5), 20))
    merged_b = Histogram(0.01, {0: 10, 1: 10, 2: 10, 4: 70})
    assert psi(baseline, canary, bins=5) == psi(merged_a, merged_b)


@pytest.mark.parametrize(("value", "label"), [(0.0999, "none"), (0.1, "moderate"), (0.2499, "moderate"),
                                              (0.25, "significant")])
def test_psi_labels_at_their_edges(value, label):
    assert psi_label(value) == label


# -- Mann-Whitney U and Hodges-Lehmann --------------------------------------------------------------


@pytest.mark.parametrize(("m", "n", "shift"), CASES)
def test_mann_whitney_matches_scipy_asymptotic_with_continuity(m, n, shift):
    a, b = pair(m, n, shift)
    ours = mann_whitney(a, b)
    theirs = stats.mannwhitneyu(expand(b), expand(a), method="asymptotic", use_continuity=True)
    assert ours.u == theirs.statistic
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)


def test_mann_whitney_with_everything_in_one_bucket_finds_nothing():
    result = mann_whitney(Histogram(0.01, {50: 10}), Histogram(0.01, {50: 7}))
    assert (result.u, result.p_value, result.shift, result.ci) == (35.0, 1.0, 0.0, (0.0, 0.0))


def brute_force_hl(a: Histogram, b: Histogram, alpha: float = 0.05) -> tuple[float, tuple[float, float]]:
    """Every pairwise difference b - a, sorted; the interval's ranks from the normal approximation."""
    diffs = np.sort(np.subtract.outer(expand(b), expand(a)).ravel())
    m, n = a.n, b.n
    c = max(1, math.floor(m * n / 2 - stats.norm.ppf(1 - alpha / 2) * math.sqrt(m * n * (m + n + 1) / 12)))
    return float(np.median(diffs)), (float(diffs[c - 1]), float(diffs[m * n - c]))


@pytest.mark.parametrize(("m", "n", "shift"), [*CASES, (51, 77, -0.04)])  # 51 * 77 pairs: an odd count
def test_hodges_lehmann_from_convolved_counts_equals_all_pairwise_differences(m, n, shift):
    a, b = pair(m, n, shift)
    shift_, (low, high) = hodges_lehmann(a, b)
    expected_shift, (expected_low, expected_high) = brute_force_hl(a, b)
    assert shift_ == pytest.approx(expected_shift, abs=1e-12)
    assert (low, high) == (pytest.approx(expected_low, abs=1e-12), pytest.approx(expected_high, abs=1e-12))


def test_hodges_lehmann_by_hand():
    # a = {0, 1}, b = {2, 3} at width 1: differences 2, 1, 3, 2 -> median 2
    shift, _ = hodges_lehmann(Histogram(1, {0: 1, 1: 1}), Histogram(1, {2: 1, 3: 1}))
    assert shift == 2.0


def test_hodges_lehmann_over_a_wide_sparse_range_skips_the_dense_convolution():
    # a far outlier would make a dense convolution 3 million buckets long; the answer must not change
    a = Histogram(1, {0: 20, 5: 10, 3_000_000: 1})
    b = Histogram(1, {2: 15, 7: 12, 2_999_999: 2})
    shift, ci = hodges_lehmann(a, b)
    assert (shift, ci) == brute_force_hl(a, b)


@pytest.mark.parametrize(("ci", "verdict"), [((0.03, 0.05), Verdict.HIGH), ((-0.05, -0.03), Verdict.LOW),
                                             ((0.01, 0.05), Verdict.PASS), ((-0.05, 0.05), Verdict.PASS),
                                             ((0.02, 0.05), Verdict.PASS), ((-0.05, -0.02), Verdict.PASS)])
def test_a_shift_counts_only_when_its_whole_interval_clears_the_tolerance(ci, verdict):
    assert shift_verdict(MannWhitney(0.0, 0.001, sum(ci) / 2, ci, 0.05), 0.02) is verdict


# -- compare_distributions --------------------------------------------------------------------------


def test_49_observations_are_insufficient_data_not_a_pass():
    a, b = Histogram(0.01, {70: 49}), Histogram(0.01, {70: 200})
    result = compare_distributions(a, b, min_n=50)
    assert result.verdict is Verdict.INSUFFICIENT_DATA
    assert (result.n_baseline, result.n_canary, result.mean_baseline) == (49, 200, 0.7)
    assert result.ks is None and result.mann_whitney is None and result.p_value is None
    assert "49" in result.reason and "50" in result.reason


def test_50_observations_are_judged():
    result = compare_distributions(Histogram(0.01, {70: 50}), Histogram(0.01, {70: 50}), min_n=50)
    assert result.verdict is Verdict.PASS
    assert result.ks.statistic == 0.0 and result.wasserstein == 0.0


def test_an_empty_side_is_insufficient_even_with_min_n_zero():
    result = compare_distributions(Histogram(0.01, {}), Histogram(0.01, {70: 5}), min_n=0)
    assert result.verdict is Verdict.INSUFFICIENT_DATA
    assert result.mean_baseline is None


def test_a_clear_drop_in_confidence_is_low_with_every_figure():
    baseline, canary = pair(400, 300, -0.08)
    result = compare_distributions(baseline, canary, tolerance=0.02)
    assert result.verdict is Verdict.LOW
    assert result.ci[1] < -0.02
    assert result.delta == result.mann_whitney.shift and result.p_value < 1e-6
    assert result.ks.p_value < 1e-6 and result.psi.label == "significant"
    metric = result.as_metric("auto_send_confidence", harmful="decrease")
    assert (metric.verdict, metric.n_baseline, metric.n_canary, metric.threshold) == (Verdict.LOW, 400, 300, 0.02)
    assert metric.measured == result.mean_canary and not metric.passed
    assert "\n" not in result.reason


def test_a_shift_inside_the_tolerance_passes():
    baseline, canary = pair(3000, 3000, 0.01, seed=3)
    result = compare_distributions(baseline, canary, tolerance=0.02)
    assert result.mann_whitney.p_value < 0.05  # real, but small
    assert result.verdict is Verdict.PASS
