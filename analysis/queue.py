"""Offload series from the aggregated flows: queue depth over time, growth spans and failure ratios.

Depth at the end of each bucket = events open at the window's start + cumulative(created - finished).
It is an approximation (DATA_CONTRACT.md section 9): a retried event keeps only its last attempt's
timestamps, so a retry's earlier start/finish are invisible and an event restarted in a later bucket
counts as running from that later start only; events finished inside the window but created long
before it are in the backlog, so they do balance. Missing is not zero: a slice with too few runs has
no failure ratio.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pandas as pd

MIN_RUNS = 10  # a failure ratio from fewer runs in a slice is noise, not a signal
FLOW = ["created", "started", "succeeded", "failed"]
_ALL = "_all"  # the single group of a totals series
_NULL = "\x00unresolved"  # stands in for a NULL group key while merging (pandas mixes None and float NaN)


def _bucket_grid(start: datetime, end: datetime, step: timedelta) -> pd.DatetimeIndex:
    first = pd.Timestamp(start).floor(step)  # buckets are aligned to the epoch, as time_bucket makes them
    grid = pd.date_range(first, pd.Timestamp(end) - pd.Timedelta(microseconds=1), freq=step)
    return grid.tz_convert("UTC") if grid.tz is not None else grid.tz_localize("UTC")


def _with_group(frame: pd.DataFrame, by: list[str], needed: list[str]) -> pd.DataFrame:
    out = frame.copy() if not frame.empty else pd.DataFrame(columns=[*by, *needed])
    if by == [_ALL]:
        out[_ALL] = 0
    for key in by:
        out[key] = out[key].astype(object).where(out[key].notna(), _NULL)
    return out


def queue_depth_series(flow: pd.DataFrame, backlog: pd.DataFrame, *, start: datetime, end: datetime,
                       bucket_seconds: int, by: Sequence[str] = ()) -> pd.DataFrame:
    """bucket_end, queued, running, pending (= queued - running) at the end of every bucket of the window.

    `flow` is offload.webhook_flow_series, `backlog` offload.webhook_backlog_at_start. With `by` (e.g.
    ("workspace", "provider")) one series per group, a NULL (unresolved) workspace being a group of its
    own; with `by=()` the totals. Buckets without rows are filled (nothing arrived or finished).
    queued = backlog queued + cumulative(created - succeeded - failed);
    running = backlog running + cumulative(started - succeeded - failed).
    """
    keys = list(by) or [_ALL]
    step = timedelta(seconds=bucket_seconds)
    grid = pd.DataFrame({"bucket": _bucket_grid(start, end, step)})
    flow = _with_group(flow, keys, ["bucket", *FLOW])
    backlog = _with_group(backlog, keys, ["queued", "running"])
    groups = pd.concat([flow[keys], backlog[keys]]).drop_duplicates()
    if groups.empty and keys == [_ALL]:
        groups = pd.DataFrame({_ALL: [0]})  # totals of an empty queue: zero in every bucket
    frame = groups.merge(grid, how="cross")
    if not flow.empty:
        sums = flow.assign(bucket=pd.to_datetime(flow["bucket"], utc=True).astype(grid["bucket"].dtype))
        sums = sums.groupby([*keys, "bucket"], dropna=False)[FLOW].sum().reset_index()
        frame = frame.merge(sums, on=[*keys, "bucket"], how="left")
    frame = frame.reindex(columns=[*keys, "bucket", *FLOW]).fillna({c: 0 for c in FLOW})
    start_open = backlog.groupby(keys, dropna=False)[["queued", "running"]].sum().reset_index()
    frame = frame.merge(start_open, on=keys, how="left").fillna({"queued": 0, "running": 0})
    finished = frame["succeeded"] + frame["failed"]
    frame["_q"], frame["_r"] = frame["created"] - finished, frame["started"] - finished
    cumulative = frame.groupby(keys, dropna=False)[["_q", "_r"]].cumsum()
    out = frame[keys].copy()
    out["bucket_end"] = frame["bucket"] + step
    out["queued"] = (frame["queued"] + cumulative["_q"]).astype(int)
    out["running"] = (frame["running"] + cumulative["_r"]).astype(int)
    out["pending"] = out["queued"] - out["running"]
    for key in by:
        out[key] = out[key].astype(object).where(out[key] != _NULL, None)
    columns = [*by, "bucket_end", "queued", "running", "pending"]
    return out[columns].reset_index(drop=True)


def grows_without_draining(depth: pd.Series, *, minutes: float = 30) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """(start, end) of every span where the depth rose without ever dropping for at least `minutes`.

    A span is a stretch of non-decreasing values with a net increase; flat steps inside it are allowed
    (nothing drained), flat steps at its ends are not part of it (a queue parked at one depth is not
    growing). Any drop ends a span. `depth` is indexed by time (the bucket ends), oldest first.
    """
    values = depth.sort_index()
    times, levels = list(values.index), [float(v) for v in values.to_numpy()]
    spans, limit = [], pd.Timedelta(minutes=minutes)
    first = last = None  # indexes of the point before the span's first rise and of its last rise
    for i in range(1, len(levels) + 1):
        if i < len(levels) and levels[i] >= levels[i - 1]:
            if levels[i] > levels[i - 1]:
                first = i - 1 if first is None else first
                last = i
            continue
        if first is not None and times[last] - times[first] >= limit:
            spans.append((times[first], times[last]))
        first = last = None
    return spans


def failure_ratio(runs: float, failed: float) -> float | None:
    """failed / runs, or None when nothing ran (missing is not zero)."""
    return float(failed) / float(runs) if runs else None


def worst_failure_ratios(runs: pd.DataFrame, *, min_runs: int = MIN_RUNS) -> list[float | None]:
    """Per time bucket, oldest first: the highest failure ratio of any function with enough runs."""
    if runs.empty:
        return []
    ratios = []
    for _, part in runs.groupby("bucket", sort=True):
        enough = [failure_ratio(r, f) for r, f in zip(part["runs"], part["failed"], strict=True) if r >= min_runs]
        ratios.append(max(enough) if enough else None)
    return ratios
