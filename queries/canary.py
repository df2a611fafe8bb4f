"""The inputs of a canary evaluation: the existing queries run over the four windows it compares.

No SQL of its own: the canary workspace(s) and all the other workspaces, each before and after the
split (equal-length windows), through the registered queries, so the personal-data guarantees and
the exact-number tests of those queries carry over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Connection

from queries import bundle, drafts, events, offload, overseer, revision, settings
from queries.filters import FilterError, Window, as_utc

#: name -> (query, options): what each side of the comparison needs
SIDE_QUERIES = {
    "volume": (drafts.evaluated_volume, {}),
    "needs_review": (drafts.needs_review_series, {"bucket_seconds": 86400}),
    "confidence": (drafts.confidence_histogram, {"width": 0.01}),
    "gate": (overseer.gate_decision_series, {"bucket_seconds": 86400}),
    "booking_gate": (overseer.booking_gate_series, {"bucket_seconds": 86400}),
    "revision": (revision.revision_series, {"bucket_seconds": 86400}),
    "revise_calls": (revision.revise_latency_histogram, {}),
    "revise_series": (revision.revise_error_series, {"bucket_seconds": 1800}),
    "loops": (revision.revision_loop_counts, {}),
    "bundle": (bundle.bundle_series, {"bucket_seconds": 86400}),
}
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
    others: tuple[str, ...]
    frames: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)  # side -> name -> frame
    settings: pd.DataFrame = field(default_factory=pd.DataFrame)  # the canary workspaces' settings now
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)  # audit rows in the baseline + canary windows
    health: dict[str, pd.DataFrame] = field(default_factory=dict)  # platform-wide offload health, canary window

    def side(self, name: str) -> dict[str, pd.DataFrame]:
        return self.frames[name]


def windows(spec: CanarySpec, others: tuple[str, ...]) -> dict[str, Window | None]:
    other = (lambda w: Window(w.start, w.end, others, w.channel)) if others else (lambda w: None)
    return {"canary_before": spec.before, "canary_after": spec.after,
            "others_before": other(spec.before), "others_after": other(spec.after)}


def gather(conn: Connection, spec: CanarySpec) -> CanaryInputs:
    """Run every side query for the four windows (a missing 'others' side when there is no other workspace)."""
    everyone = settings.workspace_list(conn, spec.after.with_workspaces(()))["workspace"].tolist()
    unknown = sorted(set(spec.workspaces) - set(everyone))
    if unknown:
        raise FilterError(f"unknown workspace(s): {', '.join(unknown)}")
    others = tuple(w for w in everyone if w not in spec.workspaces)
    inputs = CanaryInputs(spec, others)
    inputs.settings = settings.workspace_settings(conn, spec.after)
    inputs.changes = events.rollout_events(conn, Window(spec.before.start, spec.end, spec.workspaces))
    everywhere = spec.after.with_workspaces(())
    inputs.health = {
        "function_runs": offload.function_run_series(conn, everywhere, bucket_seconds=FUNCTION_SLICE_SECONDS),
        "webhook_flow": offload.webhook_flow_series(conn, everywhere, bucket_seconds=QUEUE_SLICE_SECONDS),
        "webhook_backlog": offload.webhook_backlog_at_start(conn, everywhere),
    }
    for side, window in windows(spec, others).items():
        inputs.frames[side] = {name: (func(conn, window, **options) if window is not None else pd.DataFrame())
                               for name, (func, options) in SIDE_QUERIES.items()}
    return inputs
