"""Canary window (operator, super_admin): the canary's signals against their thresholds, live.

Opens on the active canaries (a rollout field on against the fleet majority); choosing one sets the
workspace, its own split (the audited enabling change) and the field. URL state: `ws`, `split`, `field`.
"""

from __future__ import annotations

import ui.pages_mode  # noqa: F401  first: a deep link on a fresh process runs this file directly

# isort: split
from datetime import UTC, datetime, timedelta

import streamlit as st

from analysis.canary.active import ActiveCanary
from auth.roles import OPERATORS
from queries.canary import CanarySpec
from queries.filters import FilterError
from ui import canary, canary_view, filters, layout, rollback_view, tables
from ui.canary_status import split_param
from ui.safe import plain
from ui.watch_status import arming_control, verdict_history_section

REFRESH_SECONDS = 45
WS_KEY, SPLIT_KEY, FIELD_KEY, PICK_KEY = "cw_canary_workspaces", "cw_canary_split", "cw_canary_field", "cw_canary_pick"

user = layout.page_setup("Canary window", "The canary workspace since its rollout, against the rollback thresholds: "
                         "overall verdict first, then each metric and rule, and the rollback levers when one trips.",
                         roles=OPERATORS)
names = filters.workspace_names()
label = dict(zip(names["workspace"], names["name"], strict=True))
now = filters.now_minute()


def _url_split() -> datetime | None:
    text = st.query_params.get("split")
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        st.warning(f"The split in the address ({plain(text, limit=40)}) is not an ISO UTC time: ignored.")
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


URL_KEY = "cw_canary_url_written"


def _url_state() -> tuple[str, str, str]:
    return (st.query_params.get("ws") or "", st.query_params.get("split") or "", st.query_params.get("field") or "")


def _from_url() -> None:
    """The URL's ws / split / field become the widgets' values on a session's first run and whenever
    the address differs from what this page last wrote there (a link from the Overview, a pasted URL)."""
    if WS_KEY in st.session_state and st.session_state.get(URL_KEY) == _url_state():
        return
    if not any(_url_state()) and WS_KEY in st.session_state:
        return
    wanted = [w for w in (st.query_params.get("ws") or "").split(",") if w in label]
    st.session_state[WS_KEY] = wanted
    split = _url_split()
    if split is not None:
        st.session_state[SPLIT_KEY] = split.replace(tzinfo=None, microsecond=0)
    st.session_state[FIELD_KEY] = st.query_params.get("field") or None


def _choose(canaries: list[ActiveCanary]) -> None:
    """on_change of the active-canary picker: set the workspace AND its own split and field."""
    pick = st.session_state.get(PICK_KEY)
    if pick is None:
        return
    chosen = canaries[pick]
    st.session_state[WS_KEY] = [chosen.workspace]
    if chosen.since is not None:
        st.session_state[SPLIT_KEY] = chosen.since.replace(tzinfo=None, microsecond=0)
    st.session_state[FIELD_KEY] = chosen.field


_from_url()
canaries: list[ActiveCanary] = []
with layout.section("Active canaries"):
    canaries = canary.active(now)
    st.subheader("Active canaries")
    if canaries:
        tables.show(canary.active_table(canaries, now, label))
        current = next((i for i, c in enumerate(canaries) if [c.workspace] == st.session_state.get(WS_KEY)
                        and c.field == st.session_state.get(FIELD_KEY)), None)
        st.selectbox("Active canary", range(len(canaries)), index=current, key=PICK_KEY,
                     placeholder="Choose an active canary", on_change=_choose, args=(canaries,),
                     format_func=lambda i: (f"{label.get(canaries[i].workspace, canaries[i].workspace)} · "
                                            f"{canaries[i].field} since "
                                            + (f"{canaries[i].since:%Y-%m-%d %H:%M} UTC" if canaries[i].since
                                               else "an unrecorded time")))
    else:
        st.info("No active canary: every rollout field matches the fleet majority. Choose a workspace below.")
left, middle, right = st.columns([2, 2, 1])
chosen = left.multiselect("Canary workspace(s)", list(label), format_func=lambda w: label.get(w, w), key=WS_KEY,
                          on_change=lambda: st.session_state.update({FIELD_KEY: None}))  # a manual choice
if SPLIT_KEY not in st.session_state:
    st.session_state[SPLIT_KEY] = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None, microsecond=0)
split = middle.datetime_input("Split: rollout time (UTC)", step=60, key=SPLIT_KEY)
live = right.toggle("Window ends now", True, key="cw_canary_live", persist_state="session",
                    help=f"Re-evaluated every {REFRESH_SECONDS} s")
fixed_end = None if live else right.datetime_input("End (UTC)", datetime.now(UTC).replace(tzinfo=None, microsecond=0),
                                                   step=60, key="cw_canary_end", persist_state="session")
exclude = st.multiselect("Keep out of the control (besides workspaces with a rollout change in the window)",
                         list(label), format_func=lambda w: label.get(w, w),
                         key="cw_canary_exclude")
upload = st.file_uploader(f"Runtime log export (optional: JSON lines or CSV, at most {canary.LOG_LIMIT_MB} MB)",
                          type=["jsonl", "json", "csv", "log", "txt"], key="cw_canary_logs")
if not chosen:
    st.info("Choose an active canary above, or the canary workspace(s) to evaluate.")
    st.stop()
field = st.session_state.get(FIELD_KEY)
st.query_params.update({"ws": ",".join(chosen),
                        "split": split_param(ActiveCanary(chosen[0], "", split.replace(tzinfo=UTC), None))})
if field:
    st.query_params["field"] = field
elif "field" in st.query_params:
    del st.query_params["field"]
st.session_state[URL_KEY] = _url_state()


@st.fragment(run_every=REFRESH_SECONDS if live else None)
def results() -> None:
    end = filters.now_minute() if live else fixed_end.replace(tzinfo=UTC)
    try:
        spec = CanarySpec(tuple(chosen), split.replace(tzinfo=UTC), end, exclude=tuple(exclude))
    except FilterError as exc:
        st.error(f"{exc}.")
        return
    with layout.section("Canary evaluation"):
        parse = canary.log_parse(upload)
        inputs, evaluation, packet = canary.evaluate(spec, parse, field=field, sequential=True)
        watched, confounded = canary.watched_field(inputs, field)
        canary_view.overall(evaluation, canary.count_view(spec))
        if confounded:
            st.warning(f"Confounded: {plain(' and '.join((watched, *confounded)))} changed together in this window; "
                       "the verdict cannot tell which change caused what.")
        st.caption(f"Rollout field: {plain(watched or 'not recorded')}. Canary window [{spec.split:%Y-%m-%d %H:%M}, "
                   f"{spec.end:%Y-%m-%d %H:%M}) UTC against [{spec.before.start:%Y-%m-%d %H:%M}, "
                   f"{spec.split:%Y-%m-%d %H:%M}) UTC. " + canary.log_summary(parse))
        canary_view.control(inputs, label)
        st.subheader("When a rule trips: rollback")
        canary_view.rollback(evaluation, spec, watched, user.roles, confounded)
        canary_view.trajectories(evaluation, inputs)
        st.subheader("Metrics")
        canary_view.metrics_table(evaluation)
        st.subheader("Rollback rules (the canary workspace)")
        canary_view.rules_table(evaluation)
        st.subheader("Platform health")
        canary_view.platform_health(evaluation)
        recovery = rollback_view.canary_section(spec, watched)  # a rolled-back canary: did the rollback work?
        canary_view.download(rollback_view.full_packet(spec, packet, recovery), key="cw_canary_download")
        again = f", again every {REFRESH_SECONDS} s." if live else "."
        st.caption(f"Evaluated at {datetime.now(UTC):%H:%M:%S} UTC{again}")


results()
watched_canary = next((c for c in canaries if len(chosen) == 1 and c.workspace == chosen[0] and c.field == field), None)
if watched_canary is not None:
    with layout.section("Verdict history"):
        verdict_history_section(watched_canary)
    with layout.section("Automatic rollback"):
        arming_control(user, watched_canary)
