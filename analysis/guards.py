"""Guards that keep a verdict honest: Holm correction across many tests, and a volume check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analysis.verdicts import MetricVerdict, Verdict


def holm(p_values: Mapping[str, float | None], alpha: float = 0.05) -> dict[str, bool]:
    """Holm's step-down: which hypotheses are rejected at family-wise level alpha.

    Sorted ascending, the i-th smallest (0-based) of the m tested p-values is rejected while
    p <= alpha / (m - i); the first one that is not stops the procedure. None = not tested: it is
    not counted in m and is never rejected.
    """
    tested = sorted(((p, k) for k, p in p_values.items() if p is not None), key=lambda t: t[0])
    rejected = dict.fromkeys(p_values, False)
    for i, (p, key) in enumerate(tested):
        if p > alpha / (len(tested) - i):
            break
        rejected[key] = True
    return rejected


@dataclass(frozen=True)
class VolumeCheck:
    verdict: Verdict  # LOW when the canary's traffic fell too far, else PASS; INSUFFICIENT_DATA
    canary_change: float | None  # after / before
    others_change: float | None
    relative: float | None  # canary_change / others_change (or canary_change without others)
    max_drop: float
    reason: str
    canary_before_n: int
    canary_after_n: int
    others_before_n: int | None
    others_after_n: int | None

    def as_metric(self, metric: str = "volume", *, critical: bool = False) -> MetricVerdict:
        delta = None if self.relative is None else self.relative - 1
        return MetricVerdict(metric, self.verdict, float(self.canary_after_n), float(self.canary_before_n), delta,
                             None, None, -self.max_drop, critical, self.reason, self.canary_before_n,
                             self.canary_after_n, "decrease")


def volume_check(canary_before_n: int, canary_after_n: int, others_before_n: int | None,
                 others_after_n: int | None, *, max_drop: float = 0.3) -> VolumeCheck:
    """LOW when the canary's traffic fell by more than max_drop relative to the other workspaces'
    change, so "fewer needs_review" cannot come from fewer drafts. Pass None for the others when
    there are none: the canary is then held to its own before. A zero baseline is INSUFFICIENT_DATA."""
    counts = (canary_before_n, canary_after_n, others_before_n, others_after_n)

    def check(verdict: Verdict, reason: str, change=None, others=None, relative=None) -> VolumeCheck:
        return VolumeCheck(verdict, change, others, relative, max_drop, reason, *counts)

    if canary_before_n == 0:
        return check(Verdict.INSUFFICIENT_DATA, "no canary traffic before: nothing to compare the volume with")
    change = canary_after_n / canary_before_n
    others = None
    if others_before_n is not None and others_after_n is not None:
        if others_before_n == 0 or others_after_n == 0:
            return check(Verdict.INSUFFICIENT_DATA,
                         f"the other workspaces had {others_before_n} before and {others_after_n} after: "
                         "no platform change to compare with", change)
        others = others_after_n / others_before_n
    relative = change / others if others is not None else change
    verdict = Verdict.LOW if relative < 1 - max_drop else Verdict.PASS
    reason = (f"canary {canary_after_n} vs {canary_before_n} before (x{change:.2f}"
              + (f", others x{others:.2f}, relative x{relative:.2f}" if others is not None else "")
              + f"); {'fell more than' if verdict is Verdict.LOW else 'within'} the {max_drop:.0%} drop limit")
    return check(verdict, reason, change, others, relative)
