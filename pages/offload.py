"""Offload health: the webhook queue over time and background function failures."""

from __future__ import annotations

import ui.pages_mode  # noqa: F401  first: a deep link on a fresh process runs this file directly

# isort: split
from datetime import UTC, datetime

import streamlit as st

from analysis.derive import total
from analysis.offload_health import depth_bucket_seconds, failure_ratios, oldest_due_age, retry_totals
from analysis.offload_snapshot import build_snapshot, snapshot_file
from analysis.queue import MIN_RUNS, queue_depth_series
from analysis.rules import load_rules
from db import upstream as up
from queries import offload
from queries import offload_snapshot as snap
from ui import charts, filters, layout, tables, tiles
from ui.data import cached
from ui.labels import note_unknown_labels
from ui.markers import rollout_markers
from ui.safe import plain

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
        tables.show(table, column_config={"attempts_per_event": st.column_config.NumberColumn(format="%.2f")})
        st.caption(offload.webhook_retries.describes)
        note_unknown_labels(table, "status", up.webhook_event.c.status)
        note_unknown_labels(table, "provider", up.webhook_event.c.provider)

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
        tables.show(failure_ratios(runs, by=["function"], min_runs=1),
                    column_config={"failure_ratio": st.column_config.NumberColumn(format="percent")})
with layout.section("Offload monitoring snapshot"):
    SNAPSHOT_KEY = "cw_offload_snapshot_prepared"
    st.subheader("Offload monitoring snapshot")
    latest_t0 = min(f.end, filters.now_minute()) - snap.WINDOW
    left, right = st.columns([2, 3])
    t0 = left.datetime_input("Snapshot T0 (UTC)", latest_t0.replace(tzinfo=None, second=0, microsecond=0), step=60,
                             key="cw_offload_snapshot_t0")
    window = snap.snapshot_window(t0.replace(tzinfo=UTC))
    if right.button("Prepare the snapshot", key="cw_offload_snapshot_prepare", icon=":material/description:"):
        st.session_state[SNAPSHOT_KEY] = window.start
    if st.session_state.get(SNAPSHOT_KEY) == window.start:
        snapshot = build_snapshot(cached(snap.webhook_status_at_instants, window),
                                  cached(snap.function_run_totals, window), instants=snap.instants(window),
                                  rules=load_rules(), workspaces=list(f.workspaces) or None)
        name, content = snapshot_file(snapshot)
        right.download_button(f"Download {name}", content, file_name=name, mime="text/markdown", on_click="ignore",
                              key="cw_offload_snapshot_download", icon=":material/download:")
        if snapshot.breached:
            st.warning("Thresholds breached: " + "; ".join(plain(b) for b in snapshot.breached))
        else:
            st.success("No threshold breached in this snapshot.")
    st.caption("`offload-monitoring-<T0>.md`: WebhookEvent counts by status at T0 and T0+30m with the growth ratio "
               "and the 5-minute depth (monotonic growth for 30 minutes is a breach), and BackgroundFunctionRun "
               "failure_ratio per function over [T0, T0+30m) against 10%; platform-wide and per workspace (the "
               "sidebar's workspaces, or every one with events). Also `canarywatch offload-snapshot --t0 ...`.")
layout.freshness_bar()
