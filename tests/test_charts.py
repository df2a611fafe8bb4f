"""Charts a person can read (issue 11 point 1): exact regrouping, stable colours, markers that do not
overlap, no translucent overlays, faded low-volume buckets, escaped upstream text, safe CSV. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from ui import charts
from ui.markers import ThresholdLabel, marker_groups, threshold_labels

T = datetime(2026, 2, 18, tzinfo=UTC)


def fleet(n: int = 10) -> pd.DataFrame:
    """Workspace ws-1 .. ws-n with 10*i drafts (2*i of them needs_review) in each of two buckets."""
    rows = [{"bucket": T + timedelta(hours=h), "workspace": f"ws-{i}", "evaluated": 10 * i, "needs_review": 2 * i}
            for i in range(1, n + 1) for h in (0, 1)]
    return pd.DataFrame(rows)


def test_the_fleet_total_the_top_eight_and_other_add_up_exactly():
    shown = charts.top_workspaces(fleet(), keys=["bucket"], measures=["evaluated", "needs_review"])
    first = shown[shown["bucket"] == T]
    assert first["workspace"].tolist() == ["fleet total", *[f"ws-{i}" for i in range(10, 2, -1)], "other"]
    assert first.set_index("workspace").loc["fleet total", "evaluated"] == 10 * sum(range(1, 11))  # 550
    assert first.set_index("workspace").loc["other", "evaluated"] == 10 + 20  # ws-1 and ws-2
    assert first.set_index("workspace").loc["other", "needs_review"] == 2 + 4
    assert len(shown) == 2 * 10
    chosen = charts.top_workspaces(fleet(), keys=["bucket"], measures=["evaluated"], chosen=True)
    assert sorted(chosen["workspace"].unique()) == sorted(f"ws-{i}" for i in range(1, 11))
    few = charts.top_workspaces(fleet(3), keys=["bucket"], measures=["evaluated"], n=8, fleet_total=False)
    assert list(pd.unique(few["workspace"])) == ["ws-3", "ws-2", "ws-1"]


def test_colours_are_stable_per_category_and_distinct_within_a_chart():
    assert charts.colour_for("needs_review") == charts.PALETTE["needs_review"]
    names = ["fleet total", *[f"ws-{i}" for i in range(1, 9)], "other"]
    colours = charts.colour_map(names)
    assert len(set(colours.values())) == len(names)
    assert colours["fleet total"] == "#222222" and colours["other"] == "#a0a0a0"
    assert charts.colour_map(reversed(names)) == colours  # the order of the data does not change a colour
    one = charts.stacked_bars(pd.DataFrame({"bucket": [T, T], "action": ["needs_review", "skip"], "drafts": [1, 2]}),
                              x="bucket", y="drafts", color="action", title="a")
    assert {t.name: t.marker.color for t in one.data} == {"needs_review": "#e6ab02", "skip": "#a6761d"}


def test_simultaneous_changes_are_one_marker_and_near_ones_are_staggered():
    events = pd.DataFrame({
        "changed_at": [T + timedelta(hours=2), T + timedelta(hours=2, minutes=5), T + timedelta(hours=4),
                       T + timedelta(hours=20)],
        "workspace": ["ws-a", "ws-b", "ws-a", "ws-c"], "field": ["autoSendEnabled"] * 4,
        "old_value": ["false"] * 4, "new_value": ["true"] * 4, "actor": ["x"] * 4, "reason": ["r"] * 4})
    groups = marker_groups(events, span=(T, T + timedelta(hours=24)))
    assert [(g.label, len(g.items), g.level) for g in groups] == [
        ("2 changes", 2, 1.0),  # 5 minutes apart in a 24 h chart: one marker, both listed on hover
        ("autoSendEnabled: false→tr…", 1, 0.9),  # 2 h after it: within 3 h, so the label sits lower
        ("autoSendEnabled: false→tr…", 1, 1.0)]
    assert groups[0].items[1] == "2026-02-18 02:05 UTC · ws-b: autoSendEnabled false→true"
    fig = charts.time_series(fleet(2), y="evaluated", color="workspace", events=events, title="t")
    assert [a.text for a in fig.layout.annotations] == ["2 changes", "autoSendEnabled: false→tr…",
                                                        "autoSendEnabled: false→tr…"]


def test_histograms_group_few_categories_side_by_side_and_draw_many_as_lines():
    def hist(categories: int) -> pd.DataFrame:
        return pd.DataFrame([{"lower": b / 10, "side": f"s{c}", "drafts": b + c}
                             for b in range(10) for c in range(categories)])

    two = charts.histogram(hist(2), x="lower", y="drafts", width=0.1, color="side", title="h", thresholds=[0.7, 0.72])
    assert {t.type for t in two.data} == {"bar"} and two.layout.barmode == "group"
    assert all(t.opacity is None for t in two.data)
    assert [(a.x, a.text) for a in two.layout.annotations] == [(0.72, "thresholds 0.7, 0.72")]  # one label
    assert len([s for s in two.layout.shapes if s.line.dash == "dash"]) == 2  # both lines drawn
    assert list(two.layout.xaxis.range) == [0.0, 1.0]  # the last bucket, 0.9-1.0, is drawn whole
    five = charts.histogram(hist(5), x="lower", y="drafts", width=0.1, color="side", title="h")
    assert {t.type for t in five.data} == {"scatter"} and len(five.data) == 5


def test_buckets_below_the_minimum_volume_are_faded_and_the_minimum_is_stated():
    frame = pd.DataFrame({"bucket": [T, T + timedelta(hours=1), T + timedelta(hours=2)], "rate": [0.5, 0.9, 0.4],
                          "evaluated": [40, 3, 25]})
    fig = charts.time_series(frame, y="rate", volume="evaluated", min_volume=20, title="rate")
    line, faded = fig.data
    assert line.y[0] == 0.5 and pd.isna(line.y[1]) and line.y[2] == 0.4  # the 3-draft bucket: a gap
    assert (line.mode, line.connectgaps) == ("lines", False)
    assert (list(faded.y), faded.opacity) == ([0.9], 0.3)  # one line: that bucket shown apart, faded
    assert fig.layout.title.subtitle.text == "Faded: buckets with fewer than 20 evaluated."
    two = pd.concat([frame.assign(workspace="ws-a"), frame.assign(workspace="ws-b", evaluated=[40, 30, 2])])
    fig = charts.time_series(two, y="rate", color="workspace", volume="evaluated", min_volume=20, title="rate")
    assert [(t.name, [None if pd.isna(v) else v for v in t.y], t.mode) for t in fig.data] == [
        ("ws-a", [0.5, None, 0.4], "lines"), ("ws-b", [0.5, 0.9, None], "lines")]  # lines, no dots
    assert fig.layout.title.subtitle.text == "Buckets with fewer than 20 evaluated are left out of the lines (gaps)."
    # the fleet total keeps its thin buckets as faded dots: a week of thin buckets is not an empty chart
    fleet = pd.concat([two, frame.assign(workspace=charts.FLEET, evaluated=[5, 4, 30])])
    fig = charts.time_series(fleet, y="rate", color="workspace", volume="evaluated", min_volume=20, title="rate")
    dots = [t for t in fig.data if t.opacity == 0.3]
    assert [(t.name, list(t.y)) for t in dots] == [(f"{charts.FLEET} (few evaluated)", [0.5, 0.9])]
    assert fig.layout.title.subtitle.text == ("Buckets with fewer than 20 evaluated are left out of the lines (gaps); "
                                              "the fleet total's are faded dots.")


def test_threshold_labels_closer_than_the_minimum_gap_are_one_label():
    """The gap is 15% of the x span: 0.15 on a 0-1 confidence axis."""
    assert threshold_labels([0.9, 0.85, 0.9], span=(0.0, 1.0)) == [ThresholdLabel(0.9, "thresholds 0.85, 0.9", 1.0)]
    assert threshold_labels([0.5, 0.85, 0.9], span=(0.0, 1.0)) == [
        ThresholdLabel(0.5, "threshold 0.5", 1.0),  # 0.4 from the next label: two gaps or more, same height
        ThresholdLabel(0.9, "thresholds 0.85, 0.9", 1.0)]
    assert threshold_labels([0.6, 0.8], span=(0.0, 1.0)) == [
        ThresholdLabel(0.6, "threshold 0.6", 1.0),  # 0.2 apart: one gap or more, so two labels,
        ThresholdLabel(0.8, "threshold 0.8", 0.92)]  # but within two gaps: the second one lower
    assert threshold_labels([0.7, 0.8, 0.9], span=(0.0, 1.0)) == [  # 0.1 steps chain into one run
        ThresholdLabel(0.9, "thresholds 0.7, 0.8, 0.9", 1.0)]
    assert threshold_labels([0.85, 0.9], span=(0.8, 1.0)) == [  # a 0.2 span: the gap is 0.03
        ThresholdLabel(0.85, "threshold 0.85", 1.0), ThresholdLabel(0.9, "threshold 0.9", 0.92)]
    assert threshold_labels([], span=(0.0, 1.0)) == []


def test_upstream_text_is_escaped_for_plotly_and_spreadsheet_formulas_are_defused():
    frame = pd.DataFrame({"workspace": ["<b>Acme</b> & co", "=HYPERLINK(\"x\")"], "drafts": [3, 4]})
    fig = charts.bars(frame, x="workspace", y="drafts", title="<i>t</i>")
    assert list(fig.data[0].x) == ["&lt;b&gt;Acme&lt;/b&gt; &amp;<br>co", "=HYPERLINK(\"x\")"]
    assert fig.layout.title.text == "&lt;i&gt;t&lt;/i&gt;"
    assert charts.csv_bytes(frame).decode().splitlines() == [
        "workspace,drafts", "<b>Acme</b> & co,3", "\"'=HYPERLINK(\"\"x\"\")\",4"]


def test_labels_under_vertical_bars_are_wrapped_level_onto_at_most_three_lines():
    frame = pd.DataFrame({"profile": ["auto_send_evaluator · knowledge", "draft · memory", "x" * 50], "n": [1, 2, 3]})
    fig = charts.bars(frame, x="profile", y="n", title="t")
    assert list(fig.data[0].x) == ["auto_send_<br>evaluator ·<br>knowledge", "draft · memory", "x" * 41 + "…"]
    assert fig.layout.xaxis.tickangle == 0


def test_long_category_labels_are_cut_and_numbers_draw_horizontal_bars():
    frame = pd.DataFrame({"feature_id": ["a" * 40, "b"], "rows": [5, 6], "status": ["documented"] * 2})
    fig = charts.bars(frame, x="rows", y="feature_id", color="status", title="keys")
    assert fig.data[0].orientation == "h"
    assert list(fig.data[0].y) == ["a" * 27 + "…", "b"]
    assert fig.layout.xaxis.automargin and fig.layout.yaxis.automargin
