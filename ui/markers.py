"""Rollout events for chart markers: the audit log rows in the window (none when unreadable), and their
grouping into markers that do not overlap at a chart's scale."""

from __future__ import annotations

from dataclasses import dataclass

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
    clusters: list[list[pd.Series]] = []
    for _, event in ordered.iterrows():
        if clusters and (event["_when"] - clusters[-1][0]["_when"]).total_seconds() <= merge:
            clusters[-1].append(event)
        else:
            clusters.append([event])
    groups: list[MarkerGroup] = []
    level = 0
    for cluster in clusters:
        when = cluster[0]["_when"]
        near = bool(groups) and (when - groups[-1].when).total_seconds() <= stagger
        level = (level + 1) % len(LEVELS) if near else 0
        label = _short(f"{cluster[0]['field']}: {cluster[0]['old_value']}→{cluster[0]['new_value']}") \
            if len(cluster) == 1 else f"{len(cluster)} changes"
        groups.append(MarkerGroup(when, label, tuple(describe_event(e) for e in cluster), LEVELS[level]))
    return groups


def _utc(moment: object) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
