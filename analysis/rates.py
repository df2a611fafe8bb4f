"""Rates and means from sufficient statistics: intervals, tests, and difference-in-differences.

A rate is (successes, trials); a mean is (n, sum, sum of squares). Both are additive, so per-day
summaries and live edge aggregates combine by summing before anything here runs. A verdict needs
both significance at alpha and an interval wholly beyond +/- tolerance; too few trials is
INSUFFICIENT_DATA and no test is run. Missing is not zero: no trials gives a value of None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from analysis.verdicts import MetricVerdict, Verdict

Z_TEST = "two-proportion z-test"
FISHER = "Fisher's exact test"


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


@dataclass(frozen=True)
class Rate:
    successes: int
    trials: int

    def __post_init__(self) -> None:
        if not 0 <= self.successes <= self.trials:
            raise ValueError(f"need 0 <= successes <= trials, got {self.successes}/{self.trials}")

    @property
    def value(self) -> float | None:
        """None when there were no trials: missing is not zero."""
        return self.successes / self.trials if self.trials else None

    def wilson(self, alpha: float = 0.05) -> tuple[float, float] | None:
        """Wilson score interval at level 1 - alpha; None without trials."""
        if not self.trials:
            return None
        n, p, z = self.trials, self.successes / self.trials, _z(alpha)
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def __str__(self) -> str:
        return f"{self.successes}/{self.trials}" + ("" if self.value is None else f" ({self.value:.1%})")


def _verdict(diff: float, ci: tuple[float, float], p_value: float, alpha: float, tolerance: float) -> Verdict:
    if p_value >= alpha:
        return Verdict.PASS
    if ci[0] > tolerance:
        return Verdict.HIGH
    return Verdict.LOW if ci[1] < -tolerance else Verdict.PASS


def _two_sided(diff: float, se: float) -> float:
    if se == 0:
        return 1.0 if diff == 0 else 0.0
    return float(2 * stats.norm.sf(abs(diff) / se))


@dataclass(frozen=True)
class RateDelta:
    before: Rate
    after: Rate
    diff: float | None  # after - before; None when either side has no trials
    ci: tuple[float, float] | None  # Newcombe's hybrid score interval; None when not tested
    p_value: float | None
    test: str | None  # which test gave the p-value
    tolerance: float
    verdict: Verdict
    reason: str

    def as_metric(self, metric: str, *, critical: bool = False, harmful: str = "either") -> MetricVerdict:
        return MetricVerdict(metric, self.verdict, self.after.value, self.before.value, self.diff, self.ci,
                             self.p_value, self.tolerance, critical, self.reason, self.before.trials,
                             self.after.trials, harmful)


def _too_little(n: tuple[int, ...], min_n: int) -> str | None:
    if min(n) >= max(min_n, 1):
        return None
    return f"too little data: {' and '.join(map(str, n))} trials, {min_n} needed on each side"


def newcombe(before: Rate, after: Rate, alpha: float = 0.05) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for after - before, from the two Wilson intervals."""
    p1, p2 = before.value, after.value
    (l1, u1), (l2, u2) = before.wilson(alpha), after.wilson(alpha)
    diff = p2 - p1
    return diff - math.hypot(p2 - l2, u1 - p1), diff + math.hypot(u2 - p2, p1 - l1)


def two_proportion_p(before: Rate, after: Rate) -> tuple[float, str]:
    """Pooled two-proportion z-test; Fisher's exact test when any expected cell count is under 5."""
    total, hits = before.trials + after.trials, before.successes + after.successes
    expected = [r.trials * c / total for r in (before, after) for c in (hits, total - hits)]
    if min(expected) < 5:
        table = [[r.successes, r.trials - r.successes] for r in (before, after)]
        return float(stats.fisher_exact(table).pvalue), FISHER
    pooled = hits / total
    se = math.sqrt(pooled * (1 - pooled) * (1 / before.trials + 1 / after.trials))
    return _two_sided(after.value - before.value, se), Z_TEST


def compare_rates(before: Rate, after: Rate, *, min_n: int = 150, alpha: float = 0.05,
                  tolerance: float = 0.0) -> RateDelta:
    """after vs before: HIGH/LOW when p < alpha and the interval lies wholly beyond +/- tolerance."""
    diff = None if before.value is None or after.value is None else after.value - before.value
    thin = _too_little((before.trials, after.trials), min_n)
    if thin:
        return RateDelta(before, after, diff, None, None, None, tolerance, Verdict.INSUFFICIENT_DATA, thin)
    ci = newcombe(before, after, alpha)
    p_value, test = two_proportion_p(before, after)
    verdict = _verdict(diff, ci, p_value, alpha, tolerance)
    reason = (f"{after} vs {before} before; {diff:+.2%} [{ci[0]:+.2%}, {ci[1]:+.2%}], {test} p={p_value:.3g}"
              f" -> {verdict} at tolerance {tolerance:g}")
    return RateDelta(before, after, diff, ci, p_value, test, tolerance, verdict, reason)


@dataclass(frozen=True)
class Moments:
    """Sufficient statistics of a mean: count, sum and sum of squares (all additive)."""

    n: int
    total: float
    total_sq: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def var(self) -> float | None:
        """Sample variance (n - 1); None below two observations. Clamped at 0 against rounding."""
        if self.n < 2:
            return None
        return max(0.0, (self.total_sq - self.total * self.total / self.n) / (self.n - 1))

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)


@dataclass(frozen=True)
class DiffInDiff:
    """(canary after - canary before) - (others after - others before), normal approximation."""

    canary_before: float | None
    canary_after: float | None
    canary_change: float | None
    others_change: float | None
    diff: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    test: str | None
    tolerance: float
    verdict: Verdict
    reason: str
    n: tuple[int, int, int, int]  # canary before, canary after, others before, others after

    def as_metric(self, metric: str, *, critical: bool = False, harmful: str = "either") -> MetricVerdict:
        return MetricVerdict(metric, self.verdict, self.canary_after, self.canary_before, self.diff, self.ci,
                             self.p_value, self.tolerance, critical, self.reason, self.n[0], self.n[1], harmful)


def _did(values: list[float | None], variances: list[float | None], n: tuple[int, int, int, int], *,
         min_n: int, alpha: float, tolerance: float, what: str) -> DiffInDiff:
    cb, ca, ob, oa = values
    canary = None if cb is None or ca is None else ca - cb
    others = None if ob is None or oa is None else oa - ob
    diff = None if canary is None or others is None else canary - others
    thin = _too_little(n, min_n) or (None if all(v is not None for v in variances) else "too little data: "
                                     "a side has too few observations for a variance")
    if thin:
        return DiffInDiff(cb, ca, canary, others, diff, None, None, None, tolerance, Verdict.INSUFFICIENT_DATA,
                          thin, n)
    se = math.sqrt(sum(v / k for v, k in zip(variances, n, strict=True)))
    ci = (diff - _z(alpha) * se, diff + _z(alpha) * se)
    p_value = _two_sided(diff, se)
    verdict = _verdict(diff, ci, p_value, alpha, tolerance)
    reason = (f"canary {what} {canary:+.4g} (n {n[0]}->{n[1]}) minus others {others:+.4g} (n {n[2]}->{n[3]}) = "
              f"{diff:+.4g} [{ci[0]:+.4g}, {ci[1]:+.4g}], p={p_value:.3g} -> {verdict} at tolerance {tolerance:g}")
    return DiffInDiff(cb, ca, canary, others, diff, ci, p_value, "difference-in-differences z-test", tolerance,
                      verdict, reason, n)


def diff_in_diff(canary_before: Rate, canary_after: Rate, others_before: Rate, others_after: Rate, *,
                 min_n: int = 150, alpha: float = 0.05, tolerance: float = 0.0) -> DiffInDiff:
    """Rate change of the canary beyond the other workspaces' change over the same period; the
    variance is the sum of the four binomial variances p(1-p)/n, so a platform-wide change cancels."""
    rates = (canary_before, canary_after, others_before, others_after)
    values = [r.value for r in rates]
    variances = [None if v is None else v * (1 - v) for v in values]
    return _did(values, variances, tuple(r.trials for r in rates), min_n=min_n, alpha=alpha,
                tolerance=tolerance, what="rate change")


def diff_in_diff_means(canary_before: Moments, canary_after: Moments, others_before: Moments,
                       others_after: Moments, *, min_n: int = 50, alpha: float = 0.05,
                       tolerance: float = 0.0) -> DiffInDiff:
    """The same for means from (n, sum, sum of squares): variance = sum of the four var/n."""
    sides = (canary_before, canary_after, others_before, others_after)
    return _did([m.mean for m in sides], [m.var for m in sides], tuple(m.n for m in sides), min_n=min_n,
                alpha=alpha, tolerance=tolerance, what="mean change")
