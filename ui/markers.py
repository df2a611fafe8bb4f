"""Rollout events for chart markers: the audit log rows in the window (none when unreadable), and their
grouping into markers that do not overlap at a chart's scale; threshold labels placed the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import pandas as pd

from queries import events
from queries.filters import Window
from ui.data import DataUnavailable, cached

#: Changes closer than this share of the chart's time span are one marker.
MERGE_SHARE = 1 / 60
#: Markers closer than this share get staggered label heights (paper coordinates below the top).
STAGGER_SHARE = 1 / 8
LEVELS = (1.0, 0.9, 0.8)
LABEL_CHARS = 26

T = TypeVar("T")


def split_runs(items: Sequence[T], position: Callable[[T], float], *, close: Callable[[float], bool],
               anchor: Literal["first", "last"]) -> list[list[T]]:
    """`items` (sorted by `position`) in runs: an item joins the current run when `close(distance)` holds for
    its distance to the run's first member (runs never grow wider than the closeness) or its last (runs chain)."""
    runs: list[list[T]] = []
    for item in items:
        if runs and close(position(item) - position(runs[-1][0 if anchor == "first" else -1])):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def label_levels(positions: Sequence[float], *, near: Callable[[float], bool], levels: int) -> list[int]:
    """A label level per position: one lower (cycling through `levels`) than the previous label's when
    `near(distance to it)`, else the top one."""
    out: list[int] = []
    for i, position in enumerate(positions):
        out.append((out[-1] + 1) % levels if out and near(position - positions[i - 1]) else 0)
    return out


def rollout_markers(f: Window) -> pd.DataFrame:
    try:
        return cached(events.rollout_events, f)
    except DataUnavailable:
        return pd.DataFrame(columns=events.COLUMNS)


@dataclass(frozen=True)
class MarkerGroup:
    when: pd.Timestamp  # the first change of the group
    label: str  # short: "field: old→new" for one change, "3 changes" for several
    items: tuple[str, ...]  # one line per change, for the hover
    level: float  # the label's height in paper coordinates


def describe_event(event: pd.Series) -> str:
    return (f"{pd.Timestamp(event['changed_at']):%Y-%m-%d %H:%M} UTC · {event['workspace']}: "
            f"{event['field']} {event['old_value']}→{event['new_value']}")


def marker_groups(frame: pd.DataFrame, *, span: tuple[object, object] | None = None) -> list[MarkerGroup]:
    """Changes grouped so no two markers sit within MERGE_SHARE of the span (the chart's x range and
    the events' own), labels staggered over LEVELS when markers are within STAGGER_SHARE."""
    if frame is None or frame.empty:
        return []
    ordered = frame.assign(_when=pd.to_datetime(frame["changed_at"], utc=True)).sort_values("_when", kind="stable")
    moments = list(ordered["_when"])
    if span is not None and span[0] is not None and not pd.isna(span[0]):
        moments += [pd.Timestamp(span[0]), pd.Timestamp(span[1])]
    lo, hi = min(_utc(m) for m in moments), max(_utc(m) for m in moments)
    width = max((hi - lo).total_seconds(), 3600.0)
    merge, stagger = width * MERGE_SHARE, width * STAGGER_SHARE
    changes = [event for _, event in ordered.iterrows()]
    clusters = split_runs(changes, lambda e: e["_when"].timestamp(), close=lambda d: d <= merge, anchor="first")
    starts = [cluster[0]["_when"].timestamp() for cluster in clusters]
    groups: list[MarkerGroup] = []
    for cluster, level in zip(clusters, label_levels(starts, near=lambda d: d <= stagger, levels=len(LEVELS)),
                              strict=True):
        label = _short(f"{cluster[0]['field']}: {cluster[0]['old_value']}→{cluster[0]['new_value']}") \
            if len(cluster) == 1 else f"{len(cluster)} changes"
        groups.append(MarkerGroup(cluster[0]["_when"], label, tuple(describe_event(e) for e in cluster),
                                  LEVELS[level]))
    return groups


def _utc(moment: object) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


#: Threshold lines closer than this share of the x axis's span get one label ("thresholds 0.85, 0.9"):
#: a label "threshold 0.85" at font size 10 is about 85 px, 15% of a half-width chart's plot area.
THRESHOLD_GAP_SHARE = 0.15
#: Label heights (paper coordinates): neighbouring labels within two gaps of each other alternate.
THRESHOLD_LEVELS = (1.0, 0.92)


@dataclass(frozen=True)
class ThresholdLabel:
    x: float  # the label's right end: the largest threshold it names
    text: str
    level: float


def threshold_labels(thresholds: Iterable[float], *, span: tuple[float, float]) -> list[ThresholdLabel]:
    """One label per run of thresholds each within THRESHOLD_GAP_SHARE of the span of the one before (so
    two labels never share a place), right-aligned at the run's last line; a label within two gaps of the
    previous one sits one level lower."""
    values = sorted({float(t) for t in thresholds})
    if not values:
        return []
    lo, hi = min(span[0], values[0]), max(span[1], values[-1])
    gap = (hi - lo if hi > lo else 1.0) * THRESHOLD_GAP_SHARE
    runs = split_runs(values, float, close=lambda d: d < gap, anchor="last")
    ends = [run[-1] for run in runs]
    levels = label_levels(ends, near=lambda d: d < 2 * gap, levels=len(THRESHOLD_LEVELS))
    return [ThresholdLabel(run[-1], f"threshold {run[0]:g}" if len(run) == 1
                           else "thresholds " + ", ".join(f"{v:g}" for v in run), THRESHOLD_LEVELS[level])
            for run, level in zip(runs, levels, strict=True)]
