"""Auto-send confidence: is the evaluator more or less sure than before, and where?"""

from __future__ import annotations

import ui.pages_mode  # noqa: F401  first: a deep link on a fresh process runs this file directly

# isort: split
import streamlit as st

from analysis.derive import ecdf_from_histogram, sums_by, total, total_rate, with_rate
from queries import drafts
from ui import charts, filters, layout, tables, tiles
from ui.data import cached
from ui.markers import rollout_markers

layout.page_setup("Auto-send confidence", "How sure the auto-send evaluator is (AIDraft.autoSendConfidence against "
                  "the threshold), what it decided, and what needs_review drafts became.")
f = filters.sidebar()
marks = rollout_markers(f)
WIDTHS = {"0.05": 0.05, "0.01": 0.01}


def named(frame):
    """Workspace names in place of ids, for display."""
    return filters.workspace_label(frame).drop(columns="workspace").rename(columns={"workspace_name": "workspace"})


with layout.section("Headline"):
    now, prev = cached(drafts.channel_summary, f), cached(drafts.channel_summary, f.previous())
    tiles.headline([
        tiles.Tile("Evaluated drafts", total(now, "evaluated"), total(prev, "evaluated"),
                   help="Drafts with an auto-send decision (autoSendAction not NULL)."),
        tiles.Tile("needs_review rate", total_rate(now, "needs_review", "evaluated"),
                   total_rate(prev, "needs_review", "evaluated"), kind="rate", higher_is_better=False),
        tiles.Tile("Mean confidence", total_rate(now, "confidence_sum", "scored"),
                   total_rate(prev, "confidence_sum", "scored"), kind="number", higher_is_better=True,
                   help="Over drafts with a confidence; the final, post-revision value."),
        tiles.Tile("Auto-sent share", total_rate(now, "sends", "evaluated"), total_rate(prev, "sends", "evaluated"),
                   kind="rate", help="send_immediate + send_delayed, of the evaluated drafts."),
    ])
    st.caption(f"{f.label()} against the previous equal window ({f.previous().label()}). "
               + drafts.channel_summary.describes)

with layout.section("Confidence distribution"):
    st.subheader("Confidence distribution")
    picked = st.segmented_control("Bucket width", list(WIDTHS), default="0.05", key="cw_conf_width")
    width = WIDTHS[picked or "0.05"]
    hist = cached(drafts.confidence_histogram, f, width=width)
    used = cached(drafts.thresholds, f)
    thresholds = sorted(used["threshold"].dropna().unique().tolist())
    if hist.empty:
        layout.empty_state("drafts with a confidence")
    else:
        hist = charts.top_workspaces(named(hist), keys=["bucket", "lower"], measures=["drafts"],
                                     chosen=bool(f.workspaces))
        left, right = st.columns(2)
        charts.show(charts.histogram(hist, x="lower", y="drafts", width=width, color="workspace", thresholds=thresholds,
                                     title=f"Drafts per confidence bucket ({width:g} wide)"),
                    hist, key="confidence-histogram", where=left)
        points = ecdf_from_histogram(hist, lower="lower", count="drafts", width=width, by="workspace")
        charts.show(charts.ecdf(points, x="x", count="drafts", group="workspace", thresholds=thresholds,
                                title="Share at or below each confidence, per workspace (ECDF)"),
                    points, key="confidence-ecdf", where=right)
        listed = ", ".join(f"{t:g}" for t in thresholds) or "none"
        st.caption(f"{drafts.confidence_histogram.describes} ECDF points sit at each bucket's upper edge. Dashed "
                   f"lines: the thresholds drafts were judged against ({listed}, from AIDraft.autoSendThreshold).")

with layout.section("Decisions over time"):
    st.subheader("Decisions over time")
    mix = cached(drafts.action_mix_series, f)
    if mix.empty:
        layout.empty_state("evaluated drafts")
    else:
        mix_shown = sums_by(mix, ["bucket", "action"], ["drafts"])
        charts.show(charts.stacked_bars(mix_shown, x="bucket", y="drafts", color="action", events=marks,
                                        title="Auto-send decisions over time"), mix_shown, key="confidence-decisions")
        st.caption(drafts.action_mix_series.describes)
        series = cached(drafts.needs_review_series, f)
        rate = with_rate(charts.top_workspaces(named(series), keys=["bucket"], measures=["evaluated", "needs_review"],
                                               chosen=bool(f.workspaces)),
                         "needs_review", "evaluated", by=["bucket", "workspace"])
        charts.show(charts.time_series(rate, y="rate", color="workspace", events=marks, percent=True,
                                       volume="evaluated", title="needs_review rate over time",
                                       y_title="needs_review / evaluated"),
                    rate, key="confidence-needs-review-rate")
        st.caption(drafts.needs_review_series.describes + " Rate = needs_review / evaluated per bucket.")

with layout.section("needs_review outcomes"):
    st.subheader("What needs_review drafts became")
    outcomes = cached(drafts.needs_review_outcomes, f)
    if outcomes.empty:
        layout.empty_state("needs_review drafts")
    else:
        outcome_shown = charts.top_workspaces(named(outcomes), keys=["outcome"], measures=["drafts"],
                                              chosen=bool(f.workspaces), fleet_total=False)
        charts.show(charts.bars(outcome_shown, x="outcome", y="drafts", color="workspace", barmode="stack",
                                title="needs_review drafts by what became of them"), outcome_shown,
                    key="confidence-outcomes")
        st.caption(drafts.needs_review_outcomes.describes + " A needs_review later sent by the AI reads auto_sent.")

with layout.section("By channel"):
    st.subheader("By channel")
    channels = cached(drafts.channel_summary, f)
    if channels.empty:
        layout.empty_state("evaluated drafts")
    else:
        table = with_rate(channels, "needs_review", "evaluated", by=["channel"], name="needs_review rate")
        table = table.merge(with_rate(channels, "sends", "evaluated", by=["channel"], name="auto-sent share")
                            [["channel", "auto-sent share"]], on="channel")
        table = table.merge(with_rate(channels, "confidence_sum", "scored", by=["channel"], name="mean confidence")
                            [["channel", "scored", "mean confidence"]], on="channel")
        tables.show(table,
                    column_config={"needs_review rate": st.column_config.NumberColumn(format="percent"),
                                   "auto-sent share": st.column_config.NumberColumn(format="percent"),
                                   "mean confidence": st.column_config.NumberColumn(format="%.3f")})
        st.caption(drafts.channel_summary.describes)

with layout.section("Evaluations without a confidence"):
    st.subheader("Evaluations without a confidence, and why")
    unscored = cached(drafts.unscored_evaluations, f)
    if unscored.empty:
        st.success("Every evaluation in this window had a confidence.")
    else:
        unscored_shown = sums_by(unscored, ["reason_code"], ["drafts"])
        charts.show(charts.bars(unscored_shown, x="reason_code", y="drafts",
                                title=f"Evaluations without a confidence by reason code "
                                      f"({total(unscored, 'drafts'):,} in all)"), unscored_shown,
                    key="confidence-unscored")
        st.caption(drafts.unscored_evaluations.describes + " Reason codes only: evaluator free text reads 'other'.")
layout.freshness_bar()
