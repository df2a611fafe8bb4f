"""One canary evaluation from gathered frames: side totals, rollback rules, metric verdicts, overall."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from analysis.canary.inputs import SideTotals, side_totals
from analysis.canary.rules import evaluate_database_rules
from analysis.canary.verdicts import CanaryVerdict, Settings, judge
from analysis.rules import RuleResult, RuleSet


@dataclass(frozen=True)
class Evaluation:
    verdict: CanaryVerdict
    totals: dict[str, SideTotals | None]  # canary_before, canary_after, others_before, others_after


def evaluate(frames: Mapping[str, Mapping[str, pd.DataFrame]], rules: RuleSet, *,
             log_results: Sequence[RuleResult] = (), function_failure_ratios: Sequence[float | None] = (),
             queue_depths: Sequence[float | None] = (), platform_queue_depths: Sequence[float | None] | None = None,
             settings: Settings | None = None) -> Evaluation:
    """`frames` maps each side to the frames of queries.canary.SIDE_QUERIES (others may be empty);
    `queue_depths` are the canary workspaces' webhook queue, `platform_queue_depths` all workspaces'."""
    totals = {side: (side_totals(f) if any(not frame.empty for frame in f.values()) else None)
              for side, f in frames.items()}
    before, after = totals["canary_before"] or side_totals({}), totals["canary_after"] or side_totals({})
    s = settings or Settings()
    results = evaluate_database_rules(rules, after, before, others_after=totals.get("others_after"),
                                      others_before=totals.get("others_before"),
                                      function_failure_ratios=function_failure_ratios, queue_depths=queue_depths,
                                      platform_queue_depths=platform_queue_depths, sequential=s.sequential,
                                      alpha=s.alpha_each)
    verdict = judge(before, after, totals.get("others_before"), totals.get("others_after"),
                    [*results, *log_results], s)
    return Evaluation(verdict, totals)
