"""Overview: status at a glance. The active canaries first, then fleet health cards for the chosen window
against the previous equal window (coloured only for a significant move in the bad direction, and never
green while a chosen workspace is red), the kill switches and every workspace's rollout state."""

from __future__ import annotations

import ui.pages_mode  # noqa: F401  first: a deep link on a fresh process runs this file directly

# isort: split
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from analysis.derive import count_where, sums_by, total, total_rate, wait_minutes
from analysis.effective import toggle_table
from analysis.health import RULES, Hint, judge_bookings, judge_failure_ratio, judge_queue
from analysis.queue import worst_failure_ratios
from analysis.significance import SEVERITY, judge_by_workspace, judge_window_change
from analysis.significance import worst as worst_hint
from auth.roles import Role
from auth.throttle import is_per_process
from queries import booking, bundle, drafts, offload, overseer, revision, settings
from rollout.killswitch import EnvFileError, read_kill_switches
from ui import filters, layout, tables
from ui.canary_status import active_canaries_section
from ui.context import app_context
from ui.data import cached
from ui.doctor_view import doctor_section
from ui.navigation import may_open
from ui.safe import plain
from ui.watch_status import watch_status_section

user = layout.page_setup("Overview", "Status at a glance: the active canaries, each area's health in the chosen "
                         "window against the window before, the kill switches and every workspace's rollout state.")
f = filters.sidebar(channel=False)
day = f  # the chosen window (the Window and Workspaces filters both apply here)
before = day.previous()

with layout.section("Active canaries"):
    active_canaries_section(user.roles)
    if is_per_process():
        st.warning("Sign-in throttling and session revocation are kept in this dashboard process only: the "
                   "database refuses canarywatch's state writes (a read-only deployment). Behind a load balancer "
                   "each replica counts failed sign-ins and logouts on its own; set CANARYWATCH_WRITE_URL to a "
                   "role that may write the canarywatch schema.", icon=":material/warning:")


@dataclass(frozen=True)
class Area:
    title: str
    page: str
    value: str
    hint: Hint


def pct(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1%}"


def num(value: float | None) -> str:
    return "no data" if value is None else f"{value:.3f}"


def card(area: Area) -> None:
    with st.container(border=True):
        st.markdown(f":{area.hint.colour}[:material/circle: {area.hint.word}] · **{area.title}**")
        st.markdown(f"### {area.value}")
        st.caption(area.hint.reason)
        # the detail page opens on the same window and workspaces
        st.page_link(area.page, label="Details", icon=":material/arrow_forward:", query_params=filters.current_params())


def workspace_name(workspace: str) -> str:
    return str(filters.workspace_label(pd.DataFrame({"workspace": [workspace]}))["workspace_name"].iloc[0])


def window_words(hint: Hint) -> Hint:
    """analysis.health speaks of "the 24 h before"; here the window is the chosen one."""
    return Hint(hint.colour, hint.reason.replace("the 24 h before", "the window before").replace(
        "either day", "in either window"))


def summed(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].sum()) if not frame.empty else 0.0


def rate_area(title: str, page: str, now: pd.DataFrame, prev: pd.DataFrame, numerator: str, denominator: str,
              rule: str, fmt=pct, proportion: bool = True) -> Area:
    """The fleet's value; the hint is the worse of the fleet's and the worst workspace's (a failing
    workspace is never hidden behind a green fleet average)."""
    fleet = judge_window_change(summed(now, numerator), summed(now, denominator), summed(prev, numerator),
                                summed(prev, denominator), RULES[rule], proportion=proportion)
    hints = [fleet]
    judged = judge_by_workspace(now, prev, numerator, denominator, RULES[rule], proportion=proportion)
    if len(judged) > 1:
        row = max(judged.itertuples(), key=lambda r: SEVERITY[r.colour])
        if SEVERITY[row.colour] > SEVERITY[fleet.colour]:
            hints.append(Hint(row.colour, f"worst workspace {plain(workspace_name(row.workspace))} at "
                                          f"{fmt(row.value)}: {row.reason} (fleet: {fleet.reason})"))
    return Area(title, page, fmt(total_rate(now, numerator, denominator)), worst_hint(hints))


def read_areas() -> tuple[pd.DataFrame, ...]:
    """The last 24 h and the 24 h before of every area (cached: the second section reads the same)."""
    def both(query) -> tuple[pd.DataFrame, pd.DataFrame]:
        return cached(query, day), cached(query, before)

    def revise(frame: pd.DataFrame) -> pd.DataFrame:
        return count_where(frame, "decisions", "decision", ["revise"])

    gate, gate_prev = both(overseer.gate_decision_series)
    return (*both(drafts.channel_summary), revise(gate), revise(gate_prev), *both(revision.revision_series),
            *both(bundle.bundle_series), *both(booking.auto_book_series), cached(offload.webhook_oldest_due, day))


now = datetime.now(UTC)
engaged: dict[str, bool] = {}
frame = pd.DataFrame(columns=["workspace", "name"])

with layout.section("Health"):
    st.subheader("Health in this window, all chosen workspaces")
    st.caption(f"{day.label()} against the window before it ({before.label()}).")
    nr, nr_prev, gate, gate_prev, rev, rev_prev, bun, bun_prev, books, books_prev, due = read_areas()
    runs = cached(offload.function_run_series, day, bucket_seconds=3600)
    oldest = wait_minutes(due["oldest_due_run_at"].min() if not due.empty else None, now)
    worst = max([r for r in worst_failure_ratios(runs) if r is not None], default=None)
    areas = [
        rate_area("needs_review rate", "pages/confidence.py", nr, nr_prev, "needs_review", "evaluated",
                  "needs_review"),
        rate_area("Mean auto-send confidence", "pages/confidence.py", nr, nr_prev, "confidence_sum", "scored",
                  "mean_confidence", fmt=num, proportion=False),
        rate_area("Gate revise rate", "pages/overseer.py", gate, gate_prev, "matching", "decisions", "gate_revise"),
        rate_area("Revision applied rate", "pages/revision.py", rev, rev_prev, "applied", "attempted",
                  "revision_applied"),
        rate_area("Bundle truncation rate", "pages/bundle.py", bun, bun_prev, "truncated", "calls",
                  "bundle_truncation"),
        Area("Auto-book bookings", "pages/booking.py", f"{total(books, 'bookings'):,}",
             window_words(judge_bookings(total(books, "bookings"), total(books_prev, "bookings")))),
        Area("Webhook queue: due now", "pages/offload.py",
             f"{total(due, 'due'):,}" + (f" · oldest {oldest:.0f} min" if oldest is not None else ""),
             judge_queue(total(due, "due"), oldest)),
        Area("Function failure ratio (worst hour)", "pages/offload.py", pct(worst), judge_failure_ratio(worst)),
    ]
    for row in (areas[:4], areas[4:]):
        for column, area in zip(st.columns(4), row, strict=True):
            with column:
                card(area)
    st.caption("Green: fine · orange: look · red: act · grey: too little data to judge. Rates: 5 / 10 points "
               "worse than the window before and significant (two-proportion test, p < 0.05); mean confidence: "
               "0.02 / 0.05 lower; at least 20 observations (10 revisions) in each window. A workspace is also "
               "judged against the other chosen workspaces in the same window (a canary failing since days "
               "looks like its own day before), and a card takes the colour of its worst workspace. Queue: "
               "oldest due event 5 / 30 min. Functions: 5% / 10% failed in a function-hour with at least 10 "
               "runs (global: BackgroundFunctionRun has no workspace). Bookings: halved from at least 5.")


#: cell backgrounds of the per-workspace table, by hint colour
BACKGROUND = {"green": "#e3f4e6", "orange": "#ffe8cc", "red": "#fbd5d5", "gray": ""}


def by_workspace(now: pd.DataFrame, prev: pd.DataFrame, numerator: str, denominator: str, rule: str,
                 fmt=pct, proportion: bool = True) -> tuple[dict[str, str], dict[str, str]]:
    """Per workspace: the value as text and its hint colour."""
    judged = judge_by_workspace(now, prev, numerator, denominator, RULES[rule], proportion=proportion)
    return ({r.workspace: fmt(r.value) for r in judged.itertuples()},
            {r.workspace: r.colour for r in judged.itertuples()})


def workspace_table(columns: dict[str, tuple[dict[str, str], dict[str, str]]]):
    """The per-workspace table, each cell coloured by its hint (a pandas Styler)."""
    values = pd.DataFrame({label: pd.Series(v, dtype=object) for label, (v, _) in columns.items()})
    colours = pd.DataFrame({label: pd.Series(c, dtype=object) for label, (_, c) in columns.items()})
    if values.empty:
        return None
    names = filters.workspace_label(pd.DataFrame({"workspace": values.index}))["workspace_name"].tolist()
    order = sorted(range(len(names)), key=lambda i: names[i])
    values = values.fillna("–").iloc[order]
    colours = colours.reindex(index=values.index, columns=values.columns)
    values.index = [names[i] for i in order]
    colours.index = values.index
    values.index.name = "workspace"
    css = colours.map(lambda c: f"background-color: {BACKGROUND[c]}" if isinstance(c, str) and BACKGROUND[c] else "")
    return values.style.apply(lambda _: css, axis=None)


with layout.section("Per workspace"):
    st.subheader("Health per workspace")
    nr, nr_prev, gate, gate_prev, rev, rev_prev, bun, bun_prev, books, books_prev, due = read_areas()
    columns = {
        "needs_review rate": by_workspace(nr, nr_prev, "needs_review", "evaluated", "needs_review"),
        "mean confidence": by_workspace(nr, nr_prev, "confidence_sum", "scored", "mean_confidence", fmt=num,
                                        proportion=False),
        "gate revise rate": by_workspace(gate, gate_prev, "matching", "decisions", "gate_revise"),
        "revision applied rate": by_workspace(rev, rev_prev, "applied", "attempted", "revision_applied"),
        "bundle truncation rate": by_workspace(bun, bun_prev, "truncated", "calls", "bundle_truncation"),
    }
    booked = sums_by(books, ["workspace"], ["bookings"]).set_index("workspace")["bookings"]
    booked_prev = sums_by(books_prev, ["workspace"], ["bookings"]).set_index("workspace")["bookings"]
    columns["auto-book bookings"] = (
        {w: f"{int(n)}" for w, n in booked.items()},
        {w: judge_bookings(int(n), int(booked_prev.get(w, 0))).colour for w, n in booked.items()})
    queue = due.dropna(subset=["workspace"]).groupby("workspace").agg(
        due=("due", "sum"), oldest=("oldest_due_run_at", "min"))
    columns["webhook events due"] = (
        {w: f"{int(r.due)}" for w, r in queue.iterrows()},
        {w: judge_queue(int(r.due), wait_minutes(r.oldest, now)).colour for w, r in queue.iterrows()})
    styled = workspace_table(columns)
    if styled is None:
        layout.empty_state("activity")
    else:
        st.dataframe(styled, width="stretch")
        st.caption("Same rules as above, per workspace; an uncoloured cell had too little data to judge, '–' "
                   "nothing of that kind in this window. Webhook events whose workspaceId maps to no workspace "
                   "count above but have no row here.")

with layout.section("Kill switches"):
    st.subheader("Kill switches")
    try:
        switches = read_kill_switches()
    except EnvFileError as exc:
        st.error(f"{exc}. Every toggle is shown as stored; whether a kill switch overrides it is unknown.")
        switches = {}
    engaged = {name: s.engaged for name, s in switches.items()}
    if switches:
        tables.show(pd.DataFrame([{"switch": s.name, "value": s.raw if s.raw is not None else "unset",
                                   "engaged": "yes" if s.engaged else "no"} for s in switches.values()]))
        sources = sorted({s.source for s in switches.values()})
        st.caption(f"Read from {', '.join(sources)}. These are upstream's env vars: a value read here is what "
                   "this dashboard sees, which may differ from the upstream deployment's.")

with layout.section("Rollout state per workspace"):
    st.subheader("Rollout state per workspace")
    frame = cached(settings.workspace_settings, day)
    if frame.empty:
        layout.empty_state("workspaces")
    else:
        table = pd.DataFrame(toggle_table(frame.to_dict("records"), engaged))
        tables.show(table, column_config=tables.toggle_columns())
        st.caption("Each toggle as stored and whether it is in effect (toggle AND NOT kill switch; the booking "
                   "gate also needs the bundle in effect and autoBookMeetings). "
                   + settings.workspace_settings.describes)

with layout.section("Open a workspace"):
    st.subheader("Open the details of one workspace")
    ids = list(frame["workspace"])
    names = dict(zip(frame["workspace"], frame["name"], strict=True))
    if ids:
        chosen = st.selectbox("Workspace", ids, format_func=lambda w: names.get(w, w), key="cw_overview_focus")
        targets = {"Canary": "pages/canary.py", "Confidence": "pages/confidence.py", "Overseer": "pages/overseer.py",
                   "Revision": "pages/revision.py", "Bundle": "pages/bundle.py", "Booking": "pages/booking.py",
                   "Offload": "pages/offload.py"}
        targets = {label: target for label, target in targets.items() if may_open(target, user.roles)}
        for column, (label, target) in zip(st.columns(len(targets)), targets.items(), strict=True):
            if target == "pages/canary.py":
                column.page_link(target, label=label, icon=":material/emergency:", query_params={"ws": chosen})
            elif column.button(label, key=f"cw_overview_open_{label}", icon=":material/arrow_forward:",
                               on_click=lambda w=chosen: st.session_state.update({filters.KEY_WORKSPACES: [w]})):
                st.switch_page(target, query_params={**filters.current_params(), "ws": chosen})
        st.caption("Opens the detail page with the Workspaces filter set to this workspace only (the canary view "
                   "on this workspace, since its latest rollout change).")
if may_open("pages/canary.py", user.roles):
    with layout.section("Canary notifications"):
        watch_status_section()
if Role.SUPER_ADMIN in user.roles:
    with layout.section("Database and deployment checks"):
        ctx = app_context()
        doctor_section(ctx.read, ctx.write)
layout.freshness_bar()
