"""A verdict per metric and an overall score for a canary window, in the Kayenta manner.

Each metric compares the canary workspace(s) after the split with the same workspace(s) before it;
where other workspaces exist, the delta and its interval are difference-in-differences, so a
platform-wide change is not blamed on the canary. A shift counts (HIGH/LOW) only when it is
significant after Holm correction across all metrics of the run AND its interval lies wholly beyond
the metric's tolerance. A deviation in the harmless direction still shows as HIGH/LOW but passes.
Too little data is INSUFFICIENT_DATA, never a pass. The score is the share of metrics with data that
pass: PASS >= 95, MARGINAL >= 75, else FAIL; a failing critical metric or a tripped workspace-scoped
rollback rule fails the run; when no metric beyond the guards (at-most-once invariant, volume) has
data, the run is INSUFFICIENT_DATA (and has no score).

Attribution: only workspace-scoped rules (the canary's own rows) decide. Platform-scoped rules
(BackgroundFunctionRun, the platform's webhook queue, runtime logs) are platform health: a tripped
critical one makes the run PLATFORM_INCIDENT ("canary not judged"), never FAIL or PASS by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from analysis.canary.inputs import SideTotals
from analysis.canary.rules import sequential_delta, trials_for
from analysis.canary.stats import (
    Rate,
    RateTest,
    Sums,
    Verdict,
    compare_histograms,
    compare_two_rates,
    diff_in_diff,
    holm,
    mean_delta,
    mean_diff_in_diff,
)
from analysis.rules import RuleResult, RuleStatus

CONFIDENCE_WIDTH = 0.01


class Overall(StrEnum):
    PASS = "PASS"
    MARGINAL = "MARGINAL"
    FAIL = "FAIL"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
    PLATFORM_INCIDENT = "PLATFORM_INCIDENT"


#: how each overall verdict reads on the screen and in the packet
OVERALL_TEXT = {Overall.PLATFORM_INCIDENT: "PLATFORM_INCIDENT: canary not judged"}
OWN_PAST = "its own past (no clean control)"
CONTROL = "the clean control's change (difference-in-differences)"


@dataclass(frozen=True)
class Settings:
    min_rate_n: int = 150
    min_distribution_n: int = 50
    alpha: float = 0.05
    rate_tolerance: float = 0.02
    confidence_tolerance: float = 0.005  # half a 0.01 bucket: the resolution of the histogram
    max_volume_drop: float = 0.3
    pass_at: float = 95
    marginal_at: float = 75
    #: the live watch (canary page, `check --watch`): always-valid intervals (analysis/sequential.py),
    #: each at alpha / (number of tested metrics) (Bonferroni: Holm needs p-values, which a confidence
    #: sequence does not give), so the false-FAIL chance over the whole watch stays at alpha
    sequential: bool = False

    @property
    def alpha_each(self) -> float:
        return self.alpha / (len(RATE_METRICS) + 1)


@dataclass(frozen=True)
class RateMetric:
    name: str
    bad: str  # "increase" | "decrease": the harmful direction
    successes: str  # SideTotals attribute names
    trials: str
    critical: bool = False


RATE_METRICS = (
    RateMetric("needs_review_rate", "increase", "needs_review", "evaluated"),
    RateMetric("gate_revise_rate", "increase", "gate_revise", "gate_total"),
    RateMetric("revision_applied_rate", "decrease", "revision_applied", "revision_attempted"),
    RateMetric("bundle_truncation_rate", "increase", "bundle_truncated", "bundle_calls"),
    RateMetric("booking_gate_deny_rate", "increase", "booking_deny", "booking_total"),
)


@dataclass(frozen=True)
class MetricVerdict:
    metric: str
    verdict: Verdict
    measured: float | None
    baseline: float | None
    delta: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    threshold: float | None  # the tolerance the interval must clear
    critical: bool
    reason: str
    n_baseline: int
    n_canary: int
    bad: str = "either"
    guard: bool = False  # invariant and volume checks: they cannot make a run judgeable on their own
    against: str = ""  # what the delta was taken against
    scope: str = "workspace"

    @property
    def passed(self) -> bool | None:
        """None without data; a deviation in the harmless direction passes."""
        if self.verdict is Verdict.INSUFFICIENT_DATA:
            return None
        if self.verdict is Verdict.PASS:
            return True
        return (self.verdict is Verdict.HIGH and self.bad == "decrease") or (
            self.verdict is Verdict.LOW and self.bad == "increase")


@dataclass(frozen=True)
class CanaryVerdict:
    metrics: tuple[MetricVerdict, ...]
    rules: tuple[RuleResult, ...]
    score: float | None
    overall: Overall
    reason: str

    @property
    def workspace_rules(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if r.rule.scope == "workspace")

    @property
    def platform_rules(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if r.rule.scope == "platform")

    @property
    def headline(self) -> str:
        return OVERALL_TEXT.get(self.overall, self.overall.value)

    @property
    def platform_status(self) -> str:
        tripped = [r for r in self.platform_rules if r.status is RuleStatus.TRIPPED]
        if any(r.rule.critical for r in tripped):
            return "INCIDENT"
        if tripped:
            return "DEGRADED"
        return "OK" if any(r.status is RuleStatus.OK for r in self.platform_rules) else "NO_DATA"

    @property
    def worst(self) -> str:
        """The first deciding problem: a tripped workspace rule, else a failing metric, else ''."""
        for r in self.workspace_rules:
            if r.status is RuleStatus.TRIPPED:
                return r.rule.id
        for m in self.metrics:
            if m.passed is False:
                return m.metric
        return ""


def _shift(ci: tuple[float, float], tolerance: float) -> Verdict:
    if ci[0] > tolerance:
        return Verdict.HIGH
    if ci[1] < -tolerance:
        return Verdict.LOW
    return Verdict.PASS


def _insufficient(name: str, bad: str, n_before: int, n_after: int, need: int, critical: bool,
                  measured: float | None = None, baseline: float | None = None) -> MetricVerdict:
    return MetricVerdict(name, Verdict.INSUFFICIENT_DATA, measured, baseline, None, None, None, None, critical,
                         f"too little data: {n_before} before and {n_after} after, {need} needed on each side",
                         n_before, n_after, bad)


def rate_verdict(metric: RateMetric, before: SideTotals, after: SideTotals, others_before: SideTotals | None,
                 others_after: SideTotals | None, s: Settings) -> MetricVerdict:
    cb = Rate(getattr(before, metric.successes), getattr(before, metric.trials))
    ca = Rate(getattr(after, metric.successes), getattr(after, metric.trials))
    if min(cb.trials, ca.trials) < s.min_rate_n:
        return _insufficient(metric.name, metric.bad, cb.trials, ca.trials, s.min_rate_n, metric.critical,
                             ca.value, cb.value)
    if s.sequential:
        return _sequential_verdict(metric.name, RATE_SIGNAL[metric.name], metric.bad, metric.critical, before, after,
                                   others_before, others_after, s, ca.value, cb.value, s.rate_tolerance)
    test: RateTest
    against = OWN_PAST
    if others_before is not None and others_after is not None:
        ob = Rate(getattr(others_before, metric.successes), getattr(others_before, metric.trials))
        oa = Rate(getattr(others_after, metric.successes), getattr(others_after, metric.trials))
        if min(ob.trials, oa.trials) >= s.min_rate_n:  # the same control rule as analysis/canary/rules.py
            test, against = diff_in_diff(cb, ca, ob, oa), CONTROL
        else:
            test = compare_two_rates(cb, ca)
    else:
        test = compare_two_rates(cb, ca)
    verdict = _shift(test.ci, s.rate_tolerance) if test.p_value < s.alpha else Verdict.PASS
    reason = (f"{ca.value:.1%} of {ca.trials} vs {cb.value:.1%} of {cb.trials}; delta {test.diff * 100:+.1f} pts "
              f"[{test.ci[0] * 100:+.1f}, {test.ci[1] * 100:+.1f}] against {against} ({test.test}, "
              f"p={test.p_value:.2e}); tolerance ±{s.rate_tolerance * 100:.1f} pts")
    return MetricVerdict(metric.name, verdict, ca.value, cb.value, test.diff, test.ci, test.p_value,
                         s.rate_tolerance, metric.critical, reason, cb.trials, ca.trials, metric.bad, against=against)


#: metric -> the signal name analysis/canary/rules.py computes its delta under
RATE_SIGNAL = {"needs_review_rate": "needs_review_rate", "gate_revise_rate": "gate_revise_rate",
               "bundle_truncation_rate": "bundle_truncation_rate",
               "booking_gate_deny_rate": "booking_gate_deny_error_rate",
               "revision_applied_rate": "revision_applied_rate"}


def _sequential_verdict(name: str, signal: str, bad: str, critical: bool, before: SideTotals, after: SideTotals,
                        others_before: SideTotals | None, others_after: SideTotals | None, s: Settings,
                        measured: float | None, baseline: float | None, tolerance: float) -> MetricVerdict:
    """HIGH/LOW when the always-valid interval lies wholly beyond the tolerance."""
    n_before, n_after = trials_for(signal, before), trials_for(signal, after)
    need = s.min_distribution_n if signal == "auto_send_confidence_mean" else s.min_rate_n
    control = (others_before is not None and others_after is not None
               and min(trials_for(signal, others_before), trials_for(signal, others_after)) >= need)
    test = sequential_delta(signal, before, after, others_before, others_after, control=control,
                            alpha=s.alpha_each)
    if test is None:
        return _insufficient(name, bad, n_before, n_after, 2, critical, measured, baseline)
    against = CONTROL if control else OWN_PAST
    rate = signal != "auto_send_confidence_mean"
    fmt = (lambda v: f"{v * 100:+.1f} pts") if rate else (lambda v: f"{v:+.4f}")
    reason = (f"delta {fmt(test.diff)} [{fmt(test.ci[0])}, {fmt(test.ci[1])}] against {against} (always-valid "
              f"{1 - s.alpha_each:.1%} interval, {test.test}); tolerance ±{fmt(tolerance).lstrip('+')}")
    return MetricVerdict(name, _shift(test.ci, tolerance), measured, baseline, test.diff, test.ci, None, tolerance,
                         critical, reason, n_before, n_after, bad, against=against)


def _sums(totals: SideTotals) -> Sums:
    return Sums(totals.scored, totals.confidence_sum, totals.confidence_sumsq)


def confidence_verdict(before: SideTotals, after: SideTotals, s: Settings, others_before: SideTotals | None = None,
                       others_after: SideTotals | None = None) -> MetricVerdict:
    """Judged on the shift of the mean from exact sums, differenced against the clean control when there
    is one; the distribution tests of the canary's own pre/post histograms are reported beside it."""
    nb, na = before.scored, after.scored
    if min(nb, na) < s.min_distribution_n:
        return _insufficient("auto_send_confidence", "decrease", nb, na, s.min_distribution_n, False,
                             after.confidence_mean, before.confidence_mean)
    if s.sequential:
        return _sequential_verdict("auto_send_confidence", "auto_send_confidence_mean", "decrease", False, before,
                                   after, others_before, others_after, s, after.confidence_mean,
                                   before.confidence_mean, s.confidence_tolerance)
    against = OWN_PAST
    if (others_before is not None and others_after is not None
            and min(others_before.scored, others_after.scored) >= s.min_distribution_n):
        sides = (before, after, others_before, others_after)
        test, against = mean_diff_in_diff(*(_sums(t) for t in sides)), CONTROL
    else:
        test = mean_delta(_sums(before), _sums(after))
    verdict = _shift(test.ci, s.confidence_tolerance) if test.p_value < s.alpha else Verdict.PASS
    reason = (f"mean {after.confidence_mean:.4f} vs {before.confidence_mean:.4f}; delta {test.diff:+.4f} "
              f"[{test.ci[0]:+.4f}, {test.ci[1]:+.4f}] against {against} ({test.test}, p={test.p_value:.2e}); "
              f"tolerance ±{s.confidence_tolerance:.3f}")
    if before.confidence_histogram and after.confidence_histogram:
        d = compare_histograms(before.confidence_histogram, after.confidence_histogram, CONFIDENCE_WIDTH)
        reason += (f". Own pre/post distribution: Hodges-Lehmann shift {d.hl_shift:+.3f} "
                   f"[{d.hl_ci[0]:+.3f}, {d.hl_ci[1]:+.3f}], Mann-Whitney p={d.mw_p_value:.2e} (tie-corrected), "
                   f"KS D={d.ks_statistic:.3f} (p={d.ks_p_value:.2e}), PSI {d.psi:.3f}")
    return MetricVerdict("auto_send_confidence", verdict, after.confidence_mean, before.confidence_mean, test.diff,
                         test.ci, test.p_value, s.confidence_tolerance, False, reason, nb, na, "decrease",
                         against=against)


def at_most_once_verdict(after: SideTotals) -> MetricVerdict:
    bad = after.drafts_looped_twice
    verdict = Verdict.HIGH if bad else Verdict.PASS
    reason = (f"{bad} draft(s) with more than one revision loop" if bad
              else f"no draft revised twice ({after.drafts_looped} looped)")
    return MetricVerdict("revision_at_most_once", verdict, float(bad), 0.0, float(bad), None, None, 0.0, True, reason,
                         0, after.drafts_looped, "increase", guard=True)


def volume_verdict(before: SideTotals, after: SideTotals, others_before: SideTotals | None,
                   others_after: SideTotals | None, s: Settings) -> MetricVerdict:
    """Flags a canary whose traffic fell, relative to the others, so fewer reviews cannot come from fewer drafts."""
    if before.evaluated == 0:
        return replace(_insufficient("evaluated_volume", "decrease", before.evaluated, after.evaluated, 1, False),
                       guard=True)
    change = after.evaluated / before.evaluated
    others = None
    if others_before is not None and others_after is not None and others_before.evaluated:
        others = others_after.evaluated / others_before.evaluated
    relative = change / others if others else change
    verdict = Verdict.LOW if relative < 1 - s.max_volume_drop else Verdict.PASS
    reason = (f"{after.evaluated} evaluated drafts vs {before.evaluated} before (x{change:.2f}"
              + (f"; others x{others:.2f}" if others else "") + f"), limit a {s.max_volume_drop:.0%} relative drop")
    return MetricVerdict("evaluated_volume", verdict, float(after.evaluated), float(before.evaluated),
                         relative - 1, None, None, -s.max_volume_drop, False, reason, before.evaluated,
                         after.evaluated, "decrease", guard=True)


def with_holm(metrics: Sequence[MetricVerdict], alpha: float) -> list[MetricVerdict]:
    """A HIGH/LOW only stands if its p-value survives Holm correction across the run's tested metrics."""
    rejected = holm({m.metric: m.p_value for m in metrics}, alpha)
    out = []
    for m in metrics:
        if m.p_value is not None and m.verdict in (Verdict.HIGH, Verdict.LOW) and not rejected[m.metric]:
            m = replace(m, verdict=Verdict.PASS, reason=m.reason + "; not significant after Holm correction")
        out.append(m)
    return out


def score(metrics: Sequence[MetricVerdict], rules: Sequence[RuleResult],
          s: Settings) -> tuple[float | None, Overall, str]:
    with_data = [m for m in metrics if m.passed is not None]
    deciding = [r for r in rules if r.rule.scope == "workspace"]
    tripped = [r.rule.id for r in deciding if r.status is RuleStatus.TRIPPED]
    incident = [r.rule.id for r in rules if r.rule.scope == "platform" and r.rule.critical
                and r.status is RuleStatus.TRIPPED]
    failed_critical = [m.metric for m in with_data if m.critical and not m.passed]
    value = 100 * sum(1 for m in with_data if m.passed) / len(with_data) if with_data else None
    if incident:
        return None, Overall.PLATFORM_INCIDENT, (f"critical platform rule tripped: {', '.join(incident)}; the canary "
                                                 "is not judged while the platform itself is unhealthy")
    if failed_critical:
        return value, Overall.FAIL, f"critical metric failed: {', '.join(failed_critical)}"
    if tripped:
        return value, Overall.FAIL, f"rollback rule tripped: {', '.join(tripped)}"
    if not any(not m.guard for m in with_data):
        return None, Overall.INSUFFICIENT_DATA, "no metric has enough data to judge (guards alone do not count)"
    if value >= s.pass_at:
        return value, Overall.PASS, f"{value:.0f}% of {len(with_data)} metrics with data pass"
    if value >= s.marginal_at:
        return value, Overall.MARGINAL, f"{value:.0f}% of {len(with_data)} metrics with data pass"
    failing = [m.metric for m in with_data if not m.passed]
    return value, Overall.FAIL, f"{value:.0f}% pass; failing: {', '.join(failing)}"


def judge(before: SideTotals, after: SideTotals, others_before: SideTotals | None, others_after: SideTotals | None,
          rules: Sequence[RuleResult] = (), settings: Settings | None = None) -> CanaryVerdict:
    s = settings or Settings()
    metrics = [rate_verdict(m, before, after, others_before, others_after, s) for m in RATE_METRICS]
    metrics += [confidence_verdict(before, after, s, others_before, others_after), at_most_once_verdict(after),
                volume_verdict(before, after, others_before, others_after, s)]
    metrics = with_holm(metrics, s.alpha)
    value, overall, reason = score(metrics, rules, s)
    return CanaryVerdict(tuple(metrics), tuple(rules), value, overall, reason)
