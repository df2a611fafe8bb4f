"""Auto-send revision: how often a weak draft is revised, whether it helps, and the at-most-once check."""

from __future__ import annotations

import ui.pages_mode  # noqa: F401  first: a deep link on a fresh process runs this file directly

# isort: split
from datetime import UTC, datetime, timedelta

import streamlit as st

from analysis.derive import bucket_edges, percentile_upper_edge, sums_by, total, total_rate, with_rate
from analysis.revision_review import FIELD, Side, enabling_changes, formatted, review_metrics, review_window
from queries import drafts, events, revision, revision_review
from queries.filters import Window
from ui import charts, filters, layout, tables, tiles
from ui.data import cached
from ui.markers import rollout_markers
from ui.safe import plain

layout.page_setup("Auto-send revision", "Revisions attempted and applied (AIDraft.autoSendRevision*), the "
                  "confidence before and after, iterations, revise-call latency, and the at-most-once invariant.")
f = filters.sidebar()


def post_launch_review(f: Window) -> Window:
    """The preset: the 24 hours since autoSendRevisionEnabled went on for one workspace, against the day
    before, and a sample of applied revisions to open upstream. Returns the window the page then shows."""
    st.subheader("Post-launch review")
    changes = cached(events.rollout_events, Window.last(timedelta(days=3650), now=filters.now_minute()))
    enabled = enabling_changes(changes)
    if enabled.empty:
        st.info(f"No change switching {FIELD} on is in the audit log: there is no launch to review.")
        return f
    names = filters.workspace_names()
    label = dict(zip(names["workspace"], names["name"], strict=True))
    when = dict(zip(enabled["workspace"], enabled["changed_at"], strict=True))
    left, right = st.columns([3, 1])
    ws = left.selectbox("Workspace (newest launch first)", list(enabled["workspace"]), key="cw_review_workspace",
                        format_func=lambda w: f"{label.get(w, w)} · on since {when[w]:%Y-%m-%d %H:%M} UTC")
    size = int(right.number_input("Drafts to sample", min_value=1, max_value=50, value=10, key="cw_review_size"))
    review = review_window(changes, ws, when[ws].to_pydatetime())
    after = Window(*review.after, (ws,), f.channel)
    before = Window(*review.before, (ws,), f.channel)
    st.caption(f"{FIELD} switched on for {plain(label.get(ws, ws))} at {review.enabled_at:%Y-%m-%d %H:%M:%S} UTC "
               f"(audit log). First 24 hours: {after.label()}; pre-rollout day: {before.label()}. The rest of the "
               "page shows the first 24 hours against the pre-rollout day.")
    if review.disabled_at is not None:
        st.warning(f"{FIELD} was switched off again at {review.disabled_at:%Y-%m-%d %H:%M:%S} UTC, inside the 24 "
                   "hours: the figures after that are the rollback's, not the launch's.")
    now = datetime.now(UTC)
    if after.end > now:
        st.info(f"The 24 hours are not over: {(now - after.start).total_seconds() / 3600:.1f} h so far, so counts "
                "are partial (rates and means compare as they are).")

    def side(w: Window) -> Side:
        return Side(cached(revision.revision_series, w), cached(revision.revise_error_series, w),
                    cached(drafts.channel_summary, w))

    tables.show(formatted(review_metrics(side(before), side(after))))
    st.caption("Descriptive: both days' values and the difference, no significance test. "
               f"{revision.revision_series.describes} {drafts.channel_summary.describes}")
    sample = cached(revision_review.applied_revision_sample, after, size=size)
    if sample.empty:
        st.info("No applied revision in the first 24 hours yet.")
    else:
        shown = filters.workspace_label(sample).drop(columns="workspace").rename(
            columns={"workspace_name": "workspace"})
        tables.show(shown[["draft_id", "workspace", "attempted_at", "channel", "confidence_before",
                           "confidence_after"]])
        st.caption(f"{revision_review.applied_revision_sample.describes} Open them upstream by id to read the text.")
    return after


if st.toggle(f"Post-launch review: the 24 hours since {FIELD} was switched on", key="cw_revision_review"):
    with layout.section("Post-launch review"):
        f = post_launch_review(f)
marks = rollout_markers(f)
PAIR_WIDTH, LATENCY_MS = 0.05, 500
PERCENT = st.column_config.NumberColumn(format="percent")


def named(frame):
    """Workspace names in place of ids, for display."""
    return filters.workspace_label(frame).drop(columns="workspace").rename(columns={"workspace_name": "workspace"})


def latency_edge(histogram, q: float) -> float | None:
    return percentile_upper_edge(histogram, bucket="latency_bucket_ms", count="calls", width=LATENCY_MS, q=q)


with layout.section("Headline"):
    now, prev = cached(revision.revision_series, f), cached(revision.revision_series, f.previous())
    tiles.headline([
        tiles.Tile("Attempted", total(now, "attempted"), total(prev, "attempted")),
        tiles.Tile("Applied", total(now, "applied"), total(prev, "applied")),
        tiles.Tile("Applied rate", total_rate(now, "applied", "attempted"), total_rate(prev, "applied", "attempted"),
                   kind="rate", higher_is_better=True),
        tiles.Tile("Mean confidence delta", total_rate(now, "delta_sum", "paired"),
                   total_rate(prev, "delta_sum", "paired"), kind="number", higher_is_better=True,
                   help="Mean of revision - original confidence over drafts with both values."),
    ])
    st.caption(f"{f.label()} against the previous equal window ({f.previous().label()}). "
               + revision.revision_series.describes)

with layout.section("At-most-once invariant"):
    st.subheader("At-most-once invariant")
    loops = cached(revision.revision_loop_counts, f)
    odd = cached(revision.revision_inconsistencies, f)
    twice, broken = total(loops, "drafts_looped_more_than_once"), total(odd, "drafts")
    if twice or broken:
        st.error(f"{twice + broken} violation(s): {twice} draft(s) with more than one revision loop and "
                 f"{broken} draft(s) whose revision columns break the contract.", icon=":material/error:")
        for part in (loops[loops["drafts_looped_more_than_once"] > 0], odd):
            if not part.empty:
                tables.show(named(part))
    else:
        st.success(f"0 violations: no draft revised more than once ({total(loops, 'drafts_looped'):,} drafts "
                   "looped) and no revision record breaking the contract.", icon=":material/verified:")
    st.caption(f"{revision.revision_loop_counts.describes} {revision.revision_inconsistencies.describes}")

with layout.section("Revisions over time"):
    st.subheader("Revisions over time")
    now = cached(revision.revision_series, f)
    if now.empty:
        layout.empty_state("revision attempts")
    else:
        counts = sums_by(now, ["bucket"], ["attempted", "applied"]).melt(
            id_vars="bucket", value_vars=["attempted", "applied"], var_name="revisions", value_name="drafts")
        charts.show(charts.time_series(counts, y="drafts", color="revisions", events=marks,
                                       title="Revisions attempted and applied"), counts, key="revision-counts")
        rate = with_rate(charts.top_workspaces(named(now), keys=["bucket"], measures=["applied", "attempted"],
                                               rank_by="attempted", chosen=bool(f.workspaces)),
                         "applied", "attempted", by=["bucket", "workspace"], name="applied_rate")
        charts.show(charts.time_series(rate, y="applied_rate", color="workspace", events=marks, percent=True,
                                       volume="attempted", title="Applied rate over time",
                                       y_title="applied / attempted"), rate, key="revision-applied-rate")
        st.caption(revision.revision_series.describes)

with layout.section("Confidence before and after"):
    st.subheader("Confidence before and after revision")
    now = cached(revision.revision_series, f)
    pairs = cached(revision.revision_confidence_pairs, f, width=PAIR_WIDTH)
    iterations = cached(revision.revision_iterations, f)
    left, right = st.columns(2)
    if pairs.empty:
        left.info("No revision in this window has both an original and a revision confidence.")
    else:
        mean_delta = total_rate(now, "delta_sum", "paired")
        edges = bucket_edges(sums_by(pairs, ["original_bucket", "revised_bucket"], ["drafts"]),
                             ["original_bucket", "revised_bucket"], PAIR_WIDTH)
        charts.show(charts.heatmap(edges, x="revised_bucket", y="original_bucket", z="drafts",
                                   title="Original → revision confidence (drafts)",
                                   x_title="revision confidence (bucket lower edge)",
                                   y_title="original confidence (bucket lower edge)"), edges,
                    key="revision-confidence-pairs", where=left)
        left.caption(f"{revision.revision_confidence_pairs.describes} Above the diagonal: the revision scored higher. "
                     + (f"Mean delta {mean_delta:+.3f} over {total(now, 'paired'):,} paired drafts."
                        if mean_delta is not None else ""))
    if iterations.empty:
        right.info("No applied revision in this window.")
    else:
        iterations_shown = sums_by(iterations, ["iterations", "channel"], ["drafts"])
        charts.show(charts.bars(iterations_shown, x="iterations", y="drafts", color="channel",
                                title="Iterations of applied revisions"), iterations_shown,
                    key="revision-iterations", where=right)
        right.caption(revision.revision_iterations.describes)

with layout.section("By channel and campaign"):
    st.subheader("By channel and by campaign")
    now = cached(revision.revision_series, f)
    if now.empty:
        layout.empty_state("revision attempts")
    else:
        by_channel = with_rate(now, "applied", "attempted", by=["channel"], name="applied rate")
        deltas = with_rate(now, "delta_sum", "paired", by=["channel"], name="mean delta")[["channel", "mean delta"]]
        tables.show(by_channel.merge(deltas, on="channel"),
                    column_config={"applied rate": PERCENT,
                                   "mean delta": st.column_config.NumberColumn(format="%+.3f")})
        by_campaign = cached(revision.revision_by_campaign, f)
        campaigns = named(with_rate(by_campaign, "applied", "attempted", by=["workspace", "campaign_id"],
                                    name="applied rate"))
        tables.show(campaigns[["workspace", "campaign_id", "attempted", "applied", "applied rate"]],
                    column_config={"applied rate": PERCENT})
        st.caption(revision.revision_by_campaign.describes)

with layout.section("Revise-call latency"):
    st.subheader("Revise-call latency")
    latency = cached(revision.revise_latency_histogram, f, width_ms=LATENCY_MS)
    latency_prev = cached(revision.revise_latency_histogram, f.previous(), width_ms=LATENCY_MS)
    if latency.empty:
        layout.empty_state("revise calls with a latency")
    else:
        shown = sums_by(latency, ["latency_bucket_ms"], ["calls"]).rename(
            columns={"latency_bucket_ms": "latency (ms, bucket lower edge)"})
        charts.show(charts.bars(shown, x="latency (ms, bucket lower edge)", y="calls", y_title="calls",
                                title=f"Revise calls per {LATENCY_MS} ms latency bucket"), shown,
                    key="revision-latency")

        def edges(frame) -> str:
            p50, p95 = latency_edge(frame, 0.5), latency_edge(frame, 0.95)
            return "no calls" if p50 is None else f"p50 ≤ {p50:,.0f} ms, p95 ≤ {p95:,.0f} ms"

        st.markdown(f"**This window:** {edges(latency)} ({total(latency, 'calls'):,} calls) · "
                    f"**previous window:** {edges(latency_prev)} ({total(latency_prev, 'calls'):,} calls)")
        st.caption(f"Each percentile is stated as the upper edge of the {LATENCY_MS} ms bucket that holds it: the "
                   "true value is at most that. " + revision.revise_latency_histogram.describes)

with layout.section("Drafts to sample upstream"):
    st.subheader("Drafts to sample upstream")
    sample = cached(revision.revision_sample_ids, f)
    if sample.empty:
        layout.empty_state("revision attempts")
    else:
        tables.show(named(sample)[["draft_id", "workspace", "channel", "attempted_at", "applied"]])
        st.caption(revision.revision_sample_ids.describes + " Open them upstream to read the text.")
layout.freshness_bar()
