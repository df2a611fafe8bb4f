"""The database rollback rules evaluated on a canary window (the thresholds live in default_rules.toml).

Pure: the signal values come from the totals of each side (analysis/canary/inputs.py) and from the
series (function failure ratio per slice, webhook queue depth per slice) computed by the caller, per
scope. A vs_baseline rule is judged on the difference-in-differences delta (canary change minus the
clean control's change) with its 95% interval, so a shift every workspace saw does not trip it;
without a clean control it falls back to the canary's own past and says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from analysis.canary.inputs import SideTotals
from analysis.canary.stats import (
    Rate,
    RateTest,
    Sums,
    compare_two_rates,
    diff_in_diff,
    mean_delta,
    mean_diff_in_diff,
)
from analysis.rules import RuleResult, RuleSet, evaluate_delta, evaluate_slices, evaluate_threshold
from analysis.sequential import Moments, SequentialInterval, did_mean_cs, did_rate_cs, mean_delta_cs, rate_delta_cs

#: a rate or mean from fewer observations than this reads as no data, so a rule cannot trip on noise;
#: the same minimums as the metric verdicts (analysis/canary/verdicts.py Settings), so a rule never
#: trips on a signal its metric calls INSUFFICIENT_DATA (one screen, one story)
MIN_RATE_OBSERVATIONS = 150
MIN_MEAN_OBSERVATIONS = 50


def min_observations(signal: str) -> int:
    return MIN_RATE_OBSERVATIONS if signal in RATE_SIGNAL_TOTALS else MIN_MEAN_OBSERVATIONS
#: rate signal -> (successes, trials) SideTotals attributes
RATE_SIGNAL_TOTALS = {
    "needs_review_rate": ("needs_review", "evaluated"),
    "gate_revise_rate": ("gate_revise", "gate_total"),
    "bundle_truncation_rate": ("bundle_truncated", "bundle_calls"),
    "booking_gate_deny_error_rate": ("booking_deny", "booking_total"),
    "revision_applied_rate": ("revision_applied", "revision_attempted"),  # a metric, no rule
}
OWN_PAST = "the canary's own past (no clean control)"


def _enough(value: float | None, n: int, signal: str) -> float | None:
    return value if n >= min_observations(signal) else None


def _rate(signal: str, totals: SideTotals) -> Rate:
    hits, trials = RATE_SIGNAL_TOTALS[signal]
    return Rate(getattr(totals, hits), getattr(totals, trials))


def _level(signal: str, totals: SideTotals) -> float | None:
    rate = _rate(signal, totals)
    return _enough(rate.value, rate.trials, signal)


def _confidence(totals: SideTotals) -> Sums:
    return Sums(totals.scored, totals.confidence_sum, totals.confidence_sumsq)


def trials_for(signal: str, totals: SideTotals) -> int:
    """How many observations a signal's rate or mean rests on, on one side."""
    if signal in RATE_SIGNAL_TOTALS:
        return getattr(totals, RATE_SIGNAL_TOTALS[signal][1])
    return totals.scored


def _moments(totals: SideTotals) -> Moments:
    return Moments(totals.scored, totals.confidence_sum, totals.confidence_sumsq)


def _as_test(interval: SequentialInterval | None) -> RateTest | None:
    if interval is None:
        return None
    return RateTest(interval.estimate, (interval.lo, interval.hi), math.nan, interval.method)


def sequential_delta(signal: str, before: SideTotals, after: SideTotals, others_before: SideTotals | None,
                     others_after: SideTotals | None, *, control: bool, alpha: float) -> RateTest | None:
    """The same delta with an always-valid interval (analysis/sequential.py), for a watch that looks
    again and again: its chance of ever excluding the true delta stays at alpha over the whole watch."""
    if signal in RATE_SIGNAL_TOTALS:
        cells = [_rate(signal, t) for t in ((before, after, others_before, others_after) if control
                                             else (before, after))]
        counts = [v for r in cells for v in (r.successes, r.trials)]
        return _as_test((did_rate_cs if control else rate_delta_cs)(*counts, alpha=alpha))
    if control:
        return _as_test(did_mean_cs(*(_moments(t) for t in (before, after, others_before, others_after)), alpha=alpha))
    return _as_test(mean_delta_cs(_moments(before), _moments(after), alpha=alpha))


def signal_delta(signal: str, before: SideTotals, after: SideTotals, others_before: SideTotals | None,
                 others_after: SideTotals | None, *, sequential: bool = False,
                 alpha: float = 0.05) -> tuple[RateTest | None, str, float | None]:
    """(delta test, what it was taken against, the canary's baseline value) for a vs_baseline signal;
    the test is None when the canary has too little data on a side. `sequential`: the interval is an
    always-valid confidence sequence (the live watch) instead of the fixed-horizon one (a one-off compare)."""
    need = min_observations(signal)
    if min(trials_for(signal, before), trials_for(signal, after)) < need:
        return None, OWN_PAST, None
    control = (others_before is not None and others_after is not None
               and min(trials_for(signal, others_before), trials_for(signal, others_after)) >= need)
    if sequential:
        baseline = _rate(signal, before).value if signal in RATE_SIGNAL_TOTALS else _confidence(before).mean
        test = sequential_delta(signal, before, after, others_before, others_after, control=control, alpha=alpha)
        return test, "the clean control's change" if control else OWN_PAST, baseline
    if signal in RATE_SIGNAL_TOTALS:
        baseline = _rate(signal, before).value
        if control:
            return diff_in_diff(*(_rate(signal, t) for t in (before, after, others_before, others_after))), \
                "the clean control's change", baseline
        return compare_two_rates(_rate(signal, before), _rate(signal, after)), OWN_PAST, baseline
    baseline = _confidence(before).mean
    if control:
        return mean_diff_in_diff(_confidence(before), _confidence(after), _confidence(others_before),
                                 _confidence(others_after)), "the clean control's change", baseline
    return mean_delta(_confidence(before), _confidence(after)), OWN_PAST, baseline


def signal_values(after: SideTotals, before: SideTotals) -> dict[str, tuple[float | None, float | None]]:
    """signal -> (measured in the canary window, baseline before the split): the levels, for display."""
    values: dict[str, tuple[float | None, float | None]] = {}
    for signal in RATE_SIGNAL_TOTALS:
        values[signal] = (_level(signal, after), _level(signal, before))
    values["auto_send_confidence_mean"] = (_enough(after.confidence_mean, after.scored, "auto_send_confidence_mean"),
                                           _enough(before.confidence_mean, before.scored, "auto_send_confidence_mean"))
    values["revision_attempts_per_draft_max"] = (after.revision_attempts_per_draft_max, None)
    values["revision_error_count"] = (after.revise_errors_worst_30min, None)
    return values


def evaluate_database_rules(
    rules: RuleSet,
    after: SideTotals,
    before: SideTotals,
    *,
    others_after: SideTotals | None = None,
    others_before: SideTotals | None = None,
    function_failure_ratios: Sequence[float | None] = (),
    queue_depths: Sequence[float | None] = (),
    platform_queue_depths: Sequence[float | None] | None = None,
    sequential: bool = False,
    alpha: float = 0.05,
) -> list[RuleResult]:
    """Every database rule: vs_baseline rules on the delta, threshold rules on the window totals, series
    rules on their slices of their scope.

    `function_failure_ratios` are the worst function's failure ratio per rule window (None = no runs,
    platform); `queue_depths` the canary workspaces' webhook queue depth at the end of each slice, oldest
    first; `platform_queue_depths` the same for all workspaces (defaults to `queue_depths`).
    """
    values = signal_values(after, before)
    series: Mapping[tuple[str, str], Sequence[float | None]] = {
        ("platform", "function_failure_ratio"): function_failure_ratios,
        ("workspace", "webhook_queue_depth"): queue_depths,
        ("platform", "webhook_queue_depth"): queue_depths if platform_queue_depths is None else platform_queue_depths,
    }
    results = []
    for rule in rules.for_source("database"):
        if (rule.scope, rule.signal) in series:
            results.append(evaluate_slices(rule, list(series[(rule.scope, rule.signal)])))
        elif rule.comparison.startswith("vs_baseline"):
            test, against, baseline = signal_delta(rule.signal, before, after, others_before, others_after,
                                                   sequential=sequential, alpha=alpha)
            results.append(evaluate_delta(rule, None if test is None else test.diff,
                                          None if test is None else test.ci, against=against, baseline=baseline))
        else:
            measured, baseline = values[rule.signal]
            results.append(evaluate_threshold(rule, measured, baseline=baseline))
    return results
