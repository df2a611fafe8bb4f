"""Did the rollback work? Pure judging of the window after a disabling change against the pre-rollout baseline.

A rollout enabled `field` in a workspace at E; a disabling change (an audited toggle-off, or the field's kill
switch seen engaged) pulled it back at R. The window after the rollback, [R, end), is compared with the
equal-length window before the rollout, [E - (end - R), E), of the same workspace, as a
difference-in-differences against the clean control when there is one: the canary verdict's own delta
(analysis/canary/rules.py `signal_delta`) and its vs_baseline rule (analysis/default_rules.toml).

Per watched signal (db/catalog.py: what to watch after pulling each field back; a field's kill switch also
switches off the toggles it overrides, so their signals are watched too):
- NOT_RECOVERED: the signal's rollback rule still trips against the pre-rollout baseline;
- RECOVERED: the whole 95% interval of the delta lies within the rule's limit (back within 10 points);
- INSUFFICIENT_DATA: too few observations on a side, or an interval too wide to tell either way.
Overall: NOT_RECOVERED if any signal is, RECOVERED only when every signal is, else INSUFFICIENT_DATA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pandas as pd

from analysis.canary.active import is_enabling, utc
from analysis.canary.inputs import SideTotals
from analysis.canary.rules import RATE_SIGNAL_TOTALS, min_observations, signal_delta, trials_for
from analysis.evidence import slug, stamp
from analysis.markdown import plain
from analysis.rules import Rule, RuleSet, RuleStatus, evaluate_delta
from db.catalog import ROLLOUT_FIELDS, SWITCH_BY_NAME, TOGGLE_BY_FIELD, watch_after_rollback


class Recovery(StrEnum):
    RECOVERED = "RECOVERED"
    NOT_RECOVERED = "NOT_RECOVERED"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


#: the rollout field -> the signal its catalog `watch` line names (db/catalog.py watch_after_rollback)
WATCH_SIGNAL = {
    "leadContextBundleEnabled": "bundle_truncation_rate",
    "followupBookingGateEnabled": "booking_gate_deny_error_rate",
    "autoSendRevisionEnabled": "needs_review_rate",
}


def watched(field: str) -> tuple[tuple[str, str], ...]:
    """(field, signal) pairs to watch after pulling `field` back: its own, then those of the toggles its kill
    switch also switches off (pulling the bundle back stops the booking gate too), in catalog order."""
    toggle = TOGGLE_BY_FIELD.get(field)
    fields = [field]
    if toggle is not None and toggle.kill_switch:
        fields += [f for f in SWITCH_BY_NAME[toggle.kill_switch].overrides if f not in fields]
    return tuple((f, WATCH_SIGNAL[f]) for f in fields if f in WATCH_SIGNAL)


def is_disabling(value: object) -> bool:
    """An audit newValue (JSON text) that switches a toggle off."""
    return str(value).strip().lower() == "false"


@dataclass(frozen=True)
class RollbackEvent:
    """A pulled-back rollout: enabled at `enabled_at`, disabled at `rolled_back_at`, watched until `end`."""

    workspace: str
    field: str
    enabled_at: datetime
    rolled_back_at: datetime
    end: datetime
    how: str  # "toggle-off by <actor>" | "kill switch <NAME> engaged"

    @property
    def duration(self) -> timedelta:
        return self.end - self.rolled_back_at

    @property
    def baseline(self) -> tuple[datetime, datetime]:
        """The equal-length window just before the rollout: [E - (end - R), E)."""
        return self.enabled_at - self.duration, self.enabled_at

    @property
    def after(self) -> tuple[datetime, datetime]:
        return self.rolled_back_at, self.end


def find_rollback(changes: pd.DataFrame, workspace: str, field: str, *, end: datetime,
                  at: datetime | None = None) -> RollbackEvent | None:
    """The audited toggle-off of `field` in `workspace` (the one at `at`, else the latest before `end`) and the
    enabling change before it; the window after it ends at `end` or at the next enabling change. None when there
    is no such toggle-off or no enabling change recorded before it."""
    if changes.empty or field not in ROLLOUT_FIELDS:
        return None
    rows = changes[(changes["workspace"] == workspace) & (changes["field"] == field)].copy()
    rows["t"] = rows["changed_at"].map(utc)
    rows = rows[rows["t"] < utc(end)].sort_values("t", kind="stable")
    offs = rows[rows["new_value"].map(is_disabling)]
    if at is not None:
        offs = offs[offs["t"] == utc(at)]
    if offs.empty:
        return None
    off = offs.iloc[-1]
    ons = rows[rows["new_value"].map(is_enabling)]
    before, later = ons[ons["t"] < off["t"]], ons[ons["t"] > off["t"]]
    if before.empty:
        return None
    stop = min(utc(end), later["t"].iloc[0]) if not later.empty else utc(end)
    return RollbackEvent(workspace, field, before["t"].iloc[-1], off["t"], stop, f"toggle-off by {off['actor']}")


@dataclass(frozen=True)
class SignalRecovery:
    field: str
    signal: str
    watch: str  # the catalog's words
    status: Recovery
    baseline: float | None  # the pre-rollout level
    measured: float | None  # the level after the rollback
    delta: float | None  # against the baseline (difference-in-differences when `against` is the control)
    ci: tuple[float, float] | None
    threshold: float
    against: str
    n_baseline: int
    n_after: int
    rule: str
    reason: str


@dataclass(frozen=True)
class RollbackVerdict:
    event: RollbackEvent
    signals: tuple[SignalRecovery, ...]
    overall: Recovery
    reason: str
    control: tuple[str, ...] = ()


def _rule_for(rules: RuleSet, signal: str) -> Rule:
    return next(r for r in rules.for_source("database")
                if r.signal == signal and r.scope == "workspace" and r.comparison == "vs_baseline_increase")


def _level(signal: str, totals: SideTotals) -> float | None:
    hits, trials = RATE_SIGNAL_TOTALS[signal]
    n = getattr(totals, trials)
    return getattr(totals, hits) / n if n else None


def signal_recovery(field: str, signal: str, rule: Rule, before: SideTotals, after: SideTotals,
                    others_before: SideTotals | None, others_after: SideTotals | None) -> SignalRecovery:
    """One signal: the canary verdict's delta and rule on (pre-rollout baseline, window after the rollback)."""
    test, against, _ = signal_delta(signal, before, after, others_before, others_after)
    n_before, n_after = trials_for(signal, before), trials_for(signal, after)
    common = dict(field=field, signal=signal, watch=watch_after_rollback(field), baseline=_level(signal, before),
                  measured=_level(signal, after), threshold=rule.threshold, against=against,
                  n_baseline=n_before, n_after=n_after, rule=rule.id)
    if test is None:
        return SignalRecovery(status=Recovery.INSUFFICIENT_DATA, delta=None, ci=None, **common,
                              reason=f"too little data: {n_before} before the rollout and {n_after} after the "
                                     f"rollback, {min_observations(signal)} needed on each side")
    result = evaluate_delta(rule, test.diff, test.ci, against=against)
    span = f"delta {test.diff * 100:+.1f} pts [{test.ci[0] * 100:+.1f}, {test.ci[1] * 100:+.1f}] against {against}"
    limit = f"limit +{rule.threshold * 100:.1f} pts"
    if result.status is RuleStatus.TRIPPED:
        status, why = Recovery.NOT_RECOVERED, f"still above the pre-rollout baseline: {span}, {limit}"
    elif test.ci[1] <= rule.threshold:
        status, why = Recovery.RECOVERED, f"back within the limit of the pre-rollout baseline: {span}, {limit}"
    else:
        status, why = Recovery.INSUFFICIENT_DATA, f"cannot tell yet (the interval crosses the limit): {span}, {limit}"
    return SignalRecovery(status=status, delta=test.diff, ci=test.ci, **common, reason=why)


def overall(signals: Sequence[SignalRecovery]) -> tuple[Recovery, str]:
    worse = [s.signal for s in signals if s.status is Recovery.NOT_RECOVERED]
    if worse:
        return Recovery.NOT_RECOVERED, f"not back to the pre-rollout baseline: {', '.join(worse)}"
    if signals and all(s.status is Recovery.RECOVERED for s in signals):
        return Recovery.RECOVERED, f"every watched signal is back to its pre-rollout baseline ({len(signals)})"
    unknown = [s.signal for s in signals if s.status is Recovery.INSUFFICIENT_DATA]
    return Recovery.INSUFFICIENT_DATA, ("no signal to watch for this field" if not signals
                                        else f"not enough data to tell: {', '.join(unknown)}")


def judge_recovery(event: RollbackEvent, rules: RuleSet, before: SideTotals, after: SideTotals,
                   others_before: SideTotals | None = None, others_after: SideTotals | None = None,
                   control: tuple[str, ...] = ()) -> RollbackVerdict:
    """`before`: the workspace in the pre-rollout baseline, `after`: in the window after the rollback; the
    others_* the clean control in the same two windows (None: no control, judged on its own past)."""
    signals = tuple(signal_recovery(f, s, _rule_for(rules, s), before, after, others_before, others_after)
                    for f, s in watched(event.field))
    status, reason = overall(signals)
    return RollbackVerdict(event, signals, status, reason, control)


# --- the packet file --------------------------------------------------------------------------------

def _utc(moment: datetime) -> str:
    return f"{utc(moment):%Y-%m-%d %H:%M:%S}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def recovery_file_name(event: RollbackEvent) -> str:
    return f"rollback-recovery-{slug((event.workspace,))}-{stamp(event.rolled_back_at)}-{stamp(event.end)}.md"


def recovery_markdown(v: RollbackVerdict) -> str:
    """Byte-identical for the same data and windows: no clock, fixed formats, counts and codes only."""
    e = v.event
    b0, b1 = e.baseline
    control = (f"{len(v.control)} workspace(s) with no rollout change from the baseline to the end: "
               f"{', '.join(plain(w) for w in v.control)}" if v.control
               else "none: judged against the workspace's own pre-rollout past")
    rows = [[s.field, s.signal, s.status.value, _pct(s.baseline), _pct(s.measured),
             "n/a" if s.delta is None else f"{s.delta * 100:+.1f} pts",
             "n/a" if s.ci is None else f"[{s.ci[0] * 100:+.1f}, {s.ci[1] * 100:+.1f}]",
             f"+{s.threshold * 100:.1f} pts", str(s.n_baseline), str(s.n_after), s.rule,
             f"[{_utc(b0)}, {_utc(b1)}) vs [{_utc(e.rolled_back_at)}, {_utc(e.end)}) UTC", s.reason]
            for s in v.signals]
    table = ["| field | signal | recovery | pre-rollout | after rollback | delta | 95% CI | limit | n before | "
             "n after | rule | computed from | reason |", "|" + "---|" * 13,
             *("| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows)]
    lines = [
        f"# Rollback check: {plain(e.workspace)} · {e.field}", "",
        f"Rollout enabled at {_utc(e.enabled_at)} UTC, pulled back at {_utc(e.rolled_back_at)} UTC "
        f"({plain(e.how)}). Window after the rollback [{_utc(e.rolled_back_at)}, {_utc(e.end)}) UTC against the "
        f"pre-rollout baseline [{_utc(b0)}, {_utc(b1)}) UTC.", "",
        f"Overall **{v.overall.value}**: {v.reason}.", "",
        f"Control: {control}.", "",
        f"What to watch (db/catalog.py): {watch_after_rollback(e.field)}.", "",
        *(table if rows else ["No signal to watch for this field."]), "",
    ]
    return "\n".join(lines)


def engaged_switch(field: str, engaged: dict[str, bool]) -> str | None:
    """The kill switch that overrides `field` when it is engaged (`engaged`: name -> engaged now), else None."""
    toggle = TOGGLE_BY_FIELD.get(field)
    name = toggle.kill_switch if toggle is not None else None
    if name is None:
        return None
    switches = [name, *(k for k, s in SWITCH_BY_NAME.items() if field in s.overrides and k != name)]
    return next((k for k in switches if engaged.get(k)), None)


def switch_rollback(changes: pd.DataFrame, workspace: str, field: str, switch: str, *, engaged_at: datetime,
                    end: datetime) -> RollbackEvent | None:
    """A kill switch seen engaged, taken as the rollback at `engaged_at` (the env has no history: the caller
    says when), after the latest enabling change of `field` in `workspace` before it."""
    if changes.empty:
        return None
    rows = changes[(changes["workspace"] == workspace) & (changes["field"] == field)
                   & changes["new_value"].map(is_enabling)]
    times = rows["changed_at"].map(utc)
    before = sorted(t for t in times if t < utc(engaged_at))
    if not before or utc(end) <= utc(engaged_at):
        return None
    return RollbackEvent(workspace, field, before[-1], utc(engaged_at), utc(end), f"kill switch {switch} engaged")
