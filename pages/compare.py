"""Pre/post compare (analyst and up): split at an audit event or a chosen time, equal windows each side."""

from __future__ import annotations

import ui.pages_mode  # noqa: F401  first: a deep link on a fresh process runs this file directly

# isort: split
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from auth.roles import ANALYSTS
from queries import events
from queries.canary import CanarySpec
from queries.filters import CHANNELS, FilterError, Window
from ui import canary, canary_view, charts, filters, layout
from ui.data import cached

LENGTHS = {"1 hour": timedelta(hours=1), "6 hours": timedelta(hours=6), "24 hours": timedelta(hours=24),
           "2 days": timedelta(days=2), "4 days": timedelta(days=4), "7 days": timedelta(days=7)}

layout.page_setup("Pre/post compare", "Did the change help or hurt? The same workspace(s) in equal-length windows "
                  "before and after a split, every metric with its interval and test, and the evidence to export.",
                  roles=ANALYSTS)
names = filters.workspace_names()
label = dict(zip(names["workspace"], names["name"], strict=True))
recent = pd.DataFrame()
with layout.section("Rollout events"):
    recent = cached(events.rollout_events, Window.last(timedelta(days=3650), now=filters.now_minute())).tail(200)
mode = st.radio("Split at", ["an audit event", "a chosen time"], horizontal=True, key="cw_compare_mode",
                persist_state="session")
if mode == "an audit event" and not recent.empty:
    options = list(range(len(recent)))[::-1]
    pick = st.selectbox("Rollout event (newest first)", options, key="cw_compare_event", format_func=lambda i: (
        f"{recent.iloc[i]['changed_at']:%Y-%m-%d %H:%M} UTC · {label.get(recent.iloc[i]['workspace'])} · "
        f"{recent.iloc[i]['field']} {recent.iloc[i]['old_value']} → {recent.iloc[i]['new_value']}"))
    workspaces = [recent.iloc[pick]["workspace"]]
    split = recent.iloc[pick]["changed_at"].to_pydatetime()
else:
    if mode == "an audit event":
        st.info("No rollout events recorded yet: choose a time instead.")
    left, right = st.columns(2)
    workspaces = left.multiselect("Workspace(s)", list(label), format_func=lambda w: label.get(w, w),
                                  key="cw_compare_workspaces", persist_state="session")
    split = right.datetime_input("Split (UTC)", (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None,
                                                                                              microsecond=0),
                                 step=60, key="cw_compare_split", persist_state="session").replace(tzinfo=UTC)
left, right = st.columns(2)
length = left.selectbox("Window on each side", list(LENGTHS), index=2, key="cw_compare_length",
                        persist_state="session")
channel = right.selectbox("Channel", ["All channels", *CHANNELS], key="cw_compare_channel", persist_state="session")
if not workspaces:
    st.info("Choose the workspace(s) to compare.")
    st.stop()
end = min(split + LENGTHS[length], filters.now_minute())
try:
    spec = CanarySpec(tuple(workspaces), split, end, None if channel == "All channels" else channel)
except FilterError as exc:
    st.error(f"{exc}.")
    st.stop()
st.caption(f"Before [{spec.before.start:%Y-%m-%d %H:%M}, {spec.split:%Y-%m-%d %H:%M}) UTC · after "
           f"[{spec.split:%Y-%m-%d %H:%M}, {spec.end:%Y-%m-%d %H:%M}) UTC"
           + (" (cut at now)" if end < split + LENGTHS[length] else ""))
with layout.section("Comparison"):
    inputs, evaluation, packet = canary.evaluate(spec)
    canary_view.overall(evaluation, None)
    hist = canary_view.histograms(inputs.frames)
    if hist.empty:
        layout.empty_state("scored drafts")
    else:
        left, right = st.columns(2)
        charts.show(charts.ecdf(hist, x="lower", count="drafts", group="side",
                                title="Auto-send confidence: ECDF before vs after"), hist, key="compare-ecdf",
                    where=left)
        charts.show(charts.histogram(hist, x="lower", y="drafts", width=0.01, color="side",
                                     title="Auto-send confidence: drafts per 0.01 bucket"), hist,
                    key="compare-histogram", where=right)
        st.caption("AIDraft.autoSendConfidence of evaluated drafts (autoSendEvaluatedAt in each window), "
                   "0.01 buckets: exact at the stored precision.")
    st.subheader("Delta table")
    canary_view.metrics_table(evaluation)
    canary_view.control(inputs, label)
    st.subheader("Rollback rules")  # the rules the verdict line names, in the same units as the packet
    canary_view.rules_table(evaluation)
    canary_view.platform_health(evaluation)
    canary_view.download(packet, key="cw_compare_download")
