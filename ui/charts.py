"""Plotly figures the pages share; every time series can carry the rollout-event markers.

Figures take already-aggregated frames; no statistics are computed here beyond reshaping for display.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

EVENT_COLOUR = "#7b3fe4"
THRESHOLD_COLOUR = "#d62728"


def _finish(fig: go.Figure, title: str, *, y_title: str | None = None, percent: bool = False) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0}, margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "y": -0.2}, height=360)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return fig


def add_events(fig: go.Figure, events: pd.DataFrame | None) -> go.Figure:
    """Vertical markers for rollout events (audit log rows) with their label."""
    if events is None or events.empty:
        return fig
    for _, event in events.iterrows():
        when = pd.Timestamp(event["changed_at"])
        label = f"{event['workspace']}: {event['field']} {event['old_value']}→{event['new_value']}"
        fig.add_vline(x=when.to_pydatetime(), line_width=1.5, line_dash="dot", line_color=EVENT_COLOUR)
        fig.add_annotation(x=when.to_pydatetime(), y=1, yref="paper", text=label, showarrow=False,
                           xanchor="left", yanchor="top", textangle=-90, font={"size": 10, "color": EVENT_COLOUR})
    return fig


def time_series(frame: pd.DataFrame, *, y: str, title: str, color: str | None = None, x: str = "bucket",
                events: pd.DataFrame | None = None, y_title: str | None = None, percent: bool = False,
                hline: float | None = None, hline_label: str = "") -> go.Figure:
    fig = px.line(frame.sort_values(x), x=x, y=y, color=color, markers=len(frame) < 60)
    fig.update_xaxes(title_text="UTC")
    if hline is not None:
        fig.add_hline(y=hline, line_dash="dash", line_color=THRESHOLD_COLOUR, annotation_text=hline_label)
    return _finish(add_events(fig, events), title, y_title=y_title or y, percent=percent)


def stacked_bars(frame: pd.DataFrame, *, x: str, y: str, color: str, title: str,
                 events: pd.DataFrame | None = None, y_title: str | None = None, percent: bool = False) -> go.Figure:
    fig = px.bar(frame, x=x, y=y, color=color)
    fig.update_layout(barmode="stack")
    if x == "bucket":
        fig.update_xaxes(title_text="UTC")
        add_events(fig, events)
    return _finish(fig, title, y_title=y_title or y, percent=percent)


def bars(frame: pd.DataFrame, *, x: str, y: str, title: str, color: str | None = None,
         y_title: str | None = None, percent: bool = False, barmode: str = "group") -> go.Figure:
    fig = px.bar(frame, x=x, y=y, color=color, barmode=barmode)
    return _finish(fig, title, y_title=y_title or y, percent=percent)


def histogram(frame: pd.DataFrame, *, x: str, y: str, title: str, width: float, color: str | None = None,
              thresholds: Sequence[float] = (), x_title: str = "confidence", y_title: str = "drafts") -> go.Figure:
    """Bars from pre-aggregated bucket counts; `x` is each bucket's lower edge."""
    shown = frame.copy()
    shown["centre"] = shown[x] + width / 2
    fig = px.bar(shown, x="centre", y=y, color=color, barmode="overlay", opacity=0.7)
    fig.update_traces(width=width * 0.95)
    for threshold in sorted(set(thresholds)):
        fig.add_vline(x=threshold, line_dash="dash", line_color=THRESHOLD_COLOUR,
                      annotation_text=f"threshold {threshold:g}", annotation_position="top left")
    fig.update_xaxes(title_text=x_title)
    return _finish(fig, title, y_title=y_title)


def ecdf(frame: pd.DataFrame, *, x: str, count: str, group: str, title: str, x_title: str = "confidence",
         thresholds: Sequence[float] = ()) -> go.Figure:
    """Empirical CDF per group from bucket counts (exact at the buckets' precision)."""
    fig = go.Figure()
    for name, part in frame.sort_values(x).groupby(group, sort=True):
        total = part[count].sum()
        if total <= 0:
            continue
        fig.add_trace(go.Scatter(x=part[x], y=part[count].cumsum() / total, mode="lines", name=str(name),
                                 line_shape="hv"))
    for threshold in sorted(set(thresholds)):
        fig.add_vline(x=threshold, line_dash="dash", line_color=THRESHOLD_COLOUR)
    fig.update_xaxes(title_text=x_title)
    return _finish(fig, title, y_title="share at or below", percent=True)


def heatmap(frame: pd.DataFrame, *, x: str, y: str, z: str, title: str, x_title: str, y_title: str) -> go.Figure:
    pivot = frame.pivot_table(index=y, columns=x, values=z, aggfunc="sum", fill_value=0)
    fig = px.imshow(pivot, origin="lower", aspect="auto", color_continuous_scale="Blues",
                    labels={"x": x_title, "y": y_title, "color": z})
    return _finish(fig, title)
