"""The overview's green/amber/red hints: fixed rules over the last 24 hours against the 24 hours before.

The thresholds (RULES and the constants below) are the whole policy; the overview prints them.

- A rate (needs_review, gate revise, revision applied, bundle truncation) is judged by how many
  percentage points it moved in the wrong direction: at least 5 points amber, at least 10 red.
- Mean auto-send confidence: a drop of at least 0.02 amber, at least 0.05 red.
- Too few observations to judge (fewer than `min_n` in either 24 h) is grey, never green: a rate
  from five drafts is noise. No data in the last 24 h is grey too.
- Function failure ratio (the worst function-hour with at least 10 runs): above 5% amber, above 10%
  red (the 10% line of the offload page and the canary rule).
- Webhook queue: the oldest due event waiting at least 5 minutes amber, at least 30 minutes red
  (upstream's own stale-queue alert, BACKGROUND_JOB_STALE_QUEUE_ALERT_MINUTES, defaults to 30).
- Auto-book bookings: amber when they fell by half or more from at least 5 the day before; never red,
  because bookings follow the inbound traffic (DATA_CONTRACT.md section 8: they may also undercount).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.derive import sums_by

GREEN, AMBER, RED, GREY = "green", "orange", "red", "gray"
WORD = {GREEN: "fine", AMBER: "look", RED: "act", GREY: "too little data"}

FAILURE_AMBER, FAILURE_RED = 0.05, 0.10
QUEUE_AMBER_MINUTES, QUEUE_RED_MINUTES = 5.0, 30.0
BOOKING_DROP, BOOKING_MIN_BEFORE = 0.5, 5


@dataclass(frozen=True)
class Hint:
    colour: str  # GREEN | AMBER | RED | GREY (Streamlit colour names)
    reason: str  # one line a person can read

    @property
    def word(self) -> str:
        return WORD[self.colour]


@dataclass(frozen=True)
class ChangeRule:
    worse: str  # "up": a rise is bad; "down": a fall is bad
    amber: float  # movement in the wrong direction (0.05 = 5 points for a rate)
    red: float
    min_n: int = 20  # fewer observations on either side: too few to judge
    points: bool = True  # a rate in points; False: a plain number (a mean confidence)


RULES: dict[str, ChangeRule] = {
    "needs_review": ChangeRule("up", 0.05, 0.10),
    "mean_confidence": ChangeRule("down", 0.02, 0.05, points=False),
    "gate_revise": ChangeRule("up", 0.05, 0.10),
    "revision_applied": ChangeRule("down", 0.05, 0.10, min_n=10),
    "bundle_truncation": ChangeRule("up", 0.05, 0.10),
}


def _amount(value: float, rule: ChangeRule) -> str:
    return f"{value * 100:.1f} points" if rule.points else f"{value:.3f}"


def judge_change(now: float | None, n_now: float, before: float | None, n_before: float, rule: ChangeRule) -> Hint:
    """A rate or mean now against the 24 h before, each with the count it rests on."""
    if now is None or not n_now:
        return Hint(GREY, "no data in the last 24 h")
    if n_now < rule.min_n:
        return Hint(GREY, f"too few to judge ({int(n_now)} < {rule.min_n})")
    if before is None or n_before < rule.min_n:
        return Hint(GREY, "too little data in the 24 h before to compare")
    wrong_way = (now - before) if rule.worse == "up" else (before - now)
    if wrong_way >= rule.red - 1e-12:
        return Hint(RED, f"{_amount(wrong_way, rule)} worse than the 24 h before")
    if wrong_way >= rule.amber - 1e-12:
        return Hint(AMBER, f"{_amount(wrong_way, rule)} worse than the 24 h before")
    return Hint(GREEN, f"within {_amount(rule.amber, rule)} of the 24 h before, or better")


def judge_failure_ratio(worst: float | None) -> Hint:
    """The worst function-hour failure ratio (None: no function-hour had enough runs)."""
    if worst is None:
        return Hint(GREY, "no function-hour with enough runs")
    if worst > FAILURE_RED:
        return Hint(RED, f"above {FAILURE_RED:.0%} in some function-hour")
    if worst > FAILURE_AMBER:
        return Hint(AMBER, f"above {FAILURE_AMBER:.0%} in some function-hour")
    return Hint(GREEN, f"at or below {FAILURE_AMBER:.0%} in every function-hour")


def judge_queue(due: int, oldest_minutes: float | None) -> Hint:
    """Webhook events due now and how long the oldest of them has waited past its runAt."""
    if not due or oldest_minutes is None:
        return Hint(GREEN, "nothing due and waiting")
    if oldest_minutes >= QUEUE_RED_MINUTES:
        return Hint(RED, f"oldest due event waiting {oldest_minutes:.0f} min (≥ {QUEUE_RED_MINUTES:.0f})")
    if oldest_minutes >= QUEUE_AMBER_MINUTES:
        return Hint(AMBER, f"oldest due event waiting {oldest_minutes:.0f} min (≥ {QUEUE_AMBER_MINUTES:.0f})")
    return Hint(GREEN, f"oldest due event waiting under {QUEUE_AMBER_MINUTES:.0f} min")


def judge_bookings(now: int, before: int) -> Hint:
    if now == 0 and before == 0:
        return Hint(GREY, "no auto-book bookings either day")
    if before >= BOOKING_MIN_BEFORE and now <= before * (1 - BOOKING_DROP):
        return Hint(AMBER, f"down from {before} the 24 h before")
    return Hint(GREEN, f"{before} the 24 h before")


def judge_rates_by_workspace(now: pd.DataFrame, before: pd.DataFrame, numerator: str, denominator: str,
                             rule: ChangeRule) -> pd.DataFrame:
    """Per workspace: value (numerator / denominator summed over the last 24 h), n, the value before,
    and the hint (colour, reason). Workspaces with no rows in the last 24 h are absent."""
    columns = [numerator, denominator]
    a, b = sums_by(now, ["workspace"], columns), sums_by(before, ["workspace"], columns)
    merged = a.merge(b, on="workspace", how="left", suffixes=("", "_before")).fillna(
        {f"{numerator}_before": 0, f"{denominator}_before": 0})
    rows = []
    for _, r in merged.iterrows():
        value = r[numerator] / r[denominator] if r[denominator] else None
        n_b = r[f"{denominator}_before"]
        prior = r[f"{numerator}_before"] / n_b if n_b else None
        hint = judge_change(value, r[denominator], prior, n_b, rule)
        rows.append({"workspace": r["workspace"], "value": value, "n": int(r[denominator]), "before": prior,
                     "colour": hint.colour, "reason": hint.reason})
    return pd.DataFrame(rows, columns=["workspace", "value", "n", "before", "colour", "reason"])
