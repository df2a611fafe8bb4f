"""From gathered canary inputs to the evaluation and the evidence packet (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pandas as pd

from analysis.canary.active import confounders, enabling_changes, utc
from analysis.canary.evaluation import Evaluation, evaluate
from analysis.canary.inputs import side_totals
from analysis.canary.verdicts import Settings
from analysis.evidence import Packet, PacketInput, build_packet
from analysis.queue import queue_depth_series, worst_failure_ratios
from analysis.rules import RuleResult, RuleSet
from queries.canary import QUEUE_SLICE_SECONDS, CanaryInputs
from queries.settings import TOGGLE_DEFAULTS

SNAPSHOT_COLUMNS = ("leadContextBundleEnabled", "followupBookingGateEnabled", "autoSendRevisionEnabled",
                    "meetingOverseerEnabled", "autoBookMeetings", "budgets_state")


def settings_snapshot(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Toggles and the budgets state per canary workspace: codes and booleans only."""
    if frame.empty:
        return []
    keep = [c for c in SNAPSHOT_COLUMNS if c in frame.columns]
    rows = []
    for record in frame.sort_values("workspace").to_dict("records"):
        row = {"workspace": record["workspace"]}
        row.update({c: bool(record[c]) if c in TOGGLE_DEFAULTS else record[c] for c in keep})
        rows.append(row)
    return rows


#: platform health is judged on the latest part of the canary window: "is the platform unhealthy now,
#: so the canary cannot be judged". An incident earlier in the window hit the clean control as much as
#: the canary, and the difference-in-differences takes it out.
PLATFORM_LOOKBACK = timedelta(hours=3)


def _depth_frame(health: dict[str, pd.DataFrame], inputs: CanaryInputs) -> pd.DataFrame:
    return queue_depth_series(health["webhook_flow"], health["webhook_backlog"], start=inputs.spec.split,
                              end=inputs.spec.end, bucket_seconds=QUEUE_SLICE_SECONDS)


def _without_canary(health: dict[str, pd.DataFrame], canary: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """The rest of the platform: a queue the canary alone backs up is the canary's (workspace rule),
    not a platform incident. Events that resolve to no workspace stay in."""
    out = dict(health)
    for name in ("webhook_flow", "webhook_backlog"):
        frame = health[name]
        if not frame.empty and "workspace" in frame:
            out[name] = frame[~frame["workspace"].isin(canary)]
    return out


def _depths(health: dict[str, pd.DataFrame], inputs: CanaryInputs) -> list[float]:
    if not health:
        return []
    return [float(v) for v in _depth_frame(health, inputs)["queued"]]


def health_series(inputs: CanaryInputs) -> tuple[list[float], list[float | None]]:
    """Platform webhook queue depth per 5-minute slice and the worst function failure ratio per hour,
    over the last PLATFORM_LOOKBACK of the canary window."""
    if not inputs.health:
        return [], []
    recent = max(inputs.spec.split, inputs.spec.end - PLATFORM_LOOKBACK)
    depth = _depth_frame(_without_canary(inputs.health, inputs.spec.workspaces), inputs)
    ends = pd.to_datetime(depth["bucket_end"], utc=True)
    depths = [float(v) for v in depth.loc[ends > pd.Timestamp(recent), "queued"]]
    runs = inputs.health["function_runs"]
    if not runs.empty:
        runs = runs[pd.to_datetime(runs["bucket"], utc=True) >= pd.Timestamp(recent).floor("h")]
    return depths, worst_failure_ratios(runs)


def canary_field(inputs: CanaryInputs, field: str | None = None) -> tuple[str | None, tuple[str, ...]]:
    """The rollout field this canary watches (given, else the enabling change at or nearest before the
    split in the canary's audit rows) and the other rollout fields enabled with it in the window."""
    enabled = enabling_changes(inputs.changes)
    split = inputs.spec.split
    if field is None and not enabled.empty:
        times = enabled["changed_at"].map(utc)
        before = enabled[times <= split]
        field = str((before if not before.empty else enabled).iloc[-1 if not before.empty else 0]["field"])
    if field is None:
        return None, ()
    workspace = inputs.spec.workspaces[0]
    return field, confounders(inputs.changes, workspace, field, split, inputs.spec.end)


def report(inputs: CanaryInputs, rules: RuleSet, *, log_results: Sequence[RuleResult] = (),
           field: str | None = None, malformed_log_lines: int | None = None,
           sequential: bool = False) -> tuple[Evaluation, Packet]:
    """`sequential`: the live watch (always-valid intervals); False: the fixed-horizon pre/post compare."""
    platform_depths, ratios = health_series(inputs)
    depths = _depths(inputs.workspace_health, inputs) if inputs.workspace_health else platform_depths
    evaluation = evaluate(inputs.frames, rules, log_results=log_results, queue_depths=depths,
                          platform_queue_depths=platform_depths, function_failure_ratios=ratios,
                          settings=Settings(sequential=sequential))
    field, confounded = canary_field(inputs, field)
    verdict = evaluation.verdict
    spec = inputs.spec
    changes = inputs.changes.sort_values(["changed_at", "workspace", "field"]).to_dict("records") \
        if not inputs.changes.empty else []
    packet = build_packet(PacketInput(
        workspaces=spec.workspaces, split=spec.split, end=spec.end, baseline_start=spec.before.start,
        overall=verdict.headline, score=verdict.score, metrics=verdict.metrics, rules=verdict.rules,
        before=evaluation.totals["canary_before"] or side_totals({}),
        after=evaluation.totals["canary_after"] or side_totals({}),
        settings=settings_snapshot(inputs.settings), changes=changes, rules_version=rules.version,
        control=inputs.others, excluded=inputs.excluded, field=field, confounded=confounded,
        malformed_log_lines=malformed_log_lines, platform_start=max(spec.split, spec.end - PLATFORM_LOOKBACK),
    ))
    return evaluation, packet
