"""Which canaries are running: pure logic over the settings now and canarywatch's audit log.

An active canary is a workspace whose rollout field (db/catalog.py ROLLOUT_FIELDS) is enabled while
the fleet majority has it off (so it differs from the majority). Its split time is the audited change
that enabled it (the latest one); two rollout fields enabled in the same workspace within the canary's
window (or at the same instant) are confounded: the verdict cannot tell which change caused what.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from db.catalog import ROLLOUT_FIELDS, TOGGLE_DEFAULTS


def utc(moment: object) -> datetime:
    """An aware UTC datetime from a pandas Timestamp or datetime (naive read as UTC)."""
    if hasattr(moment, "to_pydatetime"):
        moment = moment.to_pydatetime()
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_enabling(value: object) -> bool:
    """An audit newValue (JSON text) that switches a toggle on."""
    return str(value).strip().lower() == "true"


@dataclass(frozen=True)
class ActiveCanary:
    workspace: str
    field: str
    since: datetime | None  # the audited enabling change (None: enabled with no record in the audit log)
    actor: str | None
    confounded_with: tuple[str, ...] = ()  # other rollout fields enabled in the same workspace in the window

    @property
    def confounded(self) -> str:
        if not self.confounded_with:
            return ""
        return f"confounded: {' and '.join((self.field, *self.confounded_with))} changed together"


def enabling_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """The audit rows that switched a rollout field on, oldest first."""
    if changes.empty:
        return changes
    keep = changes[changes["field"].isin(ROLLOUT_FIELDS) & changes["new_value"].map(is_enabling)]
    return keep.sort_values(["changed_at", "workspace", "field"]).reset_index(drop=True)


def confounders(changes: pd.DataFrame, workspace: str, field: str, since: datetime, end: datetime) -> tuple[str, ...]:
    """Other rollout fields enabled in `workspace` within the canary window around `since`:
    [since - (end - since), end), i.e. its baseline plus its canary window (the same instant included)."""
    enabled = enabling_changes(changes)
    if enabled.empty:
        return ()
    since, end = utc(since), utc(end)
    span = max(end - since, timedelta(0))
    times = enabled["changed_at"].map(utc)
    near = enabled[(enabled["workspace"] == workspace) & (enabled["field"] != field)
                   & (times >= since - span) & (times < max(end, since + timedelta(seconds=1)))]
    return tuple(sorted(set(near["field"])))


def majority(settings: pd.DataFrame, field: str) -> bool:
    """The fleet majority value of a toggle (ties read as the upstream default)."""
    if settings.empty or field not in settings:
        return TOGGLE_DEFAULTS.get(field, False)
    on = int(settings[field].astype(bool).sum())
    off = len(settings) - on
    return TOGGLE_DEFAULTS.get(field, False) if on == off else on > off


def active_canaries(settings: pd.DataFrame, changes: pd.DataFrame, *, end: datetime,
                    fields: Sequence[str] = ROLLOUT_FIELDS) -> list[ActiveCanary]:
    """Every (workspace, field) enabled against the fleet majority, newest enabling change first.

    `settings` is queries.settings.workspace_settings for all workspaces (one row each, defaults
    applied); `changes` the audit log rows up to `end` (queries.events.rollout_events)."""
    enabled = enabling_changes(changes)
    out: list[ActiveCanary] = []
    for field in fields:
        if settings.empty or field not in settings or majority(settings, field):
            continue
        for workspace in settings.loc[settings[field].astype(bool), "workspace"]:
            rows = enabled[(enabled["workspace"] == workspace) & (enabled["field"] == field)] \
                if not enabled.empty else enabled
            if rows.empty:
                out.append(ActiveCanary(str(workspace), field, None, None))
                continue
            last = rows.iloc[-1]
            since = utc(last["changed_at"])
            out.append(ActiveCanary(str(workspace), field, since, str(last["actor"]),
                                    confounders(changes, str(workspace), field, since, end)))
    far_past = datetime.min.replace(tzinfo=UTC)
    by_name = sorted(out, key=lambda c: (c.workspace, c.field))
    return sorted(by_name, key=lambda c: c.since or far_past, reverse=True)  # stable: newest first, then by name
