"""The database rollback rules evaluated on a canary window (the thresholds live in default_rules.toml).

Pure: the signal values come from the totals of each side (analysis/canary_inputs.py) and from two
series (function failure ratio per slice, webhook queue depth per slice) computed by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analysis.canary_inputs import SideTotals
from analysis.rules import RuleResult, RuleSet, evaluate_slices, evaluate_threshold

#: a rate or mean from fewer observations than this reads as no data, so a rule cannot trip on noise
MIN_OBSERVATIONS = 30


def _enough(value: float | None, n: int) -> float | None:
    return value if n >= MIN_OBSERVATIONS else None


def signal_values(after: SideTotals, before: SideTotals) -> dict[str, tuple[float | None, float | None]]:
    """signal -> (measured in the canary window, baseline before the split)."""
    return {
        "needs_review_rate": (_enough(after.needs_review_rate, after.evaluated),
                              _enough(before.needs_review_rate, before.evaluated)),
        "auto_send_confidence_mean": (_enough(after.confidence_mean, after.scored),
                                      _enough(before.confidence_mean, before.scored)),
        "gate_revise_rate": (_enough(after.gate_revise_rate, after.gate_total),
                             _enough(before.gate_revise_rate, before.gate_total)),
        "bundle_truncation_rate": (_enough(after.truncation_rate, after.bundle_calls),
                                   _enough(before.truncation_rate, before.bundle_calls)),
        "revision_attempts_per_draft_max": (after.revision_attempts_per_draft_max, None),
        "revision_error_count": (after.revise_errors_worst_30min, None),
        "booking_gate_deny_error_rate": (_enough(after.booking_deny_rate, after.booking_total),
                                         _enough(before.booking_deny_rate, before.booking_total)),
    }


def evaluate_database_rules(
    rules: RuleSet,
    after: SideTotals,
    before: SideTotals,
    *,
    function_failure_ratios: Sequence[float | None] = (),
    queue_depths: Sequence[float | None] = (),
) -> list[RuleResult]:
    """Every database rule: threshold rules on the window totals, series rules on their slices.

    `function_failure_ratios` are the worst function's failure ratio per rule window (None = no runs);
    `queue_depths` the webhook queue depth at the end of each slice, oldest first.
    """
    values = signal_values(after, before)
    series: Mapping[str, Sequence[float | None]] = {
        "function_failure_ratio": function_failure_ratios,
        "webhook_queue_depth": queue_depths,
    }
    results = []
    for rule in rules.for_source("database"):
        if rule.signal in series:
            results.append(evaluate_slices(rule, list(series[rule.signal])))
        else:
            measured, baseline = values[rule.signal]
            results.append(evaluate_threshold(rule, measured, baseline=baseline))
    return results
