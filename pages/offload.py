"""Offload health: the webhook queue over time and background function failures."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from analysis.derive import total
from analysis.offload_health import depth_bucket_seconds, failure_ratios, oldest_due_age, retry_totals
from analysis.queue import MIN_RUNS, queue_depth_series
from queries import offload
from ui import charts, filters, layout, tiles
from ui.data import cached
from ui.markers import rollout_markers

layout.page_setup("Offload health", "WebhookEvent queue depth reconstructed from its timestamps, the oldest due "
                  "event and retries, and BackgroundFunctionRun failures per function against the 10% line.")
f = filters.sidebar(channel=False)
marks = rollout_markers(f)
seconds = depth_bucket_seconds(f.duration.total_seconds() / 3600)


def minutes(delta) -> float | None:
    return None if delta is None else delta.total_seconds() / 60


with layout.section("Webhook queue"):
    flow = cached(offload.webhook_flow_series, f, bucket_seconds=seconds)
    backlog = cached(offload.webhook_backlog_at_start, f)
    due = cached(offload.webhook_oldest_due, f)
    retries, retries_prev = retry_totals(cached(offload.webhook_retries, f)), retry_totals(
        cached(offload.webhook_retries, f.previous()))
    depth = queue_depth_series(flow, backlog, start=f.start, end=f.end, bucket_seconds=seconds)
    at = min(f.end, datetime.now(UTC))
    tiles.headline([
        tiles.Tile("Events created", total(flow, "created")),
        tiles.Tile("Open at the window's end", float(depth["queued"].iloc[-1]) if not depth.empty else None,
                   higher_is_better=False),
        tiles.Tile("Oldest due event (minutes)", minutes(oldest_due_age(due, at)),
                   higher_is_better=False, help="PENDING with runAt before the window's end, as the table is now"),
        tiles.Tile("Events retried", total(retries, "retried"), total(retries_prev, "retried"),
                   higher_is_better=False, help="created in the window with attempts > 1"),
    ])
    shown = depth.melt(id_vars="bucket_end", value_vars=["pending", "running"], var_name="status",
                       value_name="events").rename(columns={"bucket_end": "bucket"})
    charts.show(charts.stacked_bars(shown, x="bucket", y="events", color="status", events=marks,
                                    title=f"Webhook queue depth by status (at the end of every {seconds // 60} "
                                    "minutes)",
                                    y_title="open events"), shown, key="offload-queue-depth")
    st.caption(f"{offload.webhook_flow_series.describes} Depth = open at the window's start + created − finished; "
               "a retry keeps only its last attempt's timestamps, so this is an approximation (section 9), and a "
               "backlog that builds and drains between two samples does not show.")
    table = retry_totals(cached(offload.webhook_retries, f), by=["provider", "status"])
    if not table.empty:
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"attempts_per_event": st.column_config.NumberColumn(format="%.2f")})
        st.caption(offload.webhook_retries.describes)

with layout.section("Background functions"):
    runs = cached(offload.function_run_series, f)
    if runs.empty:
        layout.empty_state("function runs")
    else:
        ratio = failure_ratios(runs, by=["bucket", "function"], min_runs=MIN_RUNS)
        charts.show(charts.time_series(ratio, y="failure_ratio", color="function", events=marks, percent=True,
                                       hline=0.10, hline_label="10%", title="Failure ratio per function over time",
                                       y_title="failed / runs"), ratio, key="offload-failure-ratio")
        failed_shown = runs.groupby(["bucket", "function"], as_index=False)["failed"].sum()
        charts.show(charts.stacked_bars(failed_shown, x="bucket", y="failed", color="function", events=marks,
                                        title="Failed runs per function over time", y_title="failed runs"),
                    failed_shown, key="offload-failed-runs")
        st.caption(offload.function_run_series.describes + " Each retry is its own row: attempts, not logical runs. "
                   f"No ratio is drawn for a bucket with fewer than {MIN_RUNS} runs.")
        st.dataframe(failure_ratios(runs, by=["function"], min_runs=1), hide_index=True,
                     width="stretch", column_config={"failure_ratio": st.column_config.NumberColumn(format="percent")})
layout.freshness_bar()
