"""Is a change more than noise (analysis/significance), and the tiles' delta colour that follows from it.

Checked against independent computations: the two-proportion z-test is the uncorrected chi-square
test of the 2x2 table; Fisher's exact test from scipy on the same table; the conditional test of two
Poisson counts summed by hand from binomial probabilities.
"""

from __future__ import annotations

from math import comb

import pytest
from scipy import stats

from analysis.health import RULES
from analysis.significance import count_change, judge_window_change, rate_change
from ui.tiles import Tile, delta_colour


def test_rate_change_large_counts_is_the_chi_square_test():
    tested = rate_change(120, 400, 80, 400)  # 30% now, 20% before
    assert tested.diff == pytest.approx(0.10)
    assert tested.test == "two-proportion z-test"
    assert tested.p_value == pytest.approx(stats.chi2_contingency([[120, 280], [80, 320]], correction=False).pvalue)
    assert tested.significant


def test_rate_change_small_counts_is_fishers_exact_test():
    tested = rate_change(3, 20, 1, 20)
    assert tested.test == "Fisher's exact test"
    assert tested.p_value == pytest.approx(stats.fisher_exact([[3, 17], [1, 19]]).pvalue)
    assert not tested.significant


def test_a_rate_without_trials_is_not_tested():
    assert rate_change(0, 0, 3, 10).p_value is None
    assert not rate_change(0, 0, 3, 10).significant


def two_sided_conditional_p(now: int, before: int) -> float:
    """Sum of Binomial(n, 1/2) probabilities no larger than the observed one (by hand)."""
    n = now + before
    pmf = [comb(n, k) / 2**n for k in range(n + 1)]
    return min(1.0, sum(p for p in pmf if p <= pmf[now] * (1 + 1e-7)))


@pytest.mark.parametrize(("now", "before"), [(30, 10), (12, 9), (0, 6), (5, 5)])
def test_count_change_is_the_conditional_binomial_test(now, before):
    tested = count_change(now, before)
    assert tested.diff == now - before
    assert tested.p_value == pytest.approx(two_sided_conditional_p(now, before))
    assert tested.significant == (two_sided_conditional_p(now, before) < 0.05 and now != before)


def test_no_change_is_never_significant():
    assert count_change(0, 0).p_value == 1.0 and not count_change(0, 0).significant
    assert not count_change(7, 7).significant


@pytest.mark.parametrize(("tile", "colour"), [
    (Tile("Flagged pairs", 0, 0, higher_is_better=False), "off"),  # "+0" is not red
    (Tile("Flagged pairs", 12, 9, higher_is_better=False), "off"),  # p = 0.66: noise, grey
    (Tile("Flagged pairs", 30, 10, higher_is_better=False), "inverse"),  # p = 0.002: red (up is bad)
    (Tile("Bookings", 30, 10, higher_is_better=True), "normal"),  # green (up is good)
    (Tile("Decisions", 30, 10), "off"),  # neither good nor bad
    (Tile("Rate", 0.30, 0.20, kind="rate", higher_is_better=False, n=400, n_previous=400), "inverse"),
    (Tile("Rate", 0.15, 0.05, kind="rate", higher_is_better=False, n=20, n_previous=20), "off"),  # Fisher p 0.6
    (Tile("Rate", 0.20, 0.20, kind="rate", higher_is_better=False), "off"),
    (Tile("Rate", None, 0.20, kind="rate", higher_is_better=False), "off"),
])
def test_tile_delta_colour(tile, colour):
    assert delta_colour(tile) == colour


def test_window_change_thresholds_and_significance():
    rule = RULES["needs_review"]  # up is bad; 5 / 10 points; at least 20 each side
    assert judge_window_change(120, 400, 80, 400, rule).colour == "red"  # +10 points, p < 0.001
    p_amber = stats.chi2_contingency([[104, 296], [80, 320]], correction=False).pvalue
    hint = judge_window_change(104, 400, 80, 400, rule)  # +6 points
    assert (hint.colour, hint.reason) == ("orange", f"6.0 points worse than the previous window (p = {p_amber:.2g})")
    assert judge_window_change(3, 20, 1, 20, rule).colour == "green"  # +10 points but p = 0.6
    assert judge_window_change(60, 400, 80, 400, rule).colour == "green"  # better
    assert judge_window_change(3, 19, 1, 20, rule).reason == "too few to judge (19 < 20)"
    assert judge_window_change(0, 0, 1, 20, rule).reason == "no data in this window"
    mean = RULES["mean_confidence"]  # down is bad, 0.02 / 0.05, a mean: thresholds only
    assert judge_window_change(0.80 * 100, 100, 0.86 * 100, 100, mean, proportion=False).colour == "red"
