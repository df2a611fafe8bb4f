"""The inputs of a canary evaluation: the existing queries run over the four windows it compares.

No SQL of its own: the canary workspace(s) and the clean control, each before and after the split
(equal-length windows), through the registered queries, so the personal-data guarantees and the
exact-number tests of those queries carry over.

The clean control is every other workspace with no audited change to any rollout field
(db/catalog.py ROLLOUT_FIELDS) in the baseline or canary window, minus configured exclusions: another
canary's regression must not read as this canary's improvement. Offload health is gathered twice: for
the canary workspace(s) (WebhookEvent resolved to a workspace, DATA_CONTRACT.md section 9) and for
the whole platform (BackgroundFunctionRun is global by nature).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Connection

from db.catalog import ROLLOUT_FIELDS
from queries import bundle, drafts, events, offload, overseer, revision, settings
from queries.filters import FilterError, Window, as_utc

TRAJECTORY = None  # marks the rate series bucketed for the delta-over-time charts (trajectory_bucket)
#: name -> (query, options): what each side of the comparison needs
SIDE_QUERIES = {
    "volume": (drafts.evaluated_volume, {}),
    "needs_review": (drafts.needs_review_series, {"bucket_seconds": TRAJECTORY}),
    "confidence": (drafts.confidence_histogram, {"width": 0.01}),
    "confidence_series": (drafts.confidence_series, {"bucket_seconds": TRAJECTORY}),
    "gate": (overseer.gate_decision_series, {"bucket_seconds": TRAJECTORY}),
    "booking_gate": (overseer.booking_gate_series, {"bucket_seconds": TRAJECTORY}),
    "revision": (revision.revision_series, {"bucket_seconds": 86400}),
    "revise_calls": (revision.revise_latency_histogram, {}),
    "revise_series": (revision.revise_error_series, {"bucket_seconds": 1800}),
    "loops": (revision.revision_loop_counts, {}),
    "bundle": (bundle.bundle_series, {"bucket_seconds": TRAJECTORY}),
}
#: the bucket of the trajectory series: the finest of these giving at most TRAJECTORY_POINTS points. From 3 h
#: on only the grains the summaries store (queries.summary_spec.SERIES): a canary longer than four days is read
#: from stored days, not from months of raw rows (a 6 h grain would read the whole window raw)
TRAJECTORY_BUCKETS = (300, 900, 3600, 3 * 3600, 86400)
TRAJECTORY_POINTS = 96


def trajectory_bucket(spec: CanarySpec) -> int:
    """Sums do not depend on the bucket; only the resolution of the delta-over-time charts does."""
    seconds = spec.duration.total_seconds()
    return next((b for b in TRAJECTORY_BUCKETS if seconds / b <= TRAJECTORY_POINTS), TRAJECTORY_BUCKETS[-1])
QUEUE_SLICE_SECONDS = 300  # the queue rule judges growth in 5-minute steps
FUNCTION_SLICE_SECONDS = 3600  # failure ratios per function-hour (fewer runs than that are noise)
SIDES = ("canary_before", "canary_after", "others_before", "others_after")


@dataclass(frozen=True)
class CanarySpec:
    """The canary workspace(s), the split (rollout) time and the end of the canary window.

    The baseline is the equal-length window just before the split: [split - (end - split), split).
    """

    workspaces: tuple[str, ...]
    split: datetime
    end: datetime
    channel: str | None = None
    exclude: tuple[str, ...] = ()  # workspaces kept out of the control whatever their audit log says

    def __post_init__(self) -> None:
        if not self.workspaces:
            raise FilterError("choose at least one canary workspace")
        object.__setattr__(self, "split", as_utc(self.split))
        object.__setattr__(self, "end", as_utc(self.end))
        if self.end <= self.split:
            raise FilterError("the canary window must end after the split time")

    @property
    def duration(self) -> timedelta:
        return self.end - self.split

    @property
    def after(self) -> Window:
        return Window(self.split, self.end, self.workspaces, self.channel)

    @property
    def before(self) -> Window:
        return Window(self.split - self.duration, self.split, self.workspaces, self.channel)


@dataclass
class CanaryInputs:
    spec: CanarySpec
    others: tuple[str, ...]  # the clean control
    frames: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)  # side -> name -> frame
    settings: pd.DataFrame = field(default_factory=pd.DataFrame)  # the canary workspaces' settings now
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)  # audit rows in the baseline + canary windows
    health: dict[str, pd.DataFrame] = field(default_factory=dict)  # platform-wide offload health, canary window
    workspace_health: dict[str, pd.DataFrame] = field(default_factory=dict)  # the canary workspaces' webhooks
    excluded: dict[str, str] = field(default_factory=dict)  # workspace -> why it is not in the control
    bucket_seconds: int = 86400  # of the trajectory series (trajectory_bucket)

    def side(self, name: str) -> dict[str, pd.DataFrame]:
        return self.frames[name]


def windows(spec: CanarySpec, others: tuple[str, ...]) -> dict[str, Window | None]:
    other = (lambda w: Window(w.start, w.end, others, w.channel)) if others else (lambda w: None)
    return {"canary_before": spec.before, "canary_after": spec.after,
            "others_before": other(spec.before), "others_after": other(spec.after)}


def _options(options: dict, bucket_seconds: int) -> dict:
    return {k: (bucket_seconds if k == "bucket_seconds" and v is TRAJECTORY else v) for k, v in options.items()}


def not_clean(changes: pd.DataFrame, canary: tuple[str, ...]) -> dict[str, str]:
    """Workspaces (other than the canary) with an audited rollout-field change in `changes`: why each is out."""
    if changes.empty:
        return {}
    rollout = changes[changes["field"].isin(ROLLOUT_FIELDS) & ~changes["workspace"].isin(canary)]
    out: dict[str, str] = {}
    for workspace, rows in rollout.groupby("workspace"):
        fields = ", ".join(sorted(set(rows["field"])))
        out[str(workspace)] = f"rollout change in the window ({fields})"
    return out


def gather(conn: Connection, spec: CanarySpec, *, summarised: Connection | None = None) -> CanaryInputs:
    """Run every side query for the four windows (a missing 'others' side when there is no clean control).

    `summarised`: what the side queries and the offload health read through (a summary reader, which
    services.canary.gather_window passes: stored days plus raw edges); `conn` by default, the raw rows. The
    workspace list, settings and audit rows always come from `conn`."""
    reads = conn if summarised is None else summarised
    everyone = settings.workspace_list(conn, spec.after.with_workspaces(()))["workspace"].tolist()
    unknown = sorted(set(spec.workspaces) - set(everyone))
    if unknown:
        raise FilterError(f"unknown workspace(s): {', '.join(unknown)}")
    all_changes = events.rollout_events(conn, Window(spec.before.start, spec.end))
    excluded = not_clean(all_changes, spec.workspaces)
    excluded.update({w: "excluded by configuration" for w in spec.exclude if w in everyone
                     and w not in spec.workspaces})
    others = tuple(w for w in everyone if w not in spec.workspaces and w not in excluded)
    inputs = CanaryInputs(spec, others, excluded=excluded)
    inputs.settings = settings.workspace_settings(conn, spec.after)
    inputs.changes = (all_changes[all_changes["workspace"].isin(spec.workspaces)].reset_index(drop=True)
                      if not all_changes.empty else all_changes)
    everywhere = spec.after.with_workspaces(())
    inputs.health = {
        "function_runs": offload.function_run_series(reads, everywhere, bucket_seconds=FUNCTION_SLICE_SECONDS),
        "webhook_flow": offload.webhook_flow_series(reads, everywhere, bucket_seconds=QUEUE_SLICE_SECONDS),
        "webhook_backlog": offload.webhook_backlog_at_start(reads, everywhere),
    }
    inputs.workspace_health = {
        "webhook_flow": offload.webhook_flow_series(reads, spec.after, bucket_seconds=QUEUE_SLICE_SECONDS),
        "webhook_backlog": offload.webhook_backlog_at_start(reads, spec.after),
    }
    inputs.bucket_seconds = trajectory_bucket(spec)
    for side, window in windows(spec, others).items():
        inputs.frames[side] = {name: (func(reads, window, **_options(options, inputs.bucket_seconds))
                                      if window is not None else pd.DataFrame())
                               for name, (func, options) in SIDE_QUERIES.items()}
    return inputs
