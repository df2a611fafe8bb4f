"""A verdict per metric and an overall score for a run, in the Kayenta manner.

Scoring (documented choices):
- Holm runs as a step inside `score` (before counting): across every metric of the run that was
  tested (has data and a p-value), a HIGH/LOW whose p-value does not survive Holm correction at
  `alpha` becomes PASS, with the reason saying so. Guards without a p-value (volume) keep theirs.
- A metric passes when its verdict is PASS, or when it deviates only in the direction its `harmful`
  field says is harmless (Kayenta's per-metric direction; the default "either" counts both).
- score = 100 * passing / metrics with data. Any critical metric failing -> FAIL whatever the score.
  Otherwise a critical metric without data, or no metric with data at all -> INSUFFICIENT_DATA,
  never PASS. Otherwise PASS at >= pass_at, MARGINAL at >= marginal_at, else FAIL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum


class Verdict(StrEnum):
    PASS = "PASS"
    HIGH = "HIGH"
    LOW = "LOW"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class Overall(StrEnum):
    PASS = "PASS"
    MARGINAL = "MARGINAL"
    FAIL = "FAIL"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


HARMFUL = ("either", "increase", "decrease")


@dataclass(frozen=True)
class MetricVerdict:
    metric: str
    verdict: Verdict
    measured: float | None
    baseline: float | None
    delta: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    threshold: float | None  # the tolerance the interval must clear (or a guard's limit)
    critical: bool
    reason: str  # one line a person can read
    n_baseline: int
    n_canary: int
    harmful: str = "either"  # "increase" | "decrease" | "either": which deviation fails

    def __post_init__(self) -> None:
        if self.harmful not in HARMFUL:
            raise ValueError(f"harmful must be one of {HARMFUL}, got {self.harmful!r}")

    @property
    def has_data(self) -> bool:
        return self.verdict is not Verdict.INSUFFICIENT_DATA

    @property
    def passed(self) -> bool | None:
        """None without data; a deviation in the harmless direction passes."""
        if not self.has_data:
            return None
        if self.verdict is Verdict.PASS or self.harmful == "either":
            return self.verdict is Verdict.PASS
        return (self.verdict is Verdict.HIGH) == (self.harmful == "decrease")


@dataclass(frozen=True)
class ScoreResult:
    score: float | None  # None when no metric has data
    overall: Overall
    reason: str
    metrics: tuple[MetricVerdict, ...]  # after Holm correction
    passing: int
    with_data: int


def apply_holm(metrics: Sequence[MetricVerdict], alpha: float = 0.05) -> list[MetricVerdict]:
    """A HIGH/LOW only stands if its p-value survives Holm correction across the run's tested metrics."""
    from analysis.guards import holm  # guards builds on this module's types

    tested = {str(i): m.p_value for i, m in enumerate(metrics) if m.has_data and m.p_value is not None}
    rejected = holm(tested, alpha)
    out = []
    for i, m in enumerate(metrics):
        if m.verdict in (Verdict.HIGH, Verdict.LOW) and str(i) in tested and not rejected[str(i)]:
            m = replace(m, verdict=Verdict.PASS,
                        reason=f"{m.reason}; {m.verdict} not significant after Holm correction "
                               f"across {len(tested)} tests")
        out.append(m)
    return out


def score(metrics: Sequence[MetricVerdict], *, pass_at: float = 95, marginal_at: float = 75,
          alpha: float = 0.05, holm_correct: bool = True) -> ScoreResult:
    """Overall verdict of a run: see the module docstring for the rules and their order."""
    judged = tuple(apply_holm(metrics, alpha) if holm_correct else metrics)
    with_data = [m for m in judged if m.has_data]
    passing = sum(1 for m in with_data if m.passed)
    value = 100 * passing / len(with_data) if with_data else None

    def result(overall: Overall, reason: str) -> ScoreResult:
        return ScoreResult(value, overall, reason, judged, passing, len(with_data))

    failed_critical = [m.metric for m in with_data if m.critical and not m.passed]
    if failed_critical:
        return result(Overall.FAIL, f"critical metric failed: {', '.join(failed_critical)}")
    blind_critical = [m.metric for m in judged if m.critical and not m.has_data]
    if blind_critical:
        return result(Overall.INSUFFICIENT_DATA, f"critical metric without enough data: {', '.join(blind_critical)}")
    if value is None:
        return result(Overall.INSUFFICIENT_DATA, f"none of {len(judged)} metrics has enough data to judge")
    summary = f"{passing} of {len(with_data)} metrics with data pass ({value:.0f}%)"
    if len(with_data) < len(judged):
        summary += f"; {len(judged) - len(with_data)} without enough data"
    if value >= pass_at:
        return result(Overall.PASS, summary)
    if value >= marginal_at:
        return result(Overall.MARGINAL, summary)
    failing = [m.metric for m in with_data if not m.passed]
    return result(Overall.FAIL, f"{summary}; failing: {', '.join(failing)}")
