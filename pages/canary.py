"""Canary window (operator, super_admin): the canary's signals against their thresholds, live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from analysis.logsignals import LogMapping, evaluate_log_rules, guess_mapping, header_keys, parse_log_export
from auth.roles import OPERATORS
from queries import events
from queries.canary import CanarySpec
from queries.filters import FilterError, Window
from ui import canary, canary_view, filters, layout
from ui.data import cached

REFRESH_SECONDS = 45

layout.page_setup("Canary window", "The canary workspace since its rollout, against the rollback thresholds: "
                  "overall verdict first, then each metric and rule, and the rollback levers when one trips.",
                  roles=OPERATORS)
latest = pd.DataFrame(columns=["workspace", "changed_at", "field"])
with layout.section("Latest rollout"):
    latest = cached(events.latest_enabling_change, Window.last(timedelta(days=3650), now=filters.now_minute()))
names = filters.workspace_names()
label = dict(zip(names["workspace"], names["name"], strict=True))
default_ws = [latest.iloc[0]["workspace"]] if not latest.empty else []
default_split = (latest.iloc[0]["changed_at"].to_pydatetime() if not latest.empty
                 else datetime.now(UTC) - timedelta(hours=1))
if not latest.empty:
    row = latest.iloc[0]
    st.caption(f"Default: the most recent enabling change in the audit log — {row['field']} switched on for "
               f"{label.get(row['workspace'], row['workspace'])} at {row['changed_at']:%Y-%m-%d %H:%M:%S} UTC.")
left, middle, right = st.columns([2, 2, 1])
chosen = left.multiselect("Canary workspace(s)", list(label), default=[w for w in default_ws if w in label],
                          format_func=lambda w: label.get(w, w), key="cw_canary_workspaces", persist_state="session")
split = middle.datetime_input("Split: rollout time (UTC)", default_split.replace(tzinfo=None, microsecond=0),
                              step=60, key="cw_canary_split", persist_state="session")
live = right.toggle("Window ends now", True, key="cw_canary_live", persist_state="session",
                    help=f"Re-evaluated every {REFRESH_SECONDS} s")
fixed_end = None if live else right.datetime_input("End (UTC)", datetime.now(UTC).replace(tzinfo=None, microsecond=0),
                                                   step=60, key="cw_canary_end", persist_state="session")
upload = st.file_uploader("Runtime log export (optional: JSON lines or CSV)",
                          type=["jsonl", "json", "csv", "log", "txt"], key="cw_canary_logs")
if not chosen:
    st.info("Choose the canary workspace(s) to evaluate.")
    st.stop()


def log_results(spec: CanarySpec):
    if upload is None:
        return (), None
    data = upload.getvalue()
    try:
        mapping = guess_mapping(header_keys(data))
    except ValueError as exc:
        st.warning(f"Log export not used: {exc}.")
        return (), None
    parse = parse_log_export(data, LogMapping(**mapping.__dict__))
    return tuple(evaluate_log_rules(parse, canary.rules().for_source("logs"), start=spec.split, end=spec.end)), parse


@st.fragment(run_every=REFRESH_SECONDS if live else None)
def results() -> None:
    end = filters.now_minute() if live else fixed_end.replace(tzinfo=UTC)
    try:
        spec = CanarySpec(tuple(chosen), split.replace(tzinfo=UTC), end)
    except FilterError as exc:
        st.error(f"{exc}.")
        return
    with layout.section("Canary evaluation"):
        logs, parse = log_results(spec)
        _, evaluation, packet = canary.evaluate(spec, logs)
        canary_view.overall(evaluation, canary.count_view(spec))
        st.caption(f"Canary window [{spec.split:%Y-%m-%d %H:%M}, {spec.end:%Y-%m-%d %H:%M}) UTC against "
                   f"[{spec.before.start:%Y-%m-%d %H:%M}, {spec.split:%Y-%m-%d %H:%M}) UTC. "
                   + canary.log_summary(parse))
        st.subheader("When a rule trips: rollback")
        canary_view.rollback(evaluation, spec)
        st.subheader("Metrics")
        canary_view.metrics_table(evaluation)
        st.subheader("Rollback rules")
        canary_view.rules_table(evaluation)
        canary_view.download(packet, key="cw_canary_download")
        again = f", again every {REFRESH_SECONDS} s." if live else "."
        st.caption(f"Evaluated at {datetime.now(UTC):%H:%M:%S} UTC{again}")


results()
