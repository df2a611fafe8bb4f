"""Offload page figures (queries/offload.py): the depth grain, oldest due event age, retries, failure ratios."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd


def oldest_due_age(due: pd.DataFrame, at: datetime) -> timedelta | None:
    """How long the oldest due event (PENDING, runAt before `at`) has been due at `at`; None if none.

    `oldest_due_run_at` combines by min across workspaces and providers, not by sum.
    """
    if due.empty or not due["due"].sum():
        return None
    oldest = pd.to_datetime(due.loc[due["due"] > 0, "oldest_due_run_at"], utc=True).min()
    if pd.isna(oldest):
        return None
    moment = pd.Timestamp(at)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    return max((moment - oldest).to_pytimedelta(), timedelta(0))


def retry_totals(retries: pd.DataFrame, *, by: list[str] | None = None) -> pd.DataFrame:
    """events, retried (attempts > 1), attempts and the mean attempts per event, per `by` (or overall)."""
    columns = ["events", "retried", "attempts_sum"]
    if retries.empty:
        return pd.DataFrame(columns=[*(by or []), *columns, "attempts_per_event"])
    if by:
        out = retries.groupby(by, as_index=False, dropna=False)[columns].sum()
    else:
        out = pd.DataFrame({c: [retries[c].sum()] for c in columns})
    events = out["events"].astype("float64")
    out["attempts_per_event"] = out["attempts_sum"] / events.where(events > 0)
    return out


def depth_bucket_seconds(hours: float) -> int:
    """A finer grain for the reconstructed queue depth than for other series: depth is sampled at bucket
    ends, so a backlog that builds and drains inside one bucket would not show at all."""
    for limit, seconds in ((2, 60), (8, 300), (48, 600), (24 * 8, 1800)):
        if hours <= limit:
            return seconds
    return 3 * 3600


def failure_ratios(runs: pd.DataFrame, *, by: list[str], min_runs: int) -> pd.DataFrame:
    """runs, failed and failed / runs per `by` group; no ratio (NaN) where fewer than `min_runs` ran, e.g.
    a partial first bucket (missing is not zero, and a ratio of 1 in 3 is noise)."""
    out = runs.groupby(by, as_index=False)[["runs", "failed"]].sum()
    enough = out["runs"].astype("float64").where(out["runs"] >= max(min_runs, 1))
    out["failure_ratio"] = out["failed"] / enough
    return out
