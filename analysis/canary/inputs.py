"""From the aggregated frames of one side of a canary comparison to the totals the verdicts use.

Pure: every figure is a sum over the additive columns the queries return; a rate or mean is None
when its denominator is zero (missing is not zero).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd


def _sum(frame: pd.DataFrame, column: str, **where: str) -> int | float:
    if frame is None or frame.empty or column not in frame:
        return 0
    for key, value in where.items():
        frame = frame[frame[key] == value]
    total = frame[column].sum()
    return int(total) if float(total).is_integer() else float(total)


def ratio(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


@dataclass(frozen=True)
class SideTotals:
    """Sufficient statistics of one side (workspace set x window)."""

    evaluated: int
    needs_review: int
    scored: int
    confidence_sum: float
    confidence_sumsq: float
    confidence_histogram: dict[int, int]  # bucket index at width 0.01 -> drafts
    gate_total: int
    gate_revise: int
    booking_total: int
    booking_deny: int
    revision_attempted: int
    revision_applied: int
    revise_calls: int
    revise_errors: int
    revise_errors_worst_30min: int  # the most revise error rows in any 30-minute slice
    drafts_looped: int
    drafts_looped_twice: int
    bundle_calls: int
    bundle_truncated: int

    @property
    def needs_review_rate(self) -> float | None:
        return ratio(self.needs_review, self.evaluated)

    @property
    def confidence_mean(self) -> float | None:
        return ratio(self.confidence_sum, self.scored)

    @property
    def gate_revise_rate(self) -> float | None:
        return ratio(self.gate_revise, self.gate_total)

    @property
    def booking_deny_rate(self) -> float | None:
        return ratio(self.booking_deny, self.booking_total)

    @property
    def revision_applied_rate(self) -> float | None:
        return ratio(self.revision_applied, self.revision_attempted)

    @property
    def truncation_rate(self) -> float | None:
        return ratio(self.bundle_truncated, self.bundle_calls)

    @property
    def revision_attempts_per_draft_max(self) -> int:
        """At most once per draft: 2 marks a violation (more than one loop logged for a draft), 0 no loops."""
        if self.drafts_looped_twice:
            return 2
        return 1 if self.drafts_looped else 0


def _worst_slice(frame: pd.DataFrame | None, column: str) -> int:
    """The largest per-bucket total (summed over workspaces); 0 without rows."""
    if frame is None or frame.empty:
        return 0
    return int(frame.groupby("bucket")[column].sum().max())


def side_totals(frames: Mapping[str, pd.DataFrame]) -> SideTotals:
    conf = frames.get("confidence")
    histogram: dict[int, int] = {}
    if conf is not None and not conf.empty:
        histogram = {int(k): int(v) for k, v in conf.groupby("bucket")["drafts"].sum().items()}
    volume = frames.get("volume")
    gate = frames.get("gate")
    booking = frames.get("booking_gate")
    return SideTotals(
        evaluated=_sum(frames.get("needs_review"), "evaluated"),
        needs_review=_sum(frames.get("needs_review"), "needs_review"),
        scored=_sum(volume, "scored"),
        confidence_sum=float(_sum(volume, "confidence_sum")),
        confidence_sumsq=float(_sum(volume, "confidence_sumsq")),
        confidence_histogram=histogram,
        gate_total=_sum(gate, "decisions"),
        gate_revise=_sum(gate, "decisions", decision="revise"),
        booking_total=_sum(booking, "decisions"),
        booking_deny=_sum(booking, "decisions", decision="deny"),
        revision_attempted=_sum(frames.get("revision"), "attempted"),
        revision_applied=_sum(frames.get("revision"), "applied"),
        revise_calls=_sum(frames.get("revise_calls"), "calls"),
        revise_errors=_sum(frames.get("revise_calls"), "errors"),
        revise_errors_worst_30min=_worst_slice(frames.get("revise_series"), "errors"),
        drafts_looped=_sum(frames.get("loops"), "drafts_looped"),
        drafts_looped_twice=_sum(frames.get("loops"), "drafts_looped_more_than_once"),
        bundle_calls=_sum(frames.get("bundle"), "calls"),
        bundle_truncated=_sum(frames.get("bundle"), "truncated"),
    )
