"""Follow-up booking: auto-booked meetings, booking-gate decisions, clarification and task traces."""

from __future__ import annotations

import ui.pages_mode  # noqa: F401  first: a deep link on a fresh process runs this file directly

# isort: split
import streamlit as st

from analysis.decisions import share_of
from analysis.derive import total
from db import upstream as up
from queries import booking, overseer
from ui import charts, filters, layout, tiles
from ui.data import cached
from ui.labels import note_unknown_labels
from ui.markers import rollout_markers

layout.page_setup("Follow-up booking", "Auto-booked meetings (Appointment.source AUTO_BOOK), booking-gate decisions "
                  "(MeetingOverseerDecision and the followup.booking.gate model calls), clarification traces and "
                  "follow-up task traces. No channel column: the channel filter does not apply.")
st.warning("**What the database does not record** (DATA_CONTRACT.md section 8): the auto-book result itself is "
           "never stored, so **failure reasons** (no_match, low_confidence, gate_denied, ...) and routes cannot be "
           "shown; a later webhook or reconcile overwrites Appointment.source, so **AUTO_BOOK may undercount**; "
           "the clarification path creates **no FollowUpTask**, so clarifications show only as needs_clarification "
           "gate decisions and timezone-clarification parses.", icon=":material/info:")
f = filters.sidebar(channel=False)
marks = rollout_markers(f)

with layout.section("Headline"):
    booked, booked_prev = cached(booking.auto_book_series, f), cached(booking.auto_book_series, f.previous())
    gate, gate_prev = cached(overseer.booking_gate_series, f), cached(overseer.booking_gate_series, f.previous())
    tasks, tasks_prev = cached(booking.followup_task_traces, f), cached(booking.followup_task_traces, f.previous())
    tiles.headline([
        tiles.Tile("Auto-booked meetings", total(booked, "bookings"), total(booked_prev, "bookings"),
                   help="may undercount: a later webhook or reconcile relabels Appointment.source"),
        tiles.Tile("Booking-gate decisions", total(gate, "decisions"), total(gate_prev, "decisions")),
        tiles.Tile("needs_clarification share", share_of(gate, "needs_clarification"),
                   share_of(gate_prev, "needs_clarification"), kind="rate", higher_is_better=False),
        tiles.Tile("Timing-clarification tasks", total(tasks, "tasks", trace="timing_clarification"),
                   total(tasks_prev, "tasks", trace="timing_clarification")),
    ])

with layout.section("Auto-booked meetings"):
    booked = cached(booking.auto_book_series, f)
    left, right = st.columns(2)
    if booked.empty:
        left.info("No auto-booked meetings in this window.", icon=":material/inbox:")
    else:
        booked_shown = booked.groupby(["bucket", "status"], as_index=False)["bookings"].sum()
        charts.show(charts.stacked_bars(booked_shown, x="bucket", y="bookings", color="status", events=marks,
                                        title="Auto-booked meetings over time"), booked_shown,
                    key="booking-auto-booked", where=left)
        left.caption(booking.auto_book_series.describes)
        with left:
            note_unknown_labels(booked, "status", up.appointment.c.status)
    sources = cached(booking.appointment_sources, f)
    if not sources.empty:
        sources_shown = sources.groupby("source", as_index=False)["appointments"].sum()
        charts.show(charts.bars(sources_shown, x="source", y="appointments", title="All appointments by source"),
                    sources_shown, key="booking-sources", where=right)
        right.caption(booking.appointment_sources.describes)
        with right:
            note_unknown_labels(sources, "source", up.appointment.c.source)

with layout.section("Booking-gate decisions"):
    gate = cached(overseer.booking_gate_series, f)
    if gate.empty:
        layout.empty_state("booking-gate decisions")
    else:
        gate_shown = gate.groupby(["bucket", "decision"], as_index=False)["decisions"].sum()
        charts.show(charts.stacked_bars(gate_shown, x="bucket", y="decisions", color="decision", events=marks,
                                        title="Booking gate over time: approve / needs_clarification / deny"),
                    gate_shown, key="booking-gate")
        st.caption(overseer.booking_gate_series.describes)
    calls = cached(booking.booking_gate_calls, f)
    parse = cached(booking.followup_parse_calls, f)
    left, right = st.columns(2)
    if not calls.empty:
        left.dataframe(calls.groupby(["decision", "status"], as_index=False)[["calls", "retries"]].sum(),
                       hide_index=True, width="stretch")
        left.caption(booking.booking_gate_calls.describes)
    if not parse.empty:
        right.dataframe(parse[["calls", "parsed", "needs_timezone_clarification"]].sum().to_frame("calls").T,
                        hide_index=True, width="stretch")
        right.caption(booking.followup_parse_calls.describes)

with layout.section("Follow-up task traces"):
    traces = cached(booking.followup_task_traces, f)
    if traces.empty:
        layout.empty_state("follow-up tasks")
    else:
        traces_shown = traces.groupby(["trace", "status"], as_index=False)["tasks"].sum()
        charts.show(charts.bars(traces_shown, x="tasks", y="trace", color="status", barmode="stack",
                                title="Follow-up tasks by trace family and status", y_title="trace family"),
                    traces_shown, key="booking-traces")
        st.caption(booking.followup_task_traces.describes + " These come from the timing path, not from auto-book.")
layout.freshness_bar()
