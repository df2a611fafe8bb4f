"""Rates and means from sufficient statistics, checked by hand, against published values and scipy."""

import math

import numpy as np
import pytest
from scipy import stats

from analysis.rates import (
    FISHER,
    Z_TEST,
    Moments,
    Rate,
    compare_rates,
    diff_in_diff,
    diff_in_diff_means,
    newcombe,
)
from analysis.verdicts import Verdict

Z = 1.959963984540054  # the 97.5% normal quantile


def test_wilson_interval_for_8_of_20_by_hand():
    # p = .4, z^2 = 3.8415: centre = (.4 + z^2/40) / (1 + z^2/20) = .49604 / 1.19207 = .41611
    # half = z * sqrt(.4*.6/20 + z^2/1600) / 1.19207 = 1.95996 * .12000 / 1.19207 = .19732
    low, high = Rate(8, 20).wilson(0.05)
    assert (round(low, 4), round(high, 4)) == (0.2188, 0.6134)


def test_wilson_interval_for_no_successes_starts_at_zero():
    low, high = Rate(0, 50).wilson()
    assert low == pytest.approx(0.0, abs=1e-15)
    assert high == pytest.approx(Z**2 / (50 + Z**2))  # p = 0: upper bound z^2 / (n + z^2)


def test_zero_trials_is_missing_not_zero():
    assert Rate(0, 0).value is None
    assert Rate(0, 0).wilson() is None


def test_more_successes_than_trials_is_refused():
    with pytest.raises(ValueError):
        Rate(3, 2)


def test_newcombe_interval_matches_the_published_example():
    # Newcombe (1998), Stat Med 17:873, example (a): 56/70 vs 48/80, method 10 gives 0.0524 to 0.3339
    low, high = newcombe(Rate(48, 80), Rate(56, 70))
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_149_trials_are_insufficient_data_with_the_denominators_kept():
    result = compare_rates(Rate(10, 149), Rate(90, 150), min_n=150)
    assert result.verdict is Verdict.INSUFFICIENT_DATA
    assert result.p_value is None and result.ci is None and result.test is None
    assert result.diff == pytest.approx(90 / 150 - 10 / 149)
    assert (result.before.trials, result.after.trials) == (149, 150)
    assert "149" in result.reason


def test_150_trials_are_judged():
    assert compare_rates(Rate(15, 150), Rate(15, 150), min_n=150).verdict is Verdict.PASS


def test_no_trials_after_is_insufficient_and_has_no_difference():
    result = compare_rates(Rate(20, 200), Rate(0, 0))
    assert (result.verdict, result.diff) == (Verdict.INSUFFICIENT_DATA, None)


def test_z_test_p_value_equals_the_uncorrected_chi_square_test():
    before, after = Rate(30, 300), Rate(52, 300)
    result = compare_rates(before, after)
    chi2 = stats.chi2_contingency([[30, 270], [52, 248]], correction=False)
    assert result.test == Z_TEST
    assert result.p_value == pytest.approx(chi2.pvalue, rel=1e-9)
    assert result.verdict is Verdict.HIGH
    assert result.diff == pytest.approx(22 / 300)


def test_small_expected_counts_use_fishers_exact_test():
    # 7 successes in 400 trials: expected successes per side 7 * 200 / 400 = 3.5 < 5
    result = compare_rates(Rate(1, 200), Rate(6, 200))
    assert result.test == FISHER
    assert result.p_value == pytest.approx(stats.fisher_exact([[1, 199], [6, 194]]).pvalue)


def test_a_fall_is_low_and_the_tolerance_can_absorb_it():
    before, after = Rate(60, 300), Rate(30, 300)
    result = compare_rates(before, after)
    assert result.verdict is Verdict.LOW and result.ci[1] < 0
    # the whole interval must lie below -tolerance: a tolerance past its upper end passes
    assert compare_rates(before, after, tolerance=-result.ci[1] + 1e-9).verdict is Verdict.PASS
    assert compare_rates(before, after, tolerance=-result.ci[1] - 1e-9).verdict is Verdict.LOW


def test_rate_delta_becomes_a_metric_row():
    metric = compare_rates(Rate(30, 300), Rate(52, 300)).as_metric("needs_review_rate", critical=True,
                                                                  harmful="increase")
    assert (metric.measured, metric.baseline, metric.n_baseline, metric.n_canary) == (52 / 300, 0.1, 300, 300)
    assert metric.critical and metric.passed is False


# -- difference-in-differences ----------------------------------------------------------------------


def test_a_platform_wide_rise_is_not_blamed_on_the_canary():
    # canary 10% -> 20%, others 10% -> 20%: (0.2 - 0.1) - (0.2 - 0.1) = 0
    cb, ca, ob, oa = Rate(20, 200), Rate(40, 200), Rate(200, 2000), Rate(400, 2000)
    assert compare_rates(cb, ca).verdict is Verdict.HIGH  # alone, the canary looks worse
    result = diff_in_diff(cb, ca, ob, oa)
    assert result.diff == pytest.approx(0.0, abs=1e-15)
    assert result.verdict is Verdict.PASS and result.p_value == pytest.approx(1.0)
    # se = sqrt(.1*.9/200 + .2*.8/200 + .1*.9/2000 + .2*.8/2000) = sqrt(.00125 + .000125) = .037081
    se = math.sqrt(0.09 / 200 + 0.16 / 200 + 0.09 / 2000 + 0.16 / 2000)
    assert result.ci == (pytest.approx(-Z * se), pytest.approx(Z * se))
    assert (result.canary_change, result.others_change) == (pytest.approx(0.1), pytest.approx(0.1))


def test_a_canary_only_rise_is_high_against_the_others():
    result = diff_in_diff(Rate(20, 200), Rate(50, 200), Rate(200, 2000), Rate(210, 2000))
    # (0.25 - 0.10) - (0.105 - 0.10) = 0.145
    assert result.diff == pytest.approx(0.145)
    se = math.sqrt(0.1 * 0.9 / 200 + 0.25 * 0.75 / 200 + 0.1 * 0.9 / 2000 + 0.105 * 0.895 / 2000)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(0.145 / se))
    assert result.verdict is Verdict.HIGH
    assert result.as_metric("needs_review_rate").delta == pytest.approx(0.145)


def test_diff_in_diff_needs_enough_trials_on_all_four_sides():
    result = diff_in_diff(Rate(20, 200), Rate(50, 200), Rate(10, 149), Rate(20, 2000))
    assert result.verdict is Verdict.INSUFFICIENT_DATA and result.ci is None
    assert result.n == (200, 200, 149, 2000)


def test_moments_give_mean_and_sample_variance_of_the_raw_values():
    values = np.array([0.2, 0.5, 0.5, 0.9, 1.4])
    m = Moments(len(values), float(values.sum()), float((values**2).sum()))
    assert m.mean == pytest.approx(values.mean())
    assert m.var == pytest.approx(values.var(ddof=1))
    assert (m + Moments(0, 0.0, 0.0)) == m


def test_moments_without_data_are_missing_not_zero():
    assert Moments(0, 0.0, 0.0).mean is None
    assert Moments(1, 3.0, 9.0).var is None


def test_diff_in_diff_of_means_sums_the_four_variances():
    rng = np.random.default_rng(5)
    raw = [rng.normal(mu, 1.0, size) for mu, size in ((3.0, 80), (3.6, 90), (3.0, 400), (3.1, 420))]
    sides = [Moments(len(x), float(x.sum()), float((x**2).sum())) for x in raw]
    result = diff_in_diff_means(*sides)
    expected = (raw[1].mean() - raw[0].mean()) - (raw[3].mean() - raw[2].mean())
    se = math.sqrt(sum(x.var(ddof=1) / len(x) for x in raw))
    assert result.diff == pytest.approx(expected)
    assert result.ci == (pytest.approx(expected - Z * se), pytest.approx(expected + Z * se))
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(expected) / se))
    assert result.verdict is Verdict.HIGH


def test_diff_in_diff_of_means_with_49_observations_is_insufficient():
    side = Moments(100, 300.0, 1000.0)
    assert diff_in_diff_means(Moments(49, 150.0, 500.0), side, side, side).verdict is Verdict.INSUFFICIENT_DATA
