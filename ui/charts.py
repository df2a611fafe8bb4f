"""Plotly figures the pages share, drawn so a person can read them (issue 11 point 1, issue 13).

- Figures are built with plotly graph_objects from small pre-aggregated frames (one trace per
  category shown, never one per workspace of the fleet) and cached by their inputs.
- Over all workspaces a per-workspace chart shows the fleet total, the top `TOP_N` workspaces by
  volume and "other" (`top_workspaces`); with workspaces chosen, exactly those.
- Every category has one colour on every chart and page (`colour_for`, one palette map).
- Rollout markers that would overlap collapse into one "2 changes" marker with the list on hover;
  threshold labels are staggered; bars are side by side or stacked, never translucent overlays;
  axis labels get the margin they need; buckets below a stated minimum volume are faded.
- `show(fig, data, key=...)` draws the figure with a CSV download of the data behind it.
- Upstream text (workspace names, labels) is escaped for plotly, whose labels understand HTML tags.

No statistics are computed here beyond reshaping for display.
"""

from __future__ import annotations

import html
import re
import zlib
from collections.abc import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui.markers import MarkerGroup, marker_groups, threshold_labels

EVENT_COLOUR = "#7b3fe4"
THRESHOLD_COLOUR = "#d62728"
FLEET = "fleet total"
OTHER = "other"
TOP_N = 8  # workspaces drawn by name over the whole fleet; the rest are "other"
MIN_VOLUME = 20  # a rate's bucket with fewer events than this is drawn faded
LABEL_CHARS = 28  # category tick labels are cut here (the full text is in the hover and the CSV)
LINE_CHARS = 14  # a category tick label is wrapped onto lines this long and drawn level (rotated ones get clipped)

#: Every category with a colour of its own, the same on every chart and page.
PALETTE: dict[str, str] = {
    FLEET: "#222222", OTHER: "#a0a0a0",
    # auto-send actions and outcomes
    "send_immediate": "#1b9e77", "send_delayed": "#66c2a5", "needs_review": "#e6ab02", "skip": "#a6761d",
    "auto_sent": "#1b9e77", "human_sent": "#7570b3", "discarded": "#a0a0a0", "pending": "#e6ab02",
    # decisions and statuses
    "approve": "#1b9e77", "revise": "#e6ab02", "deny": "#d62728", "needs_clarification": "#7570b3",
    "completed": "#1b9e77", "succeeded": "#1b9e77", "failed": "#d62728", "processing": "#66a61e",
    "queued": "#e6ab02", "booked": "#1b9e77", "attempted": "#7570b3", "applied": "#1b9e77",
    "skipped": "#80b1d3", "cancelled": "#a6761d",  # follow-up task statuses (hashed, they matched completed/pending)
    # canary sides
    "pre": "#7570b3", "post": "#d95f02", "before": "#7570b3", "after": "#d95f02",
}

#: Colours for categories not named above (workspaces, channels, profiles), picked by a stable hash.
CYCLE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
         "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354")


def colour_for(category: object) -> str:
    """The category's colour: its own from PALETTE, else a stable slot of CYCLE (same in every process)."""
    name = str(category)
    return PALETTE.get(name) or CYCLE[zlib.crc32(name.encode()) % len(CYCLE)]


def colour_map(categories: Iterable[object]) -> dict[str, str]:
    """Colours for the categories of one chart: PALETTE's, then each other one its hash slot, moved to the
    next free slot when two would share one (decided by name order, so the same set always looks the same)."""
    names = [str(c) for c in dict.fromkeys(categories)]
    colours = {name: PALETTE[name] for name in names if name in PALETTE}
    used = set(colours.values())
    for name in sorted(n for n in names if n not in colours):
        slot = zlib.crc32(name.encode()) % len(CYCLE)
        for step in range(len(CYCLE)):
            candidate = CYCLE[(slot + step) % len(CYCLE)]
            if candidate not in used:
                break
        else:
            candidate = CYCLE[slot]
        colours[name] = candidate
        used.add(candidate)
    return colours


def plotly_text(value: object) -> str:
    """Text plotly shows as text: its labels read <b>, <a href> and <br>, so upstream text is escaped."""
    return html.escape(str(value), quote=False)


def short(value: object, limit: int = LABEL_CHARS) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wrapped(value: object, width: int = LINE_CHARS) -> str:
    """`value` cut to three lines, escaped, and broken onto lines of about `width` characters after a
    space, underscore, dot or dash (plotly's line break is <br>; a word longer than a line stays whole)."""
    lines: list[str] = []
    for piece in re.findall(r"[^ _.\-]*(?:[ _.\-]+|$)", short(value, 3 * width)):
        if lines and len(lines[-1]) + len(piece.rstrip()) <= width:
            lines[-1] += piece
        elif piece:
            lines.append(piece)
    return "<br>".join(plotly_text(line.strip()) for line in lines if line.strip())


# -- shaping a frame for display ------------------------------------------------------------------


def top_workspaces(frame: pd.DataFrame, *, keys: Sequence[str], measures: Sequence[str], by: str = "workspace",
                   rank_by: str | None = None, chosen: bool = False, n: int | None = None,
                   fleet_total: bool = True) -> pd.DataFrame:
    """Per-workspace rows regrouped for a chart: the top `n` workspaces by `rank_by` (summed over the
    frame), "other" for the rest, and the fleet total first; `chosen` (workspaces picked in the
    filter) keeps them all. Columns: `keys`, `by`, `measures`. Measures must add up (counts, sums):
    compute rates afterwards."""
    keys, measures, n = list(keys), list(measures), n or TOP_N
    if frame.empty or chosen:
        return frame[[*keys, by, *measures]]
    volume = frame.groupby(by, dropna=False)[rank_by or measures[0]].sum()
    ranked = sorted(volume.items(), key=lambda item: (-item[1], str(item[0])))
    top = [name for name, _ in ranked[:n]]
    shown = frame.assign(**{by: frame[by].where(frame[by].isin(top), OTHER)})
    parts = [_sum(shown, [*keys, by], measures)]
    if fleet_total and len(ranked) > 1:
        parts.insert(0, _sum(frame, keys, measures).assign(**{by: FLEET}))
    result = pd.concat(parts, ignore_index=True)
    order = {name: i for i, name in enumerate([FLEET, *top, OTHER])}
    result = result.sort_values(by, key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return result[[*keys, by, *measures]]


def largest(frame: pd.DataFrame, *, by: str, rank_by: str, chosen: bool = False, n: int | None = None) -> pd.DataFrame:
    """Only the rows of the `n` largest `by` categories by `rank_by` (for measures that do not add up,
    such as means, where an "other" group cannot be formed); `chosen` keeps them all."""
    if frame.empty or chosen:
        return frame
    volume = frame.groupby(by, dropna=False)[rank_by].sum()
    top = [name for name, _ in sorted(volume.items(), key=lambda item: (-item[1], str(item[0])))[: n or TOP_N]]
    return frame[frame[by].isin(top)]


def _sum(frame: pd.DataFrame, keys: list[str], measures: Sequence[str]) -> pd.DataFrame:
    if not keys:
        return frame[list(measures)].sum().to_frame().T
    return frame.groupby(keys, as_index=False, dropna=False, sort=True)[list(measures)].sum()


def _categories(frame: pd.DataFrame, color: str | None) -> list[object]:
    """Categories in the order they come, the fleet total first and "other" last."""
    if color is None:
        return [None]
    found = list(pd.unique(frame[color]))
    return [*(c for c in found if c == FLEET), *(c for c in found if c not in (FLEET, OTHER)),
            *(c for c in found if c == OTHER)]


# -- figures --------------------------------------------------------------------------------------


def _finish(fig: go.Figure, title: str, *, y_title: str | None = None, percent: bool = False,
            note: str = "") -> go.Figure:
    heading: dict = {"text": plotly_text(title), "x": 0, "xanchor": "left"}
    if note:
        heading["subtitle"] = {"text": plotly_text(note)}
    fig.update_layout(title=heading, margin={"l": 10, "r": 10, "t": 90 if note else 70, "b": 10},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.3, "x": 0}, height=420,
                      hoverlabel={"namelength": -1}, template="plotly_white")
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    if y_title is not None:
        fig.update_yaxes(title_text=plotly_text(y_title))
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return fig


def add_events(fig: go.Figure, events: pd.DataFrame | None, *, span: tuple[object, object] | None = None) -> go.Figure:
    """Rollout markers (audit log rows): changes that would overlap at this chart's scale are one marker
    ("2 changes", the list on hover); neighbouring labels are staggered in height."""
    if events is None or events.empty:
        return fig
    for group in marker_groups(events, span=span):
        _marker(fig, group)
    return fig


def _marker(fig: go.Figure, group: MarkerGroup) -> None:
    when = group.when.to_pydatetime()
    fig.add_vline(x=when, line_width=1.5, line_dash="dot", line_color=EVENT_COLOUR)
    fig.add_annotation(x=when, y=group.level, yref="paper", text=plotly_text(group.label), showarrow=False,
                       xanchor="left", yanchor="bottom", font={"size": 10, "color": EVENT_COLOUR},
                       bgcolor="rgba(255,255,255,0.85)", hovertext="<br>".join(plotly_text(t) for t in group.items))


def _thresholds(fig: go.Figure, thresholds: Sequence[float], *, span: tuple[float, float], label: bool = True) -> None:
    """Dashed threshold lines; thresholds too close to label apart share one label (ui.markers)."""
    for threshold in sorted(set(thresholds)):
        fig.add_vline(x=threshold, line_dash="dash", line_color=THRESHOLD_COLOUR)
    if not label:
        return
    for placed in threshold_labels(thresholds, span=span):
        fig.add_annotation(x=placed.x, y=placed.level, yref="paper", text=plotly_text(placed.text), showarrow=False,
                           xanchor="right", yanchor="top", font={"size": 10, "color": THRESHOLD_COLOUR},
                           bgcolor="rgba(255,255,255,0.85)")


def _span(frame: pd.DataFrame, x: str) -> tuple[object, object] | None:
    return (frame[x].min(), frame[x].max()) if len(frame) else None


@st.cache_data(max_entries=256, show_spinner=False)
def time_series(frame: pd.DataFrame, *, y: str, title: str, color: str | None = None, x: str = "bucket",
                events: pd.DataFrame | None = None, y_title: str | None = None, percent: bool = False,
                hline: float | None = None, hline_label: str = "", volume: str | None = None,
                min_volume: int = MIN_VOLUME) -> go.Figure:
    """Lines per category, no dots (the fleet total thick, "other" dashed grey). With `volume`, a bucket
    with fewer than `min_volume` of it is left out of its line, a gap (a rate over a handful of drafts
    swings 0-100%; joining the neighbours drew straight lines across days); the fleet total, or the one
    line of a chart, still shows those buckets, faded, as dots apart from it (a week of thin 3 h buckets
    would otherwise be an empty chart). The subtitle states the minimum."""
    fig = go.Figure()
    categories = _categories(frame, color)
    frame = frame.sort_values(x, kind="stable")
    colours = colour_map(c for c in categories if c is not None)
    single = len(categories) == 1
    left_out = False
    for category in categories:
        part = frame if category is None else frame[frame[color] == category]
        name = "" if category is None else str(category)
        colour = colours.get(name, CYCLE[0])
        low = part[volume] < min_volume if volume is not None else pd.Series(False, index=part.index)
        left_out |= bool(low.any())
        kept = part.assign(**{y: part[y].where(~low)})  # a gap, not a line across days of hidden buckets
        line = {"color": colour, "width": 3 if name == FLEET else 1.6}
        if name == OTHER:
            line["dash"] = "dash"
        fig.add_trace(go.Scatter(x=kept[x], y=kept[y], mode="lines" if kept[y].notna().sum() > 1 else "markers",
                                 name=plotly_text(name), line=line, marker={"color": colour, "size": 6},
                                 legendgroup=name, showlegend=category is not None, connectgaps=False))
        if (single or name == FLEET) and low.any():
            fig.add_trace(go.Scatter(x=part.loc[low, x], y=part.loc[low, y], mode="markers", opacity=0.3,
                                     marker={"color": colour, "size": 6}, legendgroup=name, showlegend=False,
                                     name=plotly_text(f"{name} (few {volume})")))
    fig.update_xaxes(title_text="UTC")
    fig.update_layout(hovermode="x unified")
    if hline is not None:
        fig.add_hline(y=hline, line_dash="dash", line_color=THRESHOLD_COLOUR, annotation_text=plotly_text(hline_label))
    note = ""
    if left_out:
        note = (f"Faded: buckets with fewer than {min_volume} {volume}." if single else
                f"Buckets with fewer than {min_volume} {volume} are left out of the lines (gaps)"
                + ("; the fleet total's are faded dots." if FLEET in map(str, categories) else "."))
    return _finish(add_events(fig, events, span=_span(frame, x)), title, y_title=y_title or y, percent=percent,
                   note=note)


@st.cache_data(max_entries=256, show_spinner=False)
def stacked_bars(frame: pd.DataFrame, *, x: str, y: str, color: str, title: str,
                 events: pd.DataFrame | None = None, y_title: str | None = None, percent: bool = False) -> go.Figure:
    fig = go.Figure()
    colours = colour_map(_categories(frame, color))
    for category in _categories(frame, color):
        part = frame[frame[color] == category]
        fig.add_trace(go.Bar(x=_axis_values(part[x]), y=part[y], name=plotly_text(category),
                             marker_color=colours[str(category)]))
    fig.update_layout(barmode="stack", bargap=0.1)
    if x == "bucket":
        fig.update_xaxes(title_text="UTC")
        add_events(fig, events, span=_span(frame, x))
    else:
        fig.update_xaxes(title_text=plotly_text(x), tickangle=0)
    return _finish(fig, title, y_title=y_title or y, percent=percent)


@st.cache_data(max_entries=256, show_spinner=False)
def bars(frame: pd.DataFrame, *, x: str, y: str, title: str, color: str | None = None,
         y_title: str | None = None, percent: bool = False, barmode: str = "group",
         hline: float | None = None, hline_label: str = "") -> go.Figure:
    """Bars side by side (or stacked); a numeric `x` with a text `y` draws them horizontally."""
    horizontal = pd.api.types.is_numeric_dtype(frame[x]) and not pd.api.types.is_numeric_dtype(frame[y])
    fig = go.Figure()
    categories = _categories(frame, color)
    colours = colour_map(c for c in categories if c is not None)
    for category in categories:
        part = frame if category is None else frame[frame[color] == category]
        colour = colours.get(str(category), CYCLE[0]) if category is not None else CYCLE[0]
        labels = _axis_values(part[y], wrap=False) if horizontal else _axis_values(part[x])
        values = part[x] if horizontal else part[y]
        fig.add_trace(go.Bar(x=values if horizontal else labels, y=labels if horizontal else values,
                             orientation="h" if horizontal else "v", marker_color=colour,
                             name=plotly_text("" if category is None else category),
                             showlegend=category is not None))
    fig.update_layout(barmode="stack" if barmode == "stack" else "group", bargap=0.15)
    fig.update_xaxes(title_text=plotly_text(x))
    (fig.update_yaxes if horizontal else fig.update_xaxes)(tickangle=0)
    if hline is not None:
        fig.add_hline(y=hline, line_dash="dash", line_color=THRESHOLD_COLOUR, annotation_text=plotly_text(hline_label))
    return _finish(fig, title, y_title=y_title or y, percent=percent)


def _axis_values(values: pd.Series, *, wrap: bool = True) -> pd.Series:
    """Category axis labels escaped, wrapped onto level lines under vertical bars or cut to LABEL_CHARS
    beside horizontal ones (numbers and times as they are)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values
    return values.map(wrapped if wrap else lambda v: plotly_text(short(v)))


@st.cache_data(max_entries=256, show_spinner=False)
def histogram(frame: pd.DataFrame, *, x: str, y: str, title: str, width: float, color: str | None = None,
              thresholds: Sequence[float] = (), x_title: str = "confidence", y_title: str = "drafts") -> go.Figure:
    """Bucket counts (`x` each bucket's lower edge): up to three categories as bars side by side,
    more as step lines (never translucent bars over each other)."""
    fig = go.Figure()
    categories = _categories(frame, color)
    colours = colour_map(c for c in categories if c is not None)
    as_lines = len(categories) > 3
    for category in categories:
        part = (frame if category is None else frame[frame[color] == category]).sort_values(x, kind="stable")
        colour = colours.get(str(category), CYCLE[0]) if category is not None else CYCLE[0]
        name = plotly_text("" if category is None else category)
        centre = part[x] + width / 2
        if as_lines:
            fig.add_trace(go.Scatter(x=centre, y=part[y], mode="lines", line_shape="hvh", name=name,
                                     line={"color": colour, "width": 3 if category == FLEET else 1.6}))
        else:
            fig.add_trace(go.Bar(x=centre, y=part[y], name=name, marker_color=colour,
                                 showlegend=category is not None))
    fig.update_layout(barmode="group", bargap=0.05)
    edges = (float(frame[x].min()), float(frame[x].max()) + width) if len(frame) else (0.0, 1.0)
    _thresholds(fig, thresholds, span=edges)
    # the whole of the first and last buckets (and every threshold): autorange stopped at the last centre
    shown = [min([edges[0], *thresholds]), max([edges[1], *thresholds])]
    fig.update_xaxes(title_text=plotly_text(x_title), range=shown)
    return _finish(fig, title, y_title=y_title)


@st.cache_data(max_entries=256, show_spinner=False)
def ecdf(frame: pd.DataFrame, *, x: str, count: str, group: str, title: str, x_title: str = "confidence",
         thresholds: Sequence[float] = ()) -> go.Figure:
    """Empirical CDF per group from bucket counts (exact at the buckets' precision)."""
    fig = go.Figure()
    categories = _categories(frame, group)
    colours = colour_map(categories)
    for name in categories:
        part = frame[frame[group] == name].sort_values(x, kind="stable")
        total = part[count].sum()
        if total <= 0:
            continue
        fig.add_trace(go.Scatter(x=part[x], y=part[count].cumsum() / total, mode="lines", name=plotly_text(name),
                                 line_shape="hv", line={"color": colours[str(name)],
                                                        "width": 3 if name == FLEET else 1.6}))
    edges = (float(frame[x].min()), float(frame[x].max())) if len(frame) else (0.0, 1.0)
    _thresholds(fig, thresholds, span=edges, label=False)  # the histogram beside it carries the labels
    fig.update_xaxes(title_text=plotly_text(x_title))
    return _finish(fig, title, y_title="share at or below", percent=True)


@st.cache_data(max_entries=64, show_spinner=False)
def heatmap(frame: pd.DataFrame, *, x: str, y: str, z: str, title: str, x_title: str, y_title: str) -> go.Figure:
    pivot = frame.pivot_table(index=y, columns=x, values=z, aggfunc="sum", fill_value=0)
    fig = go.Figure(go.Heatmap(z=pivot.to_numpy(), x=list(pivot.columns), y=list(pivot.index), colorscale="Blues",
                               colorbar={"title": {"text": plotly_text(z)}},
                               hovertemplate=f"{plotly_text(x_title)} %{{x}}<br>{plotly_text(y_title)} %{{y}}"
                                             f"<br>{plotly_text(z)} %{{z}}<extra></extra>"))
    fig.update_xaxes(title_text=plotly_text(x_title))
    fig.update_yaxes(title_text=plotly_text(y_title))
    return _finish(fig, title)


# -- drawing --------------------------------------------------------------------------------------


def show(fig: go.Figure, data: pd.DataFrame, *, key: str, where=None) -> None:
    """Draw the figure and, under it, a CSV download of the frame it was drawn from."""
    target = where if where is not None else st
    target.plotly_chart(fig, width="stretch", key=f"cw_chart_{key}")
    target.download_button("CSV", csv_bytes(data), file_name=f"{key}.csv", mime="text/csv", key=f"cw_csv_{key}",
                            icon=":material/download:", help="The data behind this chart, as CSV.",
                            on_click="ignore")  # a download needs no rerun of the page


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_bytes(data: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV; text that a spreadsheet would run as a formula is prefixed with '."""
    safe = data.copy()
    for name in safe.columns:
        if safe[name].dtype == object or pd.api.types.is_string_dtype(safe[name]):
            safe[name] = safe[name].map(lambda v: f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA_START)
                                        else v)
    return safe.to_csv(index=False).encode("utf-8")
