"""The DiD delta of a rate or of the confidence mean as the watch saw it: at each bucket end t after the
split, the canary's [split, t) against its mirrored baseline [split - (t - split), split), minus the
control's change over the same windows, with its always-valid interval (analysis/sequential.py). Pure,
from the bucketed frames the canary gather already holds; at bucket resolution (the verdict itself uses
exact window sums).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from analysis.sequential import Moments, SequentialInterval, did_mean_cs, did_rate_cs, mean_delta_cs, rate_delta_cs

#: signal -> (side frame, successes column, trials column, (column, value) a success row must match)
RATE_FRAMES: dict[str, tuple[str, str, str, tuple[str, str] | None]] = {
    "needs_review_rate": ("needs_review", "needs_review", "evaluated", None),
    "bundle_truncation_rate": ("bundle", "truncated", "calls", None),
    "gate_revise_rate": ("gate", "decisions", "decisions", ("decision", "revise")),
    "booking_gate_deny_error_rate": ("booking_gate", "decisions", "decisions", ("decision", "deny")),
}
#: signal -> (side frame, count column, sum column, sum-of-squares column): a mean from exact sums
MEAN_FRAMES: dict[str, tuple[str, str, str, str]] = {
    "auto_send_confidence_mean": ("confidence_series", "scored", "confidence_sum", "confidence_sumsq"),
}
COLUMNS = ["at", "delta", "lo", "hi", "n"]
SIDES = ("canary_before", "canary_after", "others_before", "others_after")


def _part(frame: pd.DataFrame | None, start: datetime, end: datetime) -> pd.DataFrame | None:
    """The rows whose bucket starts in [start, end)."""
    if frame is None or frame.empty:
        return None
    times = pd.to_datetime(frame["bucket"], utc=True)
    return frame[(times >= pd.Timestamp(start)) & (times < pd.Timestamp(end))]


def _counts(frame: pd.DataFrame | None, signal: str, start: datetime, end: datetime) -> tuple[int, int]:
    part = _part(frame, start, end)
    if part is None:
        return 0, 0
    _, hits, trials, match = RATE_FRAMES[signal]
    success = part if match is None else part[part[match[0]] == match[1]]
    return int(success[hits].sum()), int(part[trials].sum())


def _moments(frame: pd.DataFrame | None, signal: str, start: datetime, end: datetime) -> Moments:
    part = _part(frame, start, end)
    if part is None or part.empty:
        return Moments(0, 0.0, 0.0)
    _, n, total, total_sq = MEAN_FRAMES[signal]
    return Moments(int(part[n].sum()), float(part[total].sum()), float(part[total_sq].sum()))


def _rate_interval(cells: list[tuple[int, int]], alpha: float) -> tuple[SequentialInterval | None, int]:
    (cb_s, cb_n), (ca_s, ca_n), (ob_s, ob_n), (oa_s, oa_n) = cells
    if min(cb_n, ca_n) == 0:
        return None, ca_n
    if min(ob_n, oa_n) > 0:
        return did_rate_cs(cb_s, cb_n, ca_s, ca_n, ob_s, ob_n, oa_s, oa_n, alpha=alpha), ca_n
    return rate_delta_cs(cb_s, cb_n, ca_s, ca_n, alpha=alpha), ca_n


def _mean_interval(cells: list[Moments], alpha: float) -> tuple[SequentialInterval | None, int]:
    """DiD of means when both control cells hold 2+ values, else the canary's own past (as the verdict)."""
    cb, ca, ob, oa = cells
    if min(ob.n, oa.n) >= 2:
        return did_mean_cs(cb, ca, ob, oa, alpha=alpha), ca.n
    return mean_delta_cs(cb, ca, alpha=alpha), ca.n


def did_trajectory(frames: Mapping[str, Mapping[str, pd.DataFrame]], signal: str, *, split: datetime,
                   end: datetime, bucket_seconds: int, alpha: float = 0.05) -> pd.DataFrame:
    """at, delta, lo, hi, n (the canary's after-split trials or scored values) at every bucket end in
    (split, end], for a rate signal (RATE_FRAMES) or a mean signal (MEAN_FRAMES)."""
    mean = signal in MEAN_FRAMES
    name = MEAN_FRAMES[signal][0] if mean else RATE_FRAMES[signal][0]
    after = frames.get("canary_after", {}).get(name)
    if after is None or after.empty:
        return pd.DataFrame(columns=COLUMNS)
    step = pd.Timedelta(seconds=bucket_seconds)
    ends = sorted({t + step for t in pd.to_datetime(after["bucket"], utc=True)})
    cell = _moments if mean else _counts
    rows = []
    for t in ends:
        t = min(t.to_pydatetime(), end)
        mirror = split - (t - split)
        bounds = {"canary_before": (mirror, split), "canary_after": (split, t), "others_before": (mirror, split),
                  "others_after": (split, t)}
        cells = [cell(frames.get(side, {}).get(name), signal, *bounds[side]) for side in SIDES]
        interval, n = (_mean_interval if mean else _rate_interval)(cells, alpha)
        if interval is not None:
            rows.append({"at": t, "delta": interval.estimate, "lo": interval.lo, "hi": interval.hi, "n": n})
    return pd.DataFrame(rows, columns=COLUMNS)
