"""Small pure derivations the pages show, from the additive frames queries/ returns.

Queries return counts, sums and bucket counts only; rates, means, percentiles, ECDF points and the
change against the previous window are derived here. A rate or mean with a zero denominator is
None/NaN: missing is not zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

_EPS = 1e-9  # q * n in floating point (0.07 * 100 = 7.000000000000001) must not skip a bucket


def with_rate(frame: pd.DataFrame, numerator: str, denominator: str, *, by: list[str] | None = None,
              name: str = "rate") -> pd.DataFrame:
    """Sum numerator and denominator over `by` (all rows when None) and add their ratio."""
    if by:
        frame = frame.groupby(by, as_index=False, dropna=False)[[numerator, denominator]].sum()
    else:
        frame = pd.DataFrame({numerator: [frame[numerator].sum()], denominator: [frame[denominator].sum()]})
    out = frame.copy()
    out[name] = out[numerator].where(out[denominator] > 0) / out[denominator].where(out[denominator] > 0)
    return out


def total_rate(frame: pd.DataFrame, numerator: str, denominator: str) -> float | None:
    """sum(numerator) / sum(denominator) over every row; also a mean from a sum and a count."""
    if frame.empty:
        return None
    den = frame[denominator].sum()
    return None if not den else float(frame[numerator].sum() / den)


def total(frame: pd.DataFrame, column: str, **where: str) -> int:
    """The column's sum over the rows matching `where` (0 for an empty frame)."""
    for key, value in where.items():
        frame = frame[frame[key] == value]
    return int(frame[column].sum()) if not frame.empty else 0


def sums_by(frame: pd.DataFrame, by: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """The additive columns summed per `by` group (an empty frame keeps its columns)."""
    if frame.empty:
        return pd.DataFrame(columns=[*by, *columns])
    return frame.groupby(list(by), as_index=False, dropna=False)[list(columns)].sum()


def change(now: float | None, before: float | None) -> float | None:
    """now - before, or None when either side has no data (a tile then shows no change)."""
    return None if now is None or before is None else now - before


def wait_minutes(oldest: object, now: datetime) -> float | None:
    """Minutes from `oldest` (e.g. the oldest due runAt; min-combined, not summed) to `now`, never
    negative; None when there is no oldest (NaT/None)."""
    if oldest is None or pd.isna(oldest):
        return None
    return max(0.0, (pd.Timestamp(now) - pd.Timestamp(oldest)).total_seconds() / 60)


def count_where(frame: pd.DataFrame, count: str, column: str, values: Sequence[str]) -> pd.DataFrame:
    """Add a column `matching` = count where `column` is one of `values`, else 0 (e.g. revise decisions)."""
    out = frame.copy()
    out["matching"] = out[count].where(out[column].isin(list(values)), 0) if not out.empty else []
    return out


def percentile_upper_edge(histogram: pd.DataFrame, *, bucket: str, count: str, width: float,
                          q: float) -> float | None:
    """The upper edge of the bucket holding the q-quantile: the true value is at most this.

    `bucket` holds each bucket's lower edge. The q-quantile is the smallest value with at least
    q * n observations at or below it, so its bucket is the first whose cumulative count reaches q * n.
    """
    if histogram.empty or histogram[count].sum() == 0:
        return None
    ordered = histogram.groupby(bucket)[count].sum().sort_index()
    target = q * ordered.sum() - _EPS
    position = int((ordered.cumsum() >= target).to_numpy().argmax())
    return float(ordered.index[position] + width)


def bucket_edges(frame: pd.DataFrame, columns: Sequence[str], width: float) -> pd.DataFrame:
    """Integer bucket indexes (floor(value / width)) turned into their lower edges, for axis labels."""
    out = frame.copy()
    for column in columns:
        out[column] = (out[column].astype(float) * width).round(6)
    return out


def ecdf_from_histogram(frame: pd.DataFrame, *, lower: str, count: str, width: float,
                        by: str | None = None) -> pd.DataFrame:
    """ECDF points per group from bucket counts: `x` is a bucket's upper edge, `share` the share of the
    group at or below it (exact at the buckets' precision). Each group starts with share 0 at its first
    lower edge, so a step line begins where the data begins. Columns: [by,] x, `count` (the bucket's
    count, 0 on the starting point) and share.
    """
    keys = [by] if by else []
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "x", count, "share"])
    parts = []
    groups = frame.groupby(by, sort=True) if by else [(None, frame)]
    for name, part in groups:
        counts = part.groupby(lower)[count].sum().sort_index()
        if counts.sum() <= 0:
            continue
        xs = [float(counts.index[0]), *(float(v) + width for v in counts.index)]
        shares = [0.0, *(counts.cumsum() / counts.sum()).tolist()]
        piece = pd.DataFrame({"x": [round(x, 6) for x in xs], count: [0, *counts.tolist()], "share": shares})
        if by:
            piece.insert(0, by, name)
        parts.append(piece)
    if not parts:
        return pd.DataFrame(columns=[*keys, "x", count, "share"])
    return pd.concat(parts, ignore_index=True)
