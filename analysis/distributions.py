"""Two distributions compared from their SQL histograms (bucket index -> count at a known width).

The buckets are the stored precision (0.01 or 0.001), so every statistic here is exact for the data as
stored: KS from the cumulative counts, Wasserstein from values and weights, Mann-Whitney from midranks
of grouped counts, Hodges-Lehmann from a convolution of the counts. Nothing is expanded to raw rows.
Too little data is INSUFFICIENT_DATA, never a pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.verdicts import MetricVerdict, Verdict


@dataclass(frozen=True)
class Histogram:
    """Counts per bucket index; a bucket's value is index * width (index / (1/width) when that is whole)."""

    width: float
    counts: dict[int, int]

    def __post_init__(self) -> None:
        if not self.width > 0:
            raise ValueError(f"bucket width must be positive, got {self.width}")
        object.__setattr__(self, "counts", _clean_counts(self.counts))

    def __hash__(self) -> int:
        return hash((self.width, tuple(sorted(self.counts.items()))))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, bucket_col: str, count_col: str, width: float) -> Histogram:
        """Sums the counts per bucket (a query frame may hold one row per workspace and bucket)."""
        if frame.empty:
            return cls(width, {})
        return cls(width, frame.groupby(bucket_col)[count_col].sum())

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    @property
    def keys(self) -> np.ndarray:
        return np.array(sorted(self.counts), dtype=np.int64)

    @property
    def weights(self) -> np.ndarray:
        return np.array([self.counts[k] for k in sorted(self.counts)], dtype=np.int64)

    @property
    def values(self) -> np.ndarray:
        return bucket_value(self.keys, self.width)

    @property
    def mean(self) -> float | None:
        """None without observations: missing is not zero."""
        return float(np.dot(self.values, self.weights) / self.n) if self.n else None


def bucket_value(index: np.ndarray, width: float) -> np.ndarray:
    """index / scale when 1/width is whole, so bucket 29 at width 0.01 equals the literal 0.29."""
    scale = 1 / width
    if abs(scale - round(scale)) < 1e-9:
        return np.asarray(index) / round(scale)
    return np.asarray(index) * width


def _clean_counts(counts: Mapping[int, int] | pd.Series) -> dict[int, int]:
    items = counts.items()
    out: dict[int, int] = {}
    for key, count in items:
        if pd.isna(key) or float(key) != int(float(key)):
            raise ValueError(f"bucket index must be a whole number, got {key!r}")
        if count < 0 or float(count) != int(count):
            raise ValueError(f"bucket count must be a non-negative whole number, got {count!r}")
        if count:
            out[int(float(key))] = out.get(int(float(key)), 0) + int(count)
    return out


def _same_width(a: Histogram, b: Histogram) -> None:
    if not math.isclose(a.width, b.width, rel_tol=1e-12):
        raise ValueError(f"histograms at different widths: {a.width} vs {b.width}")
    if not a.n or not b.n:
        raise ValueError("both histograms need observations")


def _aligned(a: Histogram, b: Histogram) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of bucket indices (sorted) and each side's count there."""
    keys = np.array(sorted(set(a.counts) | set(b.counts)), dtype=np.int64)
    return keys, np.array([a.counts.get(k, 0) for k in keys]), np.array([b.counts.get(k, 0) for k in keys])


# -- Kolmogorov-Smirnov ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KSResult:
    statistic: float  # max |ECDF_a - ECDF_b|, exact from the cumulative counts
    p_value: float
    method: str  # "exact" or "asymp", as in scipy.stats.ks_2samp


def ks_test(a: Histogram, b: Histogram, *, method: Literal["auto", "exact", "asymp"] = "auto") -> KSResult:
    """Two-sided two-sample KS test, equal to scipy.stats.ks_2samp(method=...) on the expanded samples.

    'auto' follows ks_2samp: exact when both sides have at most 10000 observations, else asymptotic
    (scipy.stats.kstwo at n = round(m*n/(m+n))). As in scipy, the p-value assumes continuous data;
    with tied buckets it is conservative.
    """
    _same_width(a, b)
    _, ca, cb = _aligned(a, b)
    m, n = a.n, b.n
    g = math.gcd(m, n)
    # |A/m - B/n| in units of 1/lcm(m, n): integers, so the statistic is exact
    gaps = np.abs(np.cumsum(ca) * (n // g) - np.cumsum(cb) * (m // g))
    h = int(gaps.max())
    lcm = m * (n // g)
    if method == "auto":
        method = "exact" if max(m, n) <= 10_000 else "asymp"
    if method == "asymp":
        en = round(m * n / (m + n))
        return KSResult(h / lcm, float(np.clip(stats.kstwo.sf(h / lcm, en), 0, 1)), method)
    if h == 0:
        return KSResult(0.0, 1.0, method)
    p = _outside_square(m, h) if m == n else _outside_band(m, n, h)  # lcm = n when m == n
    return KSResult(h / lcm, float(np.clip(p, 0, 1)), method)


def _outside_square(n: int, h: int) -> float:
    """P(D_{n,n} >= h/n) by reflection, in scipy's Horner form (accurate for tiny p-values)."""
    total = 0.0
    for k in range(n // h, -1, -1):
        term = 1.0
        for j in range(h):
            term = (n - k * h - j) * term / (n + k * h + j + 1)
        total = term * (1.0 - total)
    return 2 * total


def _outside_band(m: int, n: int, h: int) -> float:
    """P(D_{m,n} >= h/lcm): share of the lattice paths (0,0)->(m,n) that touch |i*n - j*m| >= h*g.

    A uniformly random path is a Markov chain (from (i, j) it steps in i with probability
    (m-i)/(m+n-i-j)); walking the anti-diagonals in probabilities never overflows, and summing the mass
    that leaves the band (rather than 1 - what stays) keeps tiny p-values accurate. Only the band's
    slice of each diagonal is updated.
    """
    g = math.gcd(m, n)
    mg, ng = m // g, n // g
    reach = np.zeros(m + 2)
    reach[0] = 1.0
    lo, hi, outside = 0, 0, 0.0
    for k in range(m + n):
        i = np.arange(lo, hi + 2)
        seg = reach[lo:hi + 1]
        new = np.zeros(len(i))
        new[:-1] = seg * np.clip(n - (k - i[:-1]), 0, None) / (m + n - k)
        new[1:] += seg * np.clip(m - i[:-1], 0, None) / (m + n - k)
        j = k + 1 - i
        inside = (j >= 0) & (j <= n) & (i <= m) & (np.abs(i * ng - j * mg) < h)
        outside += float(new[~inside].sum())
        where = np.flatnonzero(inside)
        if not len(where):
            break
        reach[lo:hi + 2] = np.where(inside, new, 0.0)
        lo, hi = lo + int(where[0]), lo + int(where[-1])
    return outside


# -- Wasserstein and PSI --------------------------------------------------------------------------


def wasserstein(a: Histogram, b: Histogram) -> float:
    """Earth mover's distance between the two histograms, in value units."""
    _same_width(a, b)
    return float(stats.wasserstein_distance(a.values, b.values, a.weights, b.weights))


PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.25


@dataclass(frozen=True)
class PSIResult:
    value: float
    label: str  # "none" < 0.1 <= "moderate" < 0.25 <= "significant"
    bins: int


def psi_label(value: float) -> str:
    if value >= PSI_SIGNIFICANT:
        return "significant"
    return "moderate" if value >= PSI_MODERATE else "none"


def psi(a: Histogram, b: Histogram, *, bins: int | None = None, eps: float = 1e-4) -> PSIResult:
    """Population stability index sum((pb - pa) * ln(pb / pa)), a = baseline, b = canary.

    bins=None uses the buckets as they are; bins=k groups them into k bins at the baseline's quantiles
    (the usual deciles at k=10; fine buckets alone make PSI mostly noise). A share below eps counts
    as eps so an empty bin does not give an infinite index.
    """
    _same_width(a, b)
    keys, ca, cb = _aligned(a, b)
    if bins is None:
        groups = np.arange(len(keys))
    else:
        before = np.cumsum(ca) - ca  # baseline observations strictly below each bucket
        groups = np.minimum(bins - 1, (bins * before) // a.n)
    pa = np.maximum(np.bincount(groups, weights=ca) / a.n, eps)
    pb = np.maximum(np.bincount(groups, weights=cb) / b.n, eps)
    used = (np.bincount(groups, weights=ca + cb)) > 0
    value = float(np.sum(((pb - pa) * np.log(pb / pa))[used]))
    return PSIResult(value, psi_label(value), int(used.sum()))


# -- Mann-Whitney U and Hodges-Lehmann --------------------------------------------------------------


@dataclass(frozen=True)
class MannWhitney:
    u: float  # U of the canary (b): pairs with b > a, ties counting one half
    p_value: float  # two-sided, tie-corrected normal approximation with continuity correction
    shift: float  # Hodges-Lehmann: median of all pairwise differences b - a
    ci: tuple[float, float]  # distribution-free interval for the shift at level 1 - alpha
    alpha: float


def mann_whitney(a: Histogram, b: Histogram, *, alpha: float = 0.05) -> MannWhitney:
    """Equal to scipy.stats.mannwhitneyu(b, a, method="asymptotic", use_continuity=True) on raw samples."""
    _same_width(a, b)
    _, ca, cb = _aligned(a, b)
    n1, n2 = b.n, a.n
    tied = ca + cb
    midranks = np.cumsum(tied) - tied + (tied + 1) / 2
    u = float(np.dot(cb, midranks) - n1 * (n1 + 1) / 2)
    total = n1 + n2
    s = math.sqrt(n1 * n2 / 12 * ((total + 1) - float(np.sum(tied.astype(float) ** 3 - tied)) / (total * (total - 1))))
    if s == 0:  # every observation in one bucket
        p_value = 1.0
    else:
        z = (max(u, n1 * n2 - u) - n1 * n2 / 2 - 0.5) / s
        p_value = float(min(1.0, 2 * stats.norm.sf(z)))
    shift, ci = hodges_lehmann(a, b, alpha=alpha)
    return MannWhitney(u, p_value, shift, ci, alpha)


def hodges_lehmann(a: Histogram, b: Histogram, *, alpha: float = 0.05) -> tuple[float, tuple[float, float]]:
    """Median of the m*n differences b - a and its interval (D_(C), D_(mn+1-C)).

    The differences come from convolving the counts, exactly and without expanding. C is the
    normal-approximation critical rank floor(mn/2 - z * sqrt(mn(m+n+1)/12)) (Hollander & Wolfe),
    rounded down so the interval errs wide, untied variance, at least 1.
    """
    _same_width(a, b)
    keys, counts = _pairwise_differences(a, b)
    cumulative = np.cumsum(counts)

    def at(rank: int) -> float:  # the rank-th smallest difference (1-based)
        return float(bucket_value(keys[int(np.searchsorted(cumulative, rank, side="left"))], a.width))

    total = a.n * b.n
    shift = at((total + 1) // 2) if total % 2 else (at(total // 2) + at(total // 2 + 1)) / 2
    z = stats.norm.ppf(1 - alpha / 2)
    c = max(1, math.floor(total / 2 - z * math.sqrt(a.n * b.n * (a.n + b.n + 1) / 12)))
    return shift, (at(c), at(total + 1 - c))


def _pairwise_differences(a: Histogram, b: Histogram) -> tuple[np.ndarray, np.ndarray]:
    """Every difference b - a in buckets (sorted) with its number of pairs: a convolution of the dense
    counts over a bounded range such as scores in [0, 1]; over a wide sparse range, the distinct pairs."""
    ka, kb, wa, wb = a.keys, b.keys, a.weights, b.weights
    if (ka[-1] - ka[0]) + (kb[-1] - kb[0]) > 1_000_000:
        keys, inverse = np.unique(np.subtract.outer(kb, ka).ravel(), return_inverse=True)
        return keys, np.bincount(inverse, weights=np.outer(wb, wa).ravel().astype(float)).astype(np.int64)
    dense_a = np.zeros(ka[-1] - ka[0] + 1, dtype=np.int64)
    dense_b = np.zeros(kb[-1] - kb[0] + 1, dtype=np.int64)
    dense_a[ka - ka[0]], dense_b[kb - kb[0]] = wa, wb
    counts = np.convolve(dense_b, dense_a[::-1])
    return np.arange(len(counts)) + (kb[0] - ka[-1]), counts


def shift_verdict(result: MannWhitney, tolerance: float) -> Verdict:
    """Kayenta's rule: a shift counts only when its whole interval lies strictly beyond +/- tolerance."""
    low, high = result.ci
    if low > tolerance:
        return Verdict.HIGH
    if high < -tolerance:
        return Verdict.LOW
    return Verdict.PASS


# -- the comparison a metric row shows --------------------------------------------------------------


@dataclass(frozen=True)
class DistributionDelta:
    n_baseline: int
    n_canary: int
    mean_baseline: float | None
    mean_canary: float | None
    ks: KSResult | None  # None: not tested (too little data)
    wasserstein: float | None
    psi: PSIResult | None
    mann_whitney: MannWhitney | None
    tolerance: float
    min_n: int
    verdict: Verdict
    reason: str

    @property
    def delta(self) -> float | None:
        return self.mann_whitney.shift if self.mann_whitney else None

    @property
    def ci(self) -> tuple[float, float] | None:
        return self.mann_whitney.ci if self.mann_whitney else None

    @property
    def p_value(self) -> float | None:
        return self.mann_whitney.p_value if self.mann_whitney else None

    def as_metric(self, metric: str, *, critical: bool = False, harmful: str = "either") -> MetricVerdict:
        return MetricVerdict(metric, self.verdict, self.mean_canary, self.mean_baseline, self.delta, self.ci,
                             self.p_value, self.tolerance, critical, self.reason, self.n_baseline, self.n_canary,
                             harmful)


def compare_distributions(baseline: Histogram, canary: Histogram, *, min_n: int = 50, tolerance: float = 0.02,
                          alpha: float = 0.05, psi_bins: int | None = 10) -> DistributionDelta:
    """Every figure for canary vs baseline; the verdict is the Hodges-Lehmann interval at level 1 - alpha
    against +/- tolerance (shift_verdict). Fewer than min_n observations on either side (at least one
    is always needed) is INSUFFICIENT_DATA and no test is run."""
    nb, nc = baseline.n, canary.n
    if min(nb, nc) < max(min_n, 1):
        reason = f"too little data: {nb} baseline and {nc} canary observations, {min_n} needed on each side"
        return DistributionDelta(nb, nc, baseline.mean, canary.mean, None, None, None, None, tolerance, min_n,
                                 Verdict.INSUFFICIENT_DATA, reason)
    ks = ks_test(baseline, canary)
    mw = mann_whitney(baseline, canary, alpha=alpha)
    index = psi(baseline, canary, bins=psi_bins)
    verdict = shift_verdict(mw, tolerance)
    where = {Verdict.HIGH: "above +", Verdict.LOW: "below -"}.get(verdict, "not wholly beyond +/-")
    reason = (f"mean {canary.mean:.4g} (n={nc}) vs {baseline.mean:.4g} (n={nb}); shift {mw.shift:+.4g} "
              f"[{mw.ci[0]:+.4g}, {mw.ci[1]:+.4g}] {where}{tolerance:g}; Mann-Whitney p={mw.p_value:.3g}, "
              f"KS D={ks.statistic:.3f} p={ks.p_value:.3g}, PSI {index.value:.3f} ({index.label})")
    return DistributionDelta(nb, nc, baseline.mean, canary.mean, ks, wasserstein(baseline, canary), index, mw,
                             tolerance, min_n, verdict, reason)
