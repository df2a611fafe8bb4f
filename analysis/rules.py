"""The versioned rollback rules (analysis/default_rules.toml) and their threshold evaluation.

A rule names a signal, the window it is measured over, a comparison and a threshold, what missing data
means, and the ordered rollback levers an operator pulls when it trips (DATA_CONTRACT.md section 2).
Thresholds are ABSOLUTE, in the signal's own unit: for the vs_baseline comparisons the threshold is
compared with `measured - baseline` (0.10 on a rate means ten percentage points), never a ratio.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from importlib import resources
from pathlib import Path

from db.catalog import KILL_SWITCH_NAMES, OTHER_BOOL_SETTINGS, TOGGLE_FIELDS

__all__ = [
    "DATABASE_SIGNALS",
    "KILL_SWITCHES",
    "LOG_SIGNALS",
    "WORKSPACE_TOGGLES",
    "RollbackStep",
    "Rule",
    "RuleResult",
    "RuleSet",
    "RuleStatus",
    "RulesError",
    "SCOPES",
    "display",
    "evaluate_delta",
    "evaluate_slices",
    "evaluate_threshold",
    "load_rules",
    "parse_rules",
]


@dataclass(frozen=True)
class RollbackStep:
    """One lever, in the order the operator pulls them.

    kind: "env" (set the global kill switch `name` to 1), "toggle" (turn the WorkspaceSettings column
    `name` off for the canary), "policy" (roll ConfidencePolicy `name` back), "budget" (reset the
    leadContextBundleBudgets profile `name`), or "note" (an instruction with no lever).
    """

    kind: str
    text: str
    name: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    source: str  # "database" | "logs"
    signal: str
    window_minutes: int
    comparison: str
    threshold: float
    rollback: tuple[RollbackStep, ...]
    watch: str
    failure_limit: int = 1  # consecutive failing evaluations / slices before it trips
    no_data: str = "insufficient"  # "insufficient" | "pass" | "fail"
    critical: bool = False
    inclusive: bool = False  # True: trips AT the threshold too (>=, <=), for rules written ">= 10"
    slice_minutes: int | None = None  # the slice length evaluate_slices expects (series rules)
    scope: str = "workspace"  # "workspace": the canary's own rows decide; "platform": global health only

    @property
    def operator(self) -> str:
        """How the threshold reads: '>' / '>=' / '<' / '<=' / 'any'."""
        if self.comparison == "any":
            return "any"
        up = self.comparison in ("gt_threshold", "vs_baseline_increase", "monotonic_growth")
        return (">" if up else "<") + ("=" if self.inclusive else "")


@dataclass(frozen=True)
class RuleSet:
    version: str
    schema: int
    rules: tuple[Rule, ...]

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def by_id(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def for_source(self, source: str) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.source == source)


class RuleStatus(Enum):
    OK = "OK"
    TRIPPED = "TRIPPED"
    NO_DATA = "NO_DATA"


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    status: RuleStatus
    measured: float | None
    threshold: float
    reason: str  # one line a person can read
    slices_failed: int = 0  # the longest run of consecutive failing slices (1 for a single trip)
    baseline: float | None = None
    rollback: tuple[RollbackStep, ...] = ()  # the rule's steps, only when TRIPPED
    interval: tuple[float, float] | None = None  # vs_baseline rules: the 95% interval of the delta (`measured`)
    against: str = ""  # vs_baseline rules: what the delta was taken against (the control, or own past)


# --- validation ------------------------------------------------------------------------------------

SCHEMA = 1
SOURCES = ("database", "logs")
COMPARISONS = ("gt_threshold", "lt_threshold", "vs_baseline_increase", "vs_baseline_decrease",
               "monotonic_growth", "any")
NO_DATA = ("insufficient", "pass", "fail")
#: DATA_CONTRACT.md section 2, declared once in db/catalog.py: the kill switches a rollback sets to 1
KILL_SWITCHES = KILL_SWITCH_NAMES
#: ... and the WorkspaceSettings bool columns a rollback can turn off.
WORKSPACE_TOGGLES = (*TOGGLE_FIELDS, *OTHER_BOOL_SETTINGS)
#: "workspace": computed from the canary workspace's rows (and the control's), decides the verdict;
#: "platform": global by nature, shown as platform health, a critical trip means "platform incident".
SCOPES = ("workspace", "platform")
#: signals that have no workspace (BackgroundFunctionRun is global; a runtime log export is the platform's)
PLATFORM_ONLY_SIGNALS = ("function_failure_ratio", "webhook_timeout_60s", "inbox_timeout_300s", "db_pool_timeout",
                         "response_timing_cron_500", "reversal_loop")
#: signals that are rates (shown in percentage points) and means (shown to three decimals)
RATE_SIGNALS = ("needs_review_rate", "gate_revise_rate", "bundle_truncation_rate", "booking_gate_deny_error_rate",
                "function_failure_ratio")
MEAN_SIGNALS = ("auto_send_confidence_mean",)
BUDGET_PROFILES = ("draft", "revision", "auto_send_evaluator", "meeting_overseer_gate", "followup_parse",
                   "followup_booking_gate")
POLICY_KEYS = ("followup.auto_book",)
STEP_KINDS = ("env", "toggle", "policy", "budget", "note")
#: Stable signal names. Database signals are computed by the callers from the queries; the log signals
#: by analysis/logsignals.py (the four counted kinds plus the reversal-loop pattern).
DATABASE_SIGNALS = (
    "needs_review_rate", "auto_send_confidence_mean", "gate_revise_rate", "bundle_truncation_rate",
    "revision_attempts_per_draft_max", "revision_error_count", "booking_gate_deny_error_rate",
    "webhook_queue_depth", "function_failure_ratio",
)
LOG_SIGNALS = ("webhook_timeout_60s", "inbox_timeout_300s", "db_pool_timeout", "response_timing_cron_500",
               "reversal_loop")


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the rule id and the field."""


def parse_rules(text: str, *, origin: str = "rules file") -> RuleSet:
    """A RuleSet from TOML text; RulesError names the rule id and field of the first problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{origin}: not valid TOML: {exc}") from exc
    version, schema, tables = raw.get("version"), raw.get("schema"), raw.get("rule")
    if not isinstance(version, str) or not version.strip():
        raise RulesError(f"{origin}: field 'version': missing (e.g. version = \"2026-11-23.1\")")
    if schema != SCHEMA:
        raise RulesError(f"{origin}: field 'schema': {schema!r} is not supported (expected {SCHEMA})")
    if not isinstance(tables, list) or not tables:
        raise RulesError(f"{origin}: field 'rule': no [[rule]] tables")
    from analysis.rules_model import first_problem  # the pydantic schema (it imports this module's names)

    rules, seen = [], set()
    for index, table in enumerate(tables):
        if not isinstance(table, dict):
            raise RulesError(f"rule #{index + 1}: must be a table")
        label = f"rule {table['id']!r}" if isinstance(table.get("id"), str) else f"rule #{index + 1}"
        model, problem = first_problem(table)
        if problem is not None:
            raise RulesError(f"{label}: field {problem[0]!r}: {problem[1]}")
        if model.id in seen:
            raise RulesError(f"rule {model.id!r}: field 'id': duplicate id")
        seen.add(model.id)
        fields = model.model_dump(exclude={"rollback"})
        steps = tuple(RollbackStep(kind=s.kind, text=s.text, name=s.name) for s in model.rollback)
        rules.append(Rule(**{**fields, "threshold": float(model.threshold), "rollback": steps}))
    return RuleSet(version=version.strip(), schema=schema, rules=tuple(rules))


def load_rules(path: Path | None = None) -> RuleSet:
    """The rules at `path`, or the packaged analysis/default_rules.toml."""
    if path is None:
        text = resources.files("analysis").joinpath("default_rules.toml").read_text(encoding="utf-8")
        return parse_rules(text, origin="default_rules.toml")
    return parse_rules(Path(path).read_text(encoding="utf-8"), origin=str(path))


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.4g}"


def _fails(rule: Rule, value: float, baseline: float | None) -> bool:
    """Whether one measurement breaks the rule (baseline already checked to be present if needed)."""
    if rule.comparison == "any":
        return value > 0
    if rule.comparison == "vs_baseline_increase":
        value = value - baseline
    elif rule.comparison == "vs_baseline_decrease":
        value = baseline - value
    value = round(value, 9)  # 0.3 - 0.2 is 0.10000000000000003: a delta exactly at the threshold is at it
    if rule.comparison == "lt_threshold":
        return value <= rule.threshold if rule.inclusive else value < rule.threshold
    return value >= rule.threshold if rule.inclusive else value > rule.threshold


def _no_data(rule: Rule, why: str, *, baseline: float | None = None) -> RuleResult:
    status = {"insufficient": RuleStatus.NO_DATA, "pass": RuleStatus.OK, "fail": RuleStatus.TRIPPED}[rule.no_data]
    return RuleResult(
        rule=rule,
        status=status,
        measured=None,
        threshold=rule.threshold,
        reason=f"{rule.title}: {why} (no data counts as {rule.no_data})",
        slices_failed=1 if status is RuleStatus.TRIPPED else 0,
        baseline=baseline,
        rollback=rule.rollback if status is RuleStatus.TRIPPED else (),
    )


def _result(rule: Rule, tripped: bool, measured: float, reason: str, **kw: object) -> RuleResult:
    return RuleResult(
        rule=rule,
        status=RuleStatus.TRIPPED if tripped else RuleStatus.OK,
        measured=measured,
        threshold=rule.threshold,
        reason=reason,
        rollback=rule.rollback if tripped else (),
        **kw,
    )


def _needs_baseline(rule: Rule) -> bool:
    return rule.comparison.startswith("vs_baseline")


def evaluate_threshold(rule: Rule, measured: float | None, *, baseline: float | None = None) -> RuleResult:
    """One measurement against the rule (not for monotonic_growth, which needs a series)."""
    if rule.comparison == "monotonic_growth":
        raise ValueError(f"rule {rule.id!r}: monotonic_growth needs a series: use evaluate_slices")
    if _missing(measured):
        return _no_data(rule, "no measurement", baseline=baseline)
    if _needs_baseline(rule) and _missing(baseline):
        return _no_data(rule, "no baseline to compare with")
    tripped = _fails(rule, measured, baseline)
    if _needs_baseline(rule):
        delta = measured - baseline
        detail = f"{_fmt(measured)} vs baseline {_fmt(baseline)} (delta {delta:+.4g}, limit {rule.operator} "
        detail += f"{'+' if rule.comparison.endswith('increase') else '-'}{_fmt(rule.threshold)})"
    elif rule.comparison == "any":
        detail = f"{_fmt(measured)} seen (any occurrence trips)"
    else:
        detail = f"{_fmt(measured)} (limit {rule.operator} {_fmt(rule.threshold)})"
    word = "TRIPPED" if tripped else "ok"
    return _result(rule, tripped, measured, f"{rule.title}: {word}, {detail}", slices_failed=int(tripped),
                   baseline=baseline)


def _unit_states(rule: Rule, values: Sequence[float | None], baseline: float | None) -> list[bool | None]:
    """Per slice (or, for monotonic_growth, per step between neighbours): True fails, None missing."""
    if rule.comparison == "monotonic_growth":
        pairs = zip(values, values[1:], strict=False)
        return [None if _missing(a) or _missing(b) else _fails(rule, b - a, None) for a, b in pairs]
    return [None if _missing(v) else _fails(rule, v, baseline) for v in values]


def _longest_run(states: list[bool | None], missing_fails: bool) -> tuple[int, int]:
    """(length, end index exclusive) of the longest run of consecutive failing units."""
    best, best_end, run = 0, 0, 0
    for index, state in enumerate(states):
        run = run + 1 if state or (state is None and missing_fails) else 0
        if run > best:
            best, best_end = run, index + 1
    return best, best_end


def evaluate_slices(
    rule: Rule, slice_values: Sequence[float | None], *, baseline: float | None = None
) -> RuleResult:
    """A time-ordered series of slice values: trips when `failure_limit` consecutive slices fail.

    For monotonic_growth each step between neighbouring slices is a unit, and a step fails when the
    value grew by more than the threshold (0: any growth; a flat or draining step breaks the run), so
    30 minutes of growth in 5-minute slices is failure_limit = 6 steps. A missing slice breaks a run,
    unless no_data = "fail", where it counts as failing. All slices missing: per no_data.
    """
    values = list(slice_values)
    if _needs_baseline(rule) and _missing(baseline):
        return _no_data(rule, "no baseline to compare with")
    states = _unit_states(rule, values, baseline)
    if all(state is None for state in states):
        return _no_data(rule, f"no data in {len(values)} slices", baseline=baseline)
    run, end = _longest_run(states, missing_fails=rule.no_data == "fail")
    tripped = run >= rule.failure_limit
    present = [float(v) for v in values if not _missing(v)]
    if rule.comparison == "monotonic_growth":
        first, last = values[end - run] if run else None, values[end] if run else None
        measured = last - first if run and not (_missing(first) or _missing(last)) else 0.0
        detail = f"grew {run} steps in a row (by {_fmt(measured)}), limit {rule.failure_limit} steps"
    else:
        low = rule.comparison in ("lt_threshold", "vs_baseline_decrease")
        measured = min(present) if low else max(present)
        detail = f"{run} consecutive failing slices (limit {rule.failure_limit}), worst slice {_fmt(measured)}"
        limit = f"({rule.operator} {_fmt(rule.threshold)})"
        detail += f" vs baseline {_fmt(baseline)} {limit}" if _needs_baseline(rule) else f" {limit}"
    word = "TRIPPED" if tripped else "ok"
    return _result(rule, tripped, measured, f"{rule.title}: {word}, {detail}", slices_failed=run, baseline=baseline)


# --- one unit per rule: the same text in the table, the reason and the packet ----------------------


def _in_unit(rule: Rule, value: float | None, *, signed: bool = False) -> str:
    """Rates in percentage points (deltas) or percent (levels), means to 3 decimals, counts as integers."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    sign = "+" if signed else ""
    if rule.signal in RATE_SIGNALS:
        return f"{value * 100:{sign}.1f} pts" if signed else f"{value:.1%}"
    if rule.signal in MEAN_SIGNALS:
        return f"{value:{sign}.3f}"
    if float(value).is_integer():
        return f"{int(value):{sign}d}"
    return f"{value:{sign}.4g}"


def display(result: RuleResult) -> tuple[str, str]:
    """(measured, limit) as the operator reads them, for every place a rule result is shown."""
    rule = result.rule
    if rule.comparison == "monotonic_growth":
        return f"{result.slices_failed} steps of growth", f"{rule.failure_limit} steps in a row"
    if rule.comparison == "any":
        return _in_unit(rule, result.measured), "any occurrence"
    if _needs_baseline(rule):
        sign = "+" if rule.comparison.endswith("increase") else "-"
        measured = _in_unit(rule, result.measured, signed=True)
        if result.interval is not None:
            measured += (f" [{_in_unit(rule, result.interval[0], signed=True)}, "
                         f"{_in_unit(rule, result.interval[1], signed=True)}]")
        limit_value = (f"{rule.threshold * 100:.1f} pts" if rule.signal in RATE_SIGNALS
                       else _in_unit(rule, rule.threshold))
        return f"delta {measured}", f"delta {rule.operator} {sign}{limit_value}"
    if rule.failure_limit > 1:
        return (f"{_in_unit(rule, result.measured)} worst slice",
                f"{rule.operator} {_in_unit(rule, rule.threshold)} for {rule.failure_limit} slices")
    return _in_unit(rule, result.measured), f"{rule.operator} {_in_unit(rule, rule.threshold)}"


def evaluate_delta(rule: Rule, delta: float | None, interval: tuple[float, float] | None, *, against: str,
                   baseline: float | None = None) -> RuleResult:
    """A vs_baseline rule judged on a delta (difference-in-differences, or the canary's own change when
    there is no clean control) and its 95% interval: it trips when the delta is beyond the threshold
    in the harmful direction AND the interval excludes no change (noise cannot trip it)."""
    if not _needs_baseline(rule):
        raise ValueError(f"rule {rule.id!r}: evaluate_delta is for vs_baseline comparisons")
    if _missing(delta):
        return _no_data(rule, "too little data on one side", baseline=baseline)
    increase = rule.comparison.endswith("increase")
    harm = delta if increase else -delta
    beyond = round(harm, 9) >= rule.threshold if rule.inclusive else round(harm, 9) > rule.threshold
    significant = interval is None or (interval[0] > 0 if increase else interval[1] < 0)
    tripped = beyond and significant
    result = RuleResult(rule=rule, status=RuleStatus.TRIPPED if tripped else RuleStatus.OK, measured=delta,
                        threshold=rule.threshold, reason="", slices_failed=int(tripped), baseline=baseline,
                        rollback=rule.rollback if tripped else (), interval=interval, against=against)
    measured, limit = display(result)
    word = "TRIPPED" if tripped else "ok"
    note = "" if significant or not beyond else " (beyond the limit but its interval includes no change)"
    return replace(result, reason=f"{rule.title}: {word}, {measured} against {against}, limit {limit}{note}")
