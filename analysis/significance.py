"""Is a change between two windows more than noise? Two-sided tests for the headline tiles and the
overview's health cards (pure: no streamlit, no I/O).

- A rate (successes of trials) in the window against the previous window: the two-proportion test of
  analysis.canary.stats (z-test, Fisher's exact test when an expected cell is under 5).
- A count in the window against the previous equal window: conditioned on the total, the window's
  count is Binomial(total, 1/2) when both windows have the same Poisson rate (the exact conditional
  test for two Poisson counts).

A change is significant when p < ALPHA. A change of zero is never significant.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from scipy import stats

from analysis.canary.stats import Rate, compare_two_rates
from analysis.derive import sums_by
from analysis.health import AMBER, GREEN, GREY, RED, ChangeRule, Hint

ALPHA = 0.05


@dataclass(frozen=True)
class Change:
    diff: float
    p_value: float | None  # None: nothing to test (no trials on one side)
    test: str

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA and self.diff != 0


def rate_change(successes: int, trials: int, before_successes: int, before_trials: int) -> Change:
    """The window's rate minus the previous window's, with the two-proportion test's p-value."""
    if not trials or not before_trials:
        now = successes / trials if trials else 0.0
        before = before_successes / before_trials if before_trials else 0.0
        return Change(now - before, None, "no test: a window without trials")
    result = compare_two_rates(Rate(int(before_successes), int(before_trials)), Rate(int(successes), int(trials)))
    return Change(result.diff, result.p_value, result.test)


def count_change(now: int, before: int) -> Change:
    """now - before for two counts over equal windows, with the exact conditional (binomial) test."""
    now, before = int(now), int(before)
    if now < 0 or before < 0:
        raise ValueError("counts cannot be negative")
    if now + before == 0:
        return Change(0.0, 1.0, "exact conditional test of two Poisson counts")
    p_value = float(stats.binomtest(now, now + before, 0.5).pvalue)
    return Change(float(now - before), p_value, "exact conditional test of two Poisson counts")


# -- the overview's health cards: fixed thresholds, and only a significant move is amber or red ----------

SEVERITY = {GREY: 0, GREEN: 1, AMBER: 2, RED: 3}


def _amount(value: float, rule: ChangeRule) -> str:
    return f"{value * 100:.1f} points" if rule.points else f"{value:.3f}"


def judge_window_change(successes: float, trials: float, before_successes: float, before_trials: float,
                        rule: ChangeRule, *, proportion: bool = True) -> Hint:
    """A rate (or a mean, `proportion=False`) in the window against the previous equal window.

    Amber/red follow the rule's thresholds in its bad direction; for a proportion the move must also
    be significant (two-proportion test), else it is green with the p-value said. A mean has no
    variance here (only sums are read), so it is judged on the thresholds alone.
    """
    if not trials:
        return Hint(GREY, "no data in this window")
    if trials < rule.min_n:
        return Hint(GREY, f"too few to judge ({int(trials)} < {rule.min_n})")
    if before_trials < rule.min_n:
        return Hint(GREY, "too little data in the previous window to compare")
    now, before = successes / trials, before_successes / before_trials
    wrong_way = (now - before) if rule.worse == "up" else (before - now)
    if wrong_way < rule.amber - 1e-12:
        return Hint(GREEN, f"within {_amount(rule.amber, rule)} of the previous window, or better")
    reason = f"{_amount(wrong_way, rule)} worse than the previous window"
    if proportion:
        tested = rate_change(int(successes), int(trials), int(before_successes), int(before_trials))
        if not tested.significant:
            return Hint(GREEN, f"{reason}, not significant (p = {tested.p_value:.2g})")
        reason += f" (p = {tested.p_value:.2g})"
    return Hint(RED if wrong_way >= rule.red - 1e-12 else AMBER, reason)


def judge_against_others(successes: float, trials: float, others_successes: float, others_trials: float,
                         rule: ChangeRule, *, proportion: bool = True) -> Hint:
    """A workspace's rate in the window against the other chosen workspaces' in the same window: a
    canary that fails since its rollout days ago looks like its own previous window, not like the fleet."""
    if not trials or trials < rule.min_n or others_trials < rule.min_n:
        return Hint(GREY, "too little data to compare with the other workspaces")
    now, others = successes / trials, others_successes / others_trials
    wrong_way = (now - others) if rule.worse == "up" else (others - now)
    if wrong_way < rule.amber - 1e-12:
        return Hint(GREEN, "in line with the other workspaces, or better")
    reason = f"{_amount(wrong_way, rule)} worse than the other chosen workspaces"
    if proportion:
        tested = rate_change(int(successes), int(trials), int(others_successes), int(others_trials))
        if not tested.significant:
            return Hint(GREEN, f"{reason}, not significant (p = {tested.p_value:.2g})")
        reason += f" (p = {tested.p_value:.2g})"
    return Hint(RED if wrong_way >= rule.red - 1e-12 else AMBER, reason)


def judge_by_workspace(now: pd.DataFrame, before: pd.DataFrame, numerator: str, denominator: str,
                       rule: ChangeRule, *, proportion: bool = True) -> pd.DataFrame:
    """Per workspace with rows in the window: value, n, colour and reason, the worse of its change
    against the previous window and its distance from the other workspaces in this window."""
    columns = [numerator, denominator]
    a, b = sums_by(now, ["workspace"], columns), sums_by(before, ["workspace"], columns)
    merged = a.merge(b, on="workspace", how="left", suffixes=("", "_before")).fillna(
        {f"{numerator}_before": 0, f"{denominator}_before": 0})
    rows = []
    all_s, all_n = float(merged[numerator].sum()), float(merged[denominator].sum())
    for r in merged.itertuples(index=False):
        s, n = getattr(r, numerator), getattr(r, denominator)
        bs, bn = getattr(r, f"{numerator}_before"), getattr(r, f"{denominator}_before")
        hint = worst([judge_window_change(s, n, bs, bn, rule, proportion=proportion),
                      judge_against_others(s, n, all_s - s, all_n - n, rule, proportion=proportion)])
        rows.append({"workspace": r.workspace, "value": s / n if n else None, "n": int(n), "colour": hint.colour,
                     "reason": hint.reason})
    return pd.DataFrame(rows, columns=["workspace", "value", "n", "colour", "reason"])


def worst(hints: list[Hint]) -> Hint:
    """The most severe hint (red > amber > green > grey); the first of equals."""
    return max(hints, key=lambda h: SEVERITY[h.colour])
