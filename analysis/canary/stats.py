"""Statistics for a canary verdict, over sufficient statistics (counts and bucket histograms).

Rates: Wilson intervals, a two-proportion z-test (Fisher's exact test when an expected cell is under
5), a Newcombe interval for the difference, and difference-in-differences against the other
workspaces so a platform-wide change is not blamed on the canary. Distributions (from the 0.01
confidence histograms): Kolmogorov-Smirnov, Wasserstein, PSI and Mann-Whitney U with the
Hodges-Lehmann shift and its distribution-free interval. Too little data is its own verdict,
INSUFFICIENT_DATA, never a pass; missing is not zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy import stats

Z95 = stats.norm.ppf(0.975)


class Verdict(StrEnum):
    PASS = "PASS"
    HIGH = "HIGH"
    LOW = "LOW"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@dataclass(frozen=True)
class Rate:
    successes: int
    trials: int

    @property
    def value(self) -> float | None:
        return None if self.trials == 0 else self.successes / self.trials

    def wilson(self, z: float = Z95) -> tuple[float, float] | None:
        if self.trials == 0:
            return None
        n, p = self.trials, self.successes / self.trials
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return centre - half, centre + half


@dataclass(frozen=True)
class RateTest:
    diff: float
    ci: tuple[float, float]
    p_value: float
    test: str  # which test gave the p-value


def compare_two_rates(before: Rate, after: Rate) -> RateTest:
    """after - before, Newcombe's hybrid score interval, z-test or Fisher's exact test."""
    p1, p2 = before.value, after.value
    if p1 is None or p2 is None:
        raise ValueError("both rates need trials")
    l1, u1 = before.wilson()
    l2, u2 = after.wilson()
    diff = p2 - p1
    ci = (diff - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), diff + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2))
    table = [[after.successes, after.trials - after.successes], [before.successes, before.trials - before.successes]]
    total = before.trials + after.trials
    hits = before.successes + after.successes
    expected = [r * c / total for r in (after.trials, before.trials) for c in (hits, total - hits)]
    if min(expected) < 5:
        return RateTest(diff, ci, float(stats.fisher_exact(table).pvalue), "Fisher's exact test")
    pooled = hits / total
    se = math.sqrt(pooled * (1 - pooled) * (1 / before.trials + 1 / after.trials))
    p_value = 1.0 if se == 0 else float(2 * stats.norm.sf(abs(diff) / se))
    return RateTest(diff, ci, p_value, "two-proportion z-test")


def diff_in_diff(canary_before: Rate, canary_after: Rate, others_before: Rate, others_after: Rate) -> RateTest:
    """(canary change) - (others' change), its interval and p-value from the four binomial variances."""
    values = [r.value for r in (canary_before, canary_after, others_before, others_after)]
    if any(v is None for v in values):
        raise ValueError("all four rates need trials")
    cb, ca, ob, oa = values
    diff = (ca - cb) - (oa - ob)
    var = sum(v * (1 - v) / r.trials for v, r in zip(values, (canary_before, canary_after, others_before,
                                                                 others_after), strict=True))
    se = math.sqrt(var)
    p_value = 1.0 if se == 0 else float(2 * stats.norm.sf(abs(diff) / se))
    return RateTest(diff, (diff - Z95 * se, diff + Z95 * se), p_value, "difference-in-differences z-test")


# -- means from exact sums -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sums:
    """n, the sum and the sum of squares of one side: a mean and its variance, exactly."""

    n: int
    total: float
    total_sq: float

    @property
    def mean(self) -> float | None:
        return None if self.n == 0 else self.total / self.n

    @property
    def variance_of_mean(self) -> float:
        """Sample variance / n (0 below two observations)."""
        if self.n < 2:
            return 0.0
        var = max(self.total_sq - self.total * self.total / self.n, 0.0) / (self.n - 1)
        return var / self.n


def _normal_test(diff: float, var: float, name: str) -> RateTest:
    se = math.sqrt(var)
    p_value = 1.0 if se == 0 else float(2 * stats.norm.sf(abs(diff) / se))
    return RateTest(diff, (diff - Z95 * se, diff + Z95 * se), p_value, name)


def mean_delta(before: Sums, after: Sums) -> RateTest:
    """after - before of the means, Welch's normal interval (large samples)."""
    if before.mean is None or after.mean is None:
        raise ValueError("both sides need observations")
    return _normal_test(after.mean - before.mean, before.variance_of_mean + after.variance_of_mean, "Welch z-test")


def mean_diff_in_diff(canary_before: Sums, canary_after: Sums, others_before: Sums, others_after: Sums) -> RateTest:
    """(canary change) - (control change) of the means, from the four exact sums."""
    sides = (canary_before, canary_after, others_before, others_after)
    if any(s.mean is None for s in sides):
        raise ValueError("all four sides need observations")
    diff = (canary_after.mean - canary_before.mean) - (others_after.mean - others_before.mean)
    return _normal_test(diff, sum(s.variance_of_mean for s in sides), "difference-in-differences z-test")


# -- distributions from histograms -----------------------------------------------------------------


def expand(histogram: Mapping[int, int], width: float) -> np.ndarray:
    keys = sorted(histogram)
    return np.repeat(np.array(keys, dtype=float) * width, [histogram[k] for k in keys])


@dataclass(frozen=True)
class DistributionTest:
    n_baseline: int
    n_canary: int
    mean_baseline: float
    mean_canary: float
    ks_statistic: float
    ks_p_value: float
    wasserstein: float
    psi: float
    mw_u: float
    mw_p_value: float
    hl_shift: float
    hl_ci: tuple[float, float]


def _weighted_quantile_index(cumulative: np.ndarray, rank: float) -> int:
    """Index of the value holding the `rank`-th (1-based) order statistic."""
    return int(np.searchsorted(cumulative, rank, side="left"))


def hodges_lehmann(a: Mapping[int, int], b: Mapping[int, int], width: float, *,
                   interpolate: bool = False) -> tuple[float, tuple[float, float]]:
    """Median of all pairwise differences b - a, from the histograms (a convolution of the counts), with
    the distribution-free interval at the normal-approximation critical rank.

    interpolate=False treats each bucket as one value (exact when the data has the bucket's precision).
    interpolate=True treats the values as spread evenly within their buckets, so a pairwise difference
    counted in difference-bucket d lies evenly in [(d - 1/2) w, (d + 1/2) w): the order statistics are
    read off the linearly interpolated cumulative count. Confidences are stored finer than 0.01, so
    this is what the evidence packet uses: the shift is not rounded to the bucket and its interval does
    not collapse to [0, 0] when most pairs share a bucket."""
    lo_a, lo_b = min(a), min(b)
    ca = np.zeros(max(a) - lo_a + 1)
    cb = np.zeros(max(b) - lo_b + 1)
    for k, v in a.items():
        ca[k - lo_a] += v
    for k, v in b.items():
        cb[k - lo_b] += v
    counts = np.convolve(cb, ca[::-1])  # differences (b - a) in bucket units, from lo_b - max(a)
    offset = lo_b - max(a)
    cumulative = np.cumsum(counts)
    n1, n2 = int(ca.sum()), int(cb.sum())
    total = n1 * n2

    def diff_at(rank: float) -> float:
        index = _weighted_quantile_index(cumulative, rank)
        if not interpolate:
            return (offset + index) * width
        below = cumulative[index - 1] if index else 0.0
        within = (rank - 0.5 - below) / counts[index]  # the rank's position inside its bucket, 0..1
        return (offset + index - 0.5 + min(max(within, 0.0), 1.0)) * width

    shift = diff_at((total + 1) / 2) if total % 2 else (diff_at(total / 2) + diff_at(total / 2 + 1)) / 2
    c = max(1, math.floor(total / 2 - Z95 * math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)))
    return shift, (diff_at(c), diff_at(total - c + 1))


def psi(a: Mapping[int, int], b: Mapping[int, int], *, group: int = 5, eps: float = 1e-4) -> float:
    """Population stability index over coarser buckets (0.05 from 0.01 by default)."""
    na, nb = sum(a.values()), sum(b.values())
    keys = {k // group for k in (*a, *b)}
    total = 0.0
    for key in keys:
        pa = max(sum(v for k, v in a.items() if k // group == key) / na, eps)
        pb = max(sum(v for k, v in b.items() if k // group == key) / nb, eps)
        total += (pb - pa) * math.log(pb / pa)
    return total


def compare_histograms(baseline: Mapping[int, int], canary: Mapping[int, int], width: float) -> DistributionTest:
    x, y = expand(baseline, width), expand(canary, width)
    ks = stats.ks_2samp(x, y, method="asymp")
    mw = stats.mannwhitneyu(y, x, alternative="two-sided", method="asymptotic", use_continuity=True)
    shift, ci = hodges_lehmann(baseline, canary, width, interpolate=True)
    return DistributionTest(len(x), len(y), float(x.mean()), float(y.mean()), float(ks.statistic),
                            float(ks.pvalue), float(stats.wasserstein_distance(x, y)), psi(baseline, canary),
                            float(mw.statistic), float(mw.pvalue), shift, ci)


def holm(p_values: Mapping[str, float | None], alpha: float = 0.05) -> dict[str, bool]:
    """Holm's step-down: which hypotheses are rejected at family-wise level alpha (None: not tested)."""
    tested = sorted(((p, k) for k, p in p_values.items() if p is not None), key=lambda t: (t[0], t[1]))
    rejected = {k: False for k in p_values}
    m = len(tested)
    for i, (p, key) in enumerate(tested):
        if p > alpha / (m - i):
            break
        rejected[key] = True
    return rejected
