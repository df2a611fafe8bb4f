"""The revision plan's 24-hour post-launch review: the day after autoSendRevisionEnabled went on for a
workspace against the day before it, from the audit log's enabling change (upstream stores no rollout
time, DATA_CONTRACT.md section 2).

Descriptive only: the two days' values and their difference, no test of significance (a day of one
workspace is often too few drafts for one; the canary page is where verdicts are made). Before the
rollout the loop is off, so the revision counts of the pre-rollout day are expected to be about zero;
the auto-send outcomes (needs_review rate, send rate, final confidence) are what the loop should move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from analysis.derive import total_rate

FIELD = "autoSendRevisionEnabled"
DAY = timedelta(hours=24)
COLUMNS = ["metric", "kind", "pre_rollout_day", "first_24h", "change"]


def enabling_changes(events: pd.DataFrame, field: str = FIELD) -> pd.DataFrame:
    """workspace, changed_at: each workspace's latest change that switched `field` on, newest first.

    `events` is events.rollout_events (audit log rows; new_value "true" switches a toggle on)."""
    if events.empty:
        return pd.DataFrame(columns=["workspace", "changed_at"])
    on = events[(events["field"] == field) & (events["new_value"] == "true")]
    latest = on.sort_values("changed_at", kind="stable").groupby("workspace", as_index=False).tail(1)
    return (latest.sort_values(["changed_at", "workspace"], ascending=[False, True], kind="stable")
            [["workspace", "changed_at"]].reset_index(drop=True))


@dataclass(frozen=True)
class ReviewWindow:
    workspace: str
    enabled_at: datetime  # the enabling change: the first 24 h are [enabled_at, enabled_at + 24 h)
    disabled_at: datetime | None  # the first change switching it off again within those 24 h

    @property
    def after(self) -> tuple[datetime, datetime]:
        return self.enabled_at, self.enabled_at + DAY

    @property
    def before(self) -> tuple[datetime, datetime]:
        """The pre-rollout day: the 24 hours before the enabling change."""
        return self.enabled_at - DAY, self.enabled_at


def review_window(events: pd.DataFrame, workspace: str, enabled_at: datetime, field: str = FIELD) -> ReviewWindow:
    """The review of `workspace` from `enabled_at`, noting a disabling change inside its 24 hours."""
    moment = pd.Timestamp(enabled_at)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    disabled = None
    if not events.empty:
        when = pd.to_datetime(events["changed_at"], utc=True)
        off = events[(events["workspace"] == workspace) & (events["field"] == field)
                     & (events["new_value"] != "true") & (when > moment) & (when < moment + DAY)]
        if not off.empty:
            disabled = when[off.index].min().to_pydatetime()
    return ReviewWindow(workspace, moment.to_pydatetime(), disabled)


@dataclass(frozen=True)
class Side:
    """One day's additive frames: revision.revision_series, revision.revise_error_series, drafts.channel_summary."""

    revisions: pd.DataFrame
    revise_calls: pd.DataFrame
    drafts: pd.DataFrame


def _sum(frame: pd.DataFrame, column: str) -> int:
    return int(frame[column].sum()) if not frame.empty else 0


def _values(side: Side) -> list[tuple[str, str, float | None]]:
    r, c, d = side.revisions, side.revise_calls, side.drafts
    return [
        ("Revisions attempted", "count", _sum(r, "attempted")),
        ("Revisions applied", "count", _sum(r, "applied")),
        ("Applied rate (applied / attempted)", "rate", total_rate(r, "applied", "attempted")),
        ("Mean confidence before revision", "mean", total_rate(r, "original_sum", "paired")),
        ("Mean confidence after revision", "mean", total_rate(r, "revised_sum", "paired")),
        ("Mean confidence delta (after - before)", "mean", total_rate(r, "delta_sum", "paired")),
        ("Revise calls", "count", _sum(c, "calls")),
        ("Revise-call error rate", "rate", total_rate(c, "errors", "calls")),
        ("Evaluated drafts", "count", _sum(d, "evaluated")),
        ("needs_review rate", "rate", total_rate(d, "needs_review", "evaluated")),
        ("Send rate (send_immediate + send_delayed)", "rate", total_rate(d, "sends", "evaluated")),
        ("Mean final auto-send confidence", "mean", total_rate(d, "confidence_sum", "scored")),
    ]


def review_metrics(before: Side, after: Side) -> pd.DataFrame:
    """metric, kind (count | rate | mean), pre_rollout_day, first_24h, change (first_24h - pre_rollout_day;
    None where either day has no value: missing is not zero)."""
    rows = []
    for (metric, kind, old), (_, _, new) in zip(_values(before), _values(after), strict=True):
        change = None if old is None or new is None else new - old
        rows.append({"metric": metric, "kind": kind, "pre_rollout_day": old, "first_24h": new, "change": change})
    return pd.DataFrame(rows, columns=COLUMNS)


def _shown(kind: str, value: float | None, *, signed: bool = False) -> str:
    if value is None or value != value:
        return "no data"
    sign = "+" if signed else ""
    if kind == "count":
        return f"{int(value):{sign},d}"
    if kind == "rate":
        return f"{value * 100:{sign}.1f} pp" if signed else f"{value:.1%}"
    return f"{value:{sign}.3f}"


def formatted(metrics: pd.DataFrame) -> pd.DataFrame:
    """The review table as text for display: counts, percentages (changes in points), means to 3 places."""
    return pd.DataFrame({
        "metric": metrics["metric"],
        "pre-rollout day": [_shown(k, v) for k, v in zip(metrics["kind"], metrics["pre_rollout_day"], strict=True)],
        "first 24 hours": [_shown(k, v) for k, v in zip(metrics["kind"], metrics["first_24h"], strict=True)],
        "change": [_shown(k, v, signed=True) for k, v in zip(metrics["kind"], metrics["change"], strict=True)],
    })
