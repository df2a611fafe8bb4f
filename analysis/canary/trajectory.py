"""The DiD delta of a rate as the watch saw it: at each bucket end t after the split, the canary's
[split, t) against its mirrored baseline [split - (t - split), split), minus the control's change over
the same windows, with its always-valid interval (analysis/sequential.py). Pure, from the bucketed
frames the canary gather already holds; at bucket resolution (the verdict itself uses exact window sums).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from analysis.sequential import did_rate_cs, rate_delta_cs

#: signal -> (side frame, successes column, trials column, (column, value) a success row must match)
RATE_FRAMES: dict[str, tuple[str, str, str, tuple[str, str] | None]] = {
    "needs_review_rate": ("needs_review", "needs_review", "evaluated", None),
    "bundle_truncation_rate": ("bundle", "truncated", "calls", None),
    "gate_revise_rate": ("gate", "decisions", "decisions", ("decision", "revise")),
    "booking_gate_deny_error_rate": ("booking_gate", "decisions", "decisions", ("decision", "deny")),
}
COLUMNS = ["at", "delta", "lo", "hi", "n"]


def _counts(frame: pd.DataFrame | None, signal: str, start: datetime, end: datetime) -> tuple[int, int]:
    if frame is None or frame.empty:
        return 0, 0
    _, hits, trials, match = RATE_FRAMES[signal]
    times = pd.to_datetime(frame["bucket"], utc=True)
    part = frame[(times >= pd.Timestamp(start)) & (times < pd.Timestamp(end))]
    success = part if match is None else part[part[match[0]] == match[1]]
    return int(success[hits].sum()), int(part[trials].sum())


def did_trajectory(frames: Mapping[str, Mapping[str, pd.DataFrame]], signal: str, *, split: datetime,
                   end: datetime, bucket_seconds: int, alpha: float = 0.05) -> pd.DataFrame:
    """at, delta, lo, hi, n (the canary's after-split trials) at every bucket end in (split, end]."""
    name = RATE_FRAMES[signal][0]
    after = frames.get("canary_after", {}).get(name)
    if after is None or after.empty:
        return pd.DataFrame(columns=COLUMNS)
    step = pd.Timedelta(seconds=bucket_seconds)
    ends = sorted({t + step for t in pd.to_datetime(after["bucket"], utc=True)})
    rows = []
    for t in ends:
        t = min(t.to_pydatetime(), end)
        mirror = split - (t - split)
        cells = [_counts(frames.get(side, {}).get(name), signal, lo, hi)
                 for side, lo, hi in (("canary_before", mirror, split), ("canary_after", split, t),
                                      ("others_before", mirror, split), ("others_after", split, t))]
        (cb_s, cb_n), (ca_s, ca_n), (ob_s, ob_n), (oa_s, oa_n) = cells
        if min(cb_n, ca_n) == 0:
            continue
        if min(ob_n, oa_n) > 0:
            interval = did_rate_cs(cb_s, cb_n, ca_s, ca_n, ob_s, ob_n, oa_s, oa_n, alpha=alpha)
        else:
            interval = rate_delta_cs(cb_s, cb_n, ca_s, ca_n, alpha=alpha)
        if interval is not None:
            rows.append({"at": t, "delta": interval.estimate, "lo": interval.lo, "hi": interval.hi, "n": ca_n})
    return pd.DataFrame(rows, columns=COLUMNS)
