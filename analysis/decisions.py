"""Decision shares from decision counts (overseer gate, booking gate): pure, over additive counts."""

from __future__ import annotations

import pandas as pd


def decision_rate(frame: pd.DataFrame, decision: str, *, by: list[str] | None = None, count: str = "decisions",
                  name: str = "rate") -> pd.DataFrame:
    """Per `by` group (all rows when None): rows with `decision`, all decisions, and their ratio.

    Every decision code counts in the denominator, 'other' (missing or unexpected) included, so the
    rate is a share of all decisions recorded. No decisions -> NaN, not 0.
    """
    marked = frame.assign(_hit=frame[count].where(frame["decision"] == decision, 0))
    if by:
        out = marked.groupby(by, as_index=False)[["_hit", count]].sum()
    else:
        out = pd.DataFrame({"_hit": [marked["_hit"].sum()], count: [marked[count].sum()]})
    out = out.rename(columns={"_hit": decision})
    out[decision] = out[decision].astype("int64")
    total = out[count].astype("float64")
    out[name] = out[decision] / total.where(total > 0)
    return out


def share_of(frame: pd.DataFrame, decision: str, count: str = "decisions") -> float | None:
    """The share of all decisions in the frame that are `decision`; None when there are none."""
    if frame.empty or not frame[count].sum():
        return None
    return float(frame.loc[frame["decision"] == decision, count].sum() / frame[count].sum())
