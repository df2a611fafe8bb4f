"""Always-valid intervals for the canary's rate and mean deltas, however often the page looks.

Why: the canary page and `canarywatch check --watch` re-evaluate every 45-60 s. A fixed-horizon 95%
interval checked at every refresh excludes 0 by chance far more often than 5% over a watch (about a
quarter of null canaries over 40 looks: bench/simulate_sequential.py). A confidence sequence holds at
every look at once: P(the true delta is outside the interval at ANY look) <= alpha, so a FAIL rule
"the interval excludes 0 (or lies beyond a tolerance)" keeps its false-FAIL chance over the whole
watch at alpha, whether the page refreshes 10 or 10 000 times.

Method: the asymptotic confidence sequence (AsympCS) of Waudby-Smith, Arnold, Wu, Ramdas & Lindon,
"Time-uniform central limit theory and asymptotic confidence sequences", Annals of Statistics (2024),
arXiv:2103.06476, with Robbins' two-sided normal-mixture boundary (Robbins 1970; Howard, Ramdas,
McAuliffe & Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence sequences", Annals of
Statistics 49(2), 2021). GrowthBook's sequential testing uses the same construction. For a delta
estimate D with estimated variance V, at a look where the clock (see below) reads n:

    D +/- sqrt(V) * m(n),    m(n)^2 = (1 + 1/(n rho^2)) * log((1 + n rho^2) / alpha^2)

(a fixed-horizon interval has m = z_{1-alpha/2} = 1.96 at alpha 0.05). Tuning: rho is chosen so the
boundary is narrowest when the clock reads `tightest_at` (Waudby-Smith et al.'s approximation,
rho^2 = (-2 log alpha + log(1 - 2 log alpha)) / tightest_at). The default, 300 canary after-split units,
is the size at which a canary decision is usually made (a few hundred drafts in 30-60 minutes); there
m = 3.03 at alpha 0.05, i.e. the interval is 1.55x the fixed-horizon one; at n = 30 it is 1.97x, at
n = 3000 1.65x. Any fixed tightest_at keeps the guarantee; it must be chosen before the watch, not
from the data.

The clock and the assumption the boundary needs. The sequential index is the canary's after-split
sample size n (after_trials, ca_n, after.n, ca.n). Each look must see every sample of the comparison
as a superset of what the previous look saw, all growing with the watch in roughly stable proportion:
the product's case, where canary-after and control-after are [split, now) and the baselines are the
equal-length windows [split - (now - split), split), so all four grow with the elapsed time. Then the
units, taken in the order the watch reveals them (after-split units forward in time, baseline units
backward), form one stream in which each unit lands in cell c (canary/control x before/after) with a
stable probability pi_c; D is asymptotically linear in the i.i.d. pseudo-outcomes
sum_c sign_c 1{unit in c} (y - mu_c) / pi_c, whose variance n V estimates (Waudby-Smith et al.,
section on randomised experiments; the plug-in of the observed shares is the Hajek form). That is a
one-sample mean to which the AsympCS applies with the clock n (a constant rescaling of the clock only
changes rho). Within a cell, units must be exchangeable over the window (no trend other than the
change being watched). A baseline that stays fixed while the canary grows is not the case this was
built for; bench/simulate_sequential.py measures it anyway.

Small samples: the guarantee is asymptotic, but early looks carry very wide boundaries (m = 5.9 at
n = 8), and a rate's variance uses the add-one-success-one-failure rate (s + 1) / (n + 2) so a cell
with 0 or all successes does not claim zero variance. The estimate itself is the plain difference of
observed rates or means, the same number a fixed-horizon compare shows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_TIGHTEST_AT = 300


@dataclass(frozen=True)
class Moments:
    """Sufficient statistics of a sample of numbers: count, sum and sum of squares (exact SQL sums)."""

    n: int
    total: float
    total_sq: float

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < 0:
            raise ValueError(f"Moments.n must be a non-negative integer, got {self.n!r}")
        if not (math.isfinite(self.total) and math.isfinite(self.total_sq)) or self.total_sq < 0:
            raise ValueError(f"Moments sums must be finite and total_sq >= 0, got {self.total!r}, {self.total_sq!r}")
        if self.n == 0 and (self.total != 0 or self.total_sq != 0):
            raise ValueError("Moments with n = 0 must have zero sums")

    @classmethod
    def from_values(cls, values: Iterable[float] | ArrayLike) -> Moments:
        x = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float).ravel()
        return cls(int(x.size), float(x.sum()), float(np.dot(x, x)))

    def __add__(self, other: Moments) -> Moments:
        """The moments of the two samples pooled (e.g. what one more look added)."""
        return Moments(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)

    @property
    def mean(self) -> float | None:
        return None if self.n == 0 else self.total / self.n

    @property
    def variance(self) -> float | None:
        """Sample variance (divisor n - 1); None below 2 values. Rounding can make it a hair below 0: clipped."""
        if self.n < 2:
            return None
        return max(0.0, (self.total_sq - self.total * self.total / self.n) / (self.n - 1))


@dataclass(frozen=True)
class SequentialInterval:
    """An always-valid (1 - alpha) interval for a delta at one look of a watch."""

    estimate: float
    lo: float
    hi: float
    alpha: float
    n: int  # the clock: the canary's after-split sample size
    method: str  # one line for the page and the packet
    std_error: float = math.nan  # sqrt of the estimated variance of the estimate

    def excludes(self, value: float = 0.0) -> bool:
        """True when value lies outside the interval (a delta of `value` is ruled out at this look)."""
        return value < self.lo or value > self.hi

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2


def mixture_rho(tightest_at: float = DEFAULT_TIGHTEST_AT, alpha: float = 0.05) -> float:
    """The normal-mixture rho whose boundary is (nearly) narrowest when the clock reads tightest_at."""
    _check_tuning(alpha, tightest_at)
    a = -2 * math.log(alpha)
    return math.sqrt((a + math.log(1 + a)) / tightest_at)


def boundary_multiplier(n: ArrayLike, *, alpha: float = 0.05, rho: float) -> np.ndarray:
    """m(n): the half-width of the confidence sequence in standard errors at clock n (vectorised)."""
    x = np.asarray(n, dtype=float) * rho * rho
    with np.errstate(divide="ignore"):
        return np.sqrt((1 + 1 / x) * np.log((1 + x) / (alpha * alpha)))


def rate_delta_cs(
    before_successes: int,
    before_trials: int,
    after_successes: int,
    after_trials: int,
    *,
    alpha: float = 0.05,
    tightest_at: float = DEFAULT_TIGHTEST_AT,
) -> SequentialInterval | None:
    """after rate - before rate; None when either side has no trials."""
    cells = [_rate_cell(before_successes, before_trials, "before"), _rate_cell(after_successes, after_trials, "after")]
    if any(c is None for c in cells):
        return None
    (p_b, v_b), (p_a, v_a) = cells
    return _interval(p_a - p_b, v_a + v_b, after_trials, alpha=alpha, tightest_at=tightest_at, what="rate delta")


def did_rate_cs(
    cb_s: int, cb_n: int, ca_s: int, ca_n: int, ob_s: int, ob_n: int, oa_s: int, oa_n: int,
    *,
    alpha: float = 0.05,
    tightest_at: float = DEFAULT_TIGHTEST_AT,
) -> SequentialInterval | None:
    """(canary after - canary before) - (control after - control before) of rates; None when a cell is empty."""
    cells = [_rate_cell(cb_s, cb_n, "canary before"), _rate_cell(ca_s, ca_n, "canary after"),
             _rate_cell(ob_s, ob_n, "control before"), _rate_cell(oa_s, oa_n, "control after")]
    if any(c is None for c in cells):
        return None
    (p_cb, v_cb), (p_ca, v_ca), (p_ob, v_ob), (p_oa, v_oa) = cells
    estimate = (p_ca - p_cb) - (p_oa - p_ob)
    return _interval(estimate, v_cb + v_ca + v_ob + v_oa, ca_n, alpha=alpha, tightest_at=tightest_at,
                     what="rate difference-in-differences")


def mean_delta_cs(
    before: Moments, after: Moments, *, alpha: float = 0.05, tightest_at: float = DEFAULT_TIGHTEST_AT
) -> SequentialInterval | None:
    """after mean - before mean (Welch's variance); None when either side has fewer than 2 values."""
    if before.n < 2 or after.n < 2:
        return None
    variance = before.variance / before.n + after.variance / after.n
    return _interval(after.mean - before.mean, variance, after.n, alpha=alpha, tightest_at=tightest_at,
                     what="mean delta")


def did_mean_cs(
    cb: Moments, ca: Moments, ob: Moments, oa: Moments,
    *,
    alpha: float = 0.05,
    tightest_at: float = DEFAULT_TIGHTEST_AT,
) -> SequentialInterval | None:
    """(canary after - canary before) - (control after - control before) of means; None below 2 values a cell."""
    cells = (cb, ca, ob, oa)
    if any(m.n < 2 for m in cells):
        return None
    estimate = (ca.mean - cb.mean) - (oa.mean - ob.mean)
    variance = sum(m.variance / m.n for m in cells)
    return _interval(estimate, variance, ca.n, alpha=alpha, tightest_at=tightest_at,
                     what="mean difference-in-differences")


def _rate_cell(successes: int, trials: int, side: str) -> tuple[float, float] | None:
    """(observed rate, variance of it) of one cell; None without trials. Bad counts raise ValueError."""
    for label, value in (("successes", successes), ("trials", trials)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"{side} {label} must be a non-negative integer, got {value!r}")
    if successes > trials:
        raise ValueError(f"{side} successes ({successes}) exceed its trials ({trials})")
    if trials == 0:
        return None
    shrunk = (successes + 1) / (trials + 2)
    return successes / trials, shrunk * (1 - shrunk) / trials


def _interval(estimate: float, variance: float, clock: int, *, alpha: float, tightest_at: float,
              what: str) -> SequentialInterval:
    rho = mixture_rho(tightest_at, alpha)
    se = math.sqrt(variance)
    half = se * float(boundary_multiplier(clock, alpha=alpha, rho=rho))
    method = (f"{what}: asymptotic confidence sequence (normal mixture, rho={rho:.4g}, "
              f"narrowest at n={tightest_at:g})")
    return SequentialInterval(float(estimate), float(estimate - half), float(estimate + half), alpha, int(clock),
                              method, se)


def _check_tuning(alpha: float, tightest_at: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    if not tightest_at > 0 or not math.isfinite(tightest_at):
        raise ValueError(f"tightest_at must be a positive sample size, got {tightest_at!r}")
