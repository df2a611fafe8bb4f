"""Did the rollback work? Find the disabling change, gather the two windows, judge them (analysis/rollback.py).

The workspace and the clean control are read over the pre-rollout baseline and the window after the rollback
through the canary's registered side queries (queries/canary.py SIDE_QUERIES) and reduced to the canary's side
totals, so the numbers are the canary verdict's. The clean control is every other workspace with no audited
rollout change from the baseline's start to the window's end (queries.canary.not_clean), minus exclusions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Connection

from analysis.canary.inputs import SideTotals, side_totals
from analysis.rollback import (
    RollbackEvent,
    RollbackVerdict,
    engaged_switch,
    find_rollback,
    judge_recovery,
    switch_rollback,
)
from analysis.rules import RuleSet
from queries import events, settings
from queries.canary import SIDE_QUERIES, TRAJECTORY, not_clean
from queries.filters import FilterError, Window

#: the side queries the watched signals need (needs_review, truncation, booking-gate deny/error)
NEEDED = ("needs_review", "bundle", "booking_gate")
BUCKET_SECONDS = 3600  # the series' grouping only: the totals are sums over the window
HISTORY = timedelta(days=3650)


@dataclass(frozen=True)
class RollbackInputs:
    event: RollbackEvent
    before: SideTotals
    after: SideTotals
    others_before: SideTotals | None
    others_after: SideTotals | None
    control: tuple[str, ...]
    excluded: dict[str, str]


def _totals(conn: Connection, window: Window) -> SideTotals:
    frames: dict[str, pd.DataFrame] = {}
    for name in NEEDED:
        func, options = SIDE_QUERIES[name]
        frames[name] = func(conn, window, **{k: (BUCKET_SECONDS if v is TRAJECTORY and k == "bucket_seconds" else v)
                                             for k, v in options.items()})
    return side_totals(frames)


def changes_of(conn: Connection, workspace: str, end: datetime) -> pd.DataFrame:
    return events.rollout_events(conn, Window(end - HISTORY, end, (workspace,)))


def find(conn: Connection, workspace: str, field: str, *, end: datetime, at: datetime | None = None,
         engaged_at: datetime | None = None, switches: dict[str, bool] | None = None) -> RollbackEvent | None:
    """The audited toggle-off (the one at `at`, else the latest before `end`); without one, the field's kill
    switch when `switches` (name -> engaged now, rollout/killswitch.py) has it engaged and `engaged_at` says
    since when. None when neither applies."""
    changes = changes_of(conn, workspace, end)
    event = find_rollback(changes, workspace, field, end=end, at=at)
    if event is not None or engaged_at is None:
        return event
    switch = engaged_switch(field, switches or {})
    if switch is None:
        return None
    return switch_rollback(changes, workspace, field, switch, engaged_at=engaged_at, end=end)


def gather_rollback(conn: Connection, event: RollbackEvent, exclude: tuple[str, ...] = ()) -> RollbackInputs:
    baseline = Window(*event.baseline, (event.workspace,))
    after = Window(*event.after, (event.workspace,))
    everyone = settings.workspace_list(conn, after.with_workspaces(()))["workspace"].tolist()
    if event.workspace not in everyone:
        raise FilterError(f"unknown workspace: {event.workspace}")
    excluded = not_clean(events.rollout_events(conn, Window(baseline.start, after.end)), (event.workspace,))
    excluded.update({w: "excluded by configuration" for w in exclude if w in everyone and w != event.workspace})
    control = tuple(w for w in everyone if w != event.workspace and w not in excluded)
    others_before = _totals(conn, baseline.with_workspaces(control)) if control else None
    others_after = _totals(conn, after.with_workspaces(control)) if control else None
    return RollbackInputs(event, _totals(conn, baseline), _totals(conn, after), others_before, others_after,
                          control, excluded)


def check(conn: Connection, event: RollbackEvent, rules: RuleSet, exclude: tuple[str, ...] = ()) -> RollbackVerdict:
    inputs = gather_rollback(conn, event, exclude)
    return judge_recovery(event, rules, inputs.before, inputs.after, inputs.others_before, inputs.others_after,
                          inputs.control)
