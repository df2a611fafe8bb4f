"""The offload monitoring snapshot (the monitoring plan's offload-monitoring artifact), as Markdown.

For a window start T0: WebhookEvent counts by status at T0 and at T0+30m (queries/offload_snapshot.py
reconstructs the state at an instant), the growth ratio, and whether the queue depth (PENDING +
RUNNING) grew at every 5-minute step; BackgroundFunctionRun totals, failures and
failure_ratio = failures / total_runs per function over [T0, T0+30m). Each is judged by the rule the
canary verdict uses (analysis/default_rules.toml: `webhook_queue_growing`, `function_failure_ratio`),
so a snapshot and a canary evaluation never disagree on a threshold.

The file is `offload-monitoring-<T0>.md`, byte-identical for the same data and T0 (no clock, sorted
rows, fixed number formats), and carries counts, ids and function names only (upstream text escaped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from analysis.evidence import stamp
from analysis.markdown import plain  # pure (no Streamlit): the one Markdown escaper
from analysis.rules import RuleResult, RuleSet, RuleStatus, evaluate_slices, evaluate_threshold

GROWTH_RULE, RATIO_RULE = "webhook_queue_growing", "function_failure_ratio"
STATES = ("PENDING", "RUNNING", "FAILED", "SUCCEEDED")
OPEN = ("PENDING", "RUNNING")
MARKS = {RuleStatus.TRIPPED: "BREACHED", RuleStatus.OK: "ok", RuleStatus.NO_DATA: "no data"}
PLATFORM = "platform-wide"


def growth_ratio(before: int, after: int) -> float | None:
    """after / before; None when nothing was there at T0 (growth from zero has no ratio)."""
    return after / before if before else None


def failure_ratio(total_runs: int, failures: int) -> float | None:
    """failures / total_runs; None when nothing ran (missing is not zero)."""
    return failures / total_runs if total_runs else None


@dataclass(frozen=True)
class QueueState:
    """One scope's WebhookEvent counts at every instant, and the growth rule's result on its depth."""

    scope: str  # PLATFORM or a workspace id
    counts: tuple[tuple[int, ...], ...]  # per instant, the counts in STATES order
    growth: RuleResult

    def count(self, status: str, index: int) -> int:
        return self.counts[index][STATES.index(status)]

    @property
    def depth(self) -> tuple[int, ...]:
        """PENDING + RUNNING at every instant."""
        return tuple(sum(self.count(s, i) for s in OPEN) for i in range(len(self.counts)))

    @property
    def depth_ratio(self) -> float | None:
        return growth_ratio(self.depth[0], self.depth[-1])

    @property
    def grew_every_step(self) -> bool:
        depth = self.depth
        return all(b > a for a, b in zip(depth, depth[1:], strict=False))


@dataclass(frozen=True)
class FunctionLine:
    function: str
    total_runs: int
    failures: int
    result: RuleResult

    @property
    def failure_ratio(self) -> float | None:
        return failure_ratio(self.total_runs, self.failures)


@dataclass(frozen=True)
class OffloadSnapshot:
    instants: tuple[datetime, ...]  # T0, every 5 minutes, T0+30m
    platform: QueueState
    workspaces: tuple[QueueState, ...]
    unresolved_open: tuple[int, int]  # open events with no resolvable workspace at T0 and at T0+30m
    functions: tuple[FunctionLine, ...]
    rules_version: str
    chosen: bool = False  # the workspace sections were chosen (else: every workspace with events)

    @property
    def t0(self) -> datetime:
        return self.instants[0]

    @property
    def end(self) -> datetime:
        return self.instants[-1]

    @property
    def breached(self) -> list[str]:
        """'<check> <scope>' for every threshold the snapshot breaches."""
        out = [f"webhook depth growth {q.scope}" for q in (self.platform, *self.workspaces)
               if q.growth.status is RuleStatus.TRIPPED]
        return out + [f"function failure ratio {f.function}" for f in self.functions
                      if f.result.status is RuleStatus.TRIPPED]

    @property
    def file_name(self) -> str:
        return f"offload-monitoring-{stamp(self.t0)}.md"


def _counts_per_instant(states: pd.DataFrame, instants: Sequence[datetime]) -> tuple[tuple[int, ...], ...]:
    moments = pd.to_datetime(pd.Series(list(instants)), utc=True)
    table = {(pd.Timestamp(t), s): 0 for t in moments for s in STATES}
    if not states.empty:
        sums = states.assign(instant=pd.to_datetime(states["instant"], utc=True)).groupby(
            ["instant", "status"])["events"].sum()
        for (moment, status), events in sums.items():
            if (moment, status) in table:
                table[(moment, status)] = int(events)
    return tuple(tuple(table[(pd.Timestamp(t), s)] for s in STATES) for t in moments)


def _queue_state(scope: str, states: pd.DataFrame, instants: Sequence[datetime], rules: RuleSet) -> QueueState:
    counts = _counts_per_instant(states, instants)
    depth = [float(sum(row[STATES.index(s)] for s in OPEN)) for row in counts]
    return QueueState(scope, counts, evaluate_slices(rules.by_id(GROWTH_RULE), depth))


def build_snapshot(states: pd.DataFrame, runs: pd.DataFrame, *, instants: Sequence[datetime], rules: RuleSet,
                   workspaces: Sequence[str] | None = None) -> OffloadSnapshot:
    """`states` is offload_snapshot.webhook_status_at_instants (every workspace, unresolved included),
    `runs` offload_snapshot.function_run_totals, `instants` the instants the states were read at.
    `workspaces`: the workspace sections to write (None: every workspace with events)."""
    if len(instants) < 2:
        raise ValueError("a snapshot needs at least the instants T0 and T0+30m")
    resolved, unresolved = states[states["workspace"].notna()], states[states["workspace"].isna()]
    chosen = sorted(set(resolved["workspace"]) if workspaces is None else set(workspaces))
    per_workspace = tuple(_queue_state(str(ws), resolved[resolved["workspace"] == ws], instants, rules)
                          for ws in chosen)
    loose = _counts_per_instant(unresolved, instants)
    open_count = [sum(row[STATES.index(s)] for s in OPEN) for row in loose]
    ratio_rule = rules.by_id(RATIO_RULE)
    functions = tuple(
        FunctionLine(str(row.function), int(row.total_runs), int(row.failures),
                     evaluate_threshold(ratio_rule, failure_ratio(int(row.total_runs), int(row.failures))))
        for row in runs.sort_values("function", kind="stable").itertuples(index=False))
    return OffloadSnapshot(tuple(instants), _queue_state(PLATFORM, states, instants, rules), per_workspace,
                           (open_count[0], open_count[-1]), functions, rules.version, workspaces is not None)


# --- the Markdown file ------------------------------------------------------------------------------

def _ratio(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers),
            *("| " + " | ".join(row) + " |" for row in rows)]


def _queue_section(q: QueueState, instants: Sequence[datetime]) -> list[str]:
    title = "Platform-wide" if q.scope == PLATFORM else f"Workspace {plain(q.scope)}"
    rows = [[s, str(q.count(s, 0)), str(q.count(s, -1)), f"{q.count(s, -1) - q.count(s, 0):+d}",
             _ratio(growth_ratio(q.count(s, 0), q.count(s, -1)))] for s in STATES]
    depth = q.depth
    rows.append(["depth (PENDING + RUNNING)", str(depth[0]), str(depth[-1]), f"{depth[-1] - depth[0]:+d}",
                 _ratio(q.depth_ratio)])
    steps = ", ".join(f"{t:%H:%M:%S} {d}" for t, d in zip(instants, depth, strict=True))
    grew = "yes, no drain" if q.grew_every_step else "no"
    return [f"## Webhook queue: {title}", "",
            *_table(["status", "at T0", "at T0+30m", "change", "growth ratio"], rows), "",
            f"Depth every 5 minutes (UTC): {steps}.", "",
            f"Grew at every 5-minute step for 30 minutes: {grew}. Threshold (monotonic growth for 30 minutes): "
            f"**{MARKS[q.growth.status]}**.", ""]


def snapshot_markdown(s: OffloadSnapshot) -> str:
    window = f"[{s.t0:%Y-%m-%d %H:%M:%S}, {s.end:%Y-%m-%d %H:%M:%S}) UTC"
    names = ", ".join(plain(q.scope) for q in s.workspaces) or "none"
    scope = f"the chosen workspaces ({names})" if s.chosen else f"every workspace with events ({names})"
    summary = [["webhook depth growth", "platform-wide" if q.scope == PLATFORM else plain(q.scope),
                MARKS[q.growth.status]] for q in (s.platform, *s.workspaces)]
    summary += [["function failure ratio", plain(f.function), MARKS[f.result.status]] for f in s.functions]
    lines = [
        f"# Offload monitoring snapshot, T0 {s.t0:%Y-%m-%d %H:%M:%S} UTC", "",
        f"Window {window}. Rules version {s.rules_version}. Per-workspace sections: {scope}.", "",
        "WebhookEvent counts are the state at an instant, reconstructed from createdAt, startedAt and "
        "finishedAt (DATA_CONTRACT.md section 9): a retry keeps only its last attempt's timestamps, so this "
        "is an approximation. The growth ratio is the count at T0+30m over the count at T0 (n/a when T0 had "
        "none). Thresholds: the queue depth grows at every 5-minute step for 30 minutes; a function's "
        "failure_ratio = failures / total_runs is over 0.10.", "",
        "## Threshold marks", "",
        *_table(["check", "scope", "mark"], summary), "",
        *_queue_section(s.platform, s.instants),
        f"Open events whose workspaceId resolves to no workspace (in the platform-wide counts only): "
        f"{s.unresolved_open[0]} at T0, {s.unresolved_open[1]} at T0+30m.", "",
    ]
    for q in s.workspaces:
        lines += _queue_section(q, s.instants)
    function_rows = [[plain(f.function), str(f.total_runs), str(f.failures), _ratio(f.failure_ratio, 4), "> 0.10",
                      f"**{MARKS[f.result.status]}**"] for f in s.functions]
    lines += [f"## Background function runs {window} (global)", "",
              *(_table(["function", "total_runs", "failures", "failure_ratio", "threshold", "mark"], function_rows)
                if function_rows else ["No BackgroundFunctionRun rows in the window."]), "",
              "BackgroundFunctionRun is global (clientId is never written), so it has no per-workspace split; "
              "each retry is its own row, so the ratio counts attempts (DATA_CONTRACT.md section 10).", ""]
    return "\n".join(lines)


def snapshot_file(s: OffloadSnapshot) -> tuple[str, bytes]:
    """(file name, content) of `offload-monitoring-<T0>.md`."""
    return s.file_name, snapshot_markdown(s).encode("utf-8")
