"""Follow-up auto-book traces (DATA_CONTRACT.md section 8): what the database does record of it.

The auto-book result itself (failure reason, route, clarification text) is never stored. What is:
AUTO_BOOK appointments (which a later webhook or reconcile can relabel, so they may undercount),
booking-gate and proposed-time-parse model calls (AIInteraction), and FollowUpTask rows of the
timing path, recognised by `campaignName`. Appointment and FollowUpTask reach the workspace through
`Lead.clientId`. Every query is windowed on the table's `createdAt`; none of these tables has a
channel column, so the channel filter does not apply.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import ColumnElement, Connection, case, func, select

from db import upstream as up
from queries.dialect import json_has, json_is_true, json_number, json_text, time_bucket
from queries.filters import Window, default_bucket_seconds
from queries.frame import query, read_frame
from queries.summary_spec import COUNT, SERIES, TEXT, TIME, TOTAL, Summary

ai = up.ai_interaction
meta = ai.c["metadata"]
appt = up.appointment
task = up.follow_up_task
lead = up.lead

GATE_DECISIONS = ("approve", "needs_clarification", "deny")

#: trace family -> lower-cased campaignName prefixes (section 8); checked in this order.
TASK_PREFIXES: dict[str, tuple[str, ...]] = {
    "scheduled_followup": ("scheduled follow-up (",),
    "timing_clarification": ("follow-up timing clarification (",),
    "future_window_deferral": ("follow-up future-window deferral notice (",),
    "future_window_recontact": ("follow-up future-window recontact (",),
}
#: trace families whose campaignName is the code itself
TASK_CODES = ("call_requested", "lead_scheduler_link", "phone_enrichment")


def _sum(expr: ColumnElement) -> ColumnElement:
    return func.coalesce(func.sum(expr), 0)


@query("AUTO_BOOK appointments (Appointment.source) per status and time bucket of Appointment.createdAt "
       "in the window; a later webhook or reconcile relabels the source, so this may undercount.",
       summary=Summary(
           {"bucket": TIME, "workspace": TEXT, "status": TEXT, "bookings": COUNT},
           appt.c.createdAt, variants=SERIES, ignores_channel=True))
def auto_book_series(conn: Connection, f: Window, *, bucket_seconds: int | None = None) -> pd.DataFrame:
    seconds = bucket_seconds or default_bucket_seconds(f)
    stmt = (
        select(
            time_bucket(appt.c.createdAt, seconds).label("bucket"),
            lead.c.clientId.label("workspace"),
            appt.c.status.label("status"),
            func.count().label("bookings"),
        )
        .select_from(appt.join(lead, lead.c.id == appt.c.leadId))
        .where(*f.clauses(time=appt.c.createdAt, workspace=lead.c.clientId), appt.c.source == "AUTO_BOOK")
        .group_by("bucket", lead.c.clientId, appt.c.status)
        .order_by("bucket", lead.c.clientId, appt.c.status)
    )
    return read_frame(conn, stmt)


@query("Appointments per source (Appointment.source: AUTO_BOOK, WEBHOOK, RECONCILE_CRON, ...) created in "
       "the window; shows how many bookings other paths may have relabelled.",
       summary=Summary(
           {"workspace": TEXT, "source": TEXT, "appointments": COUNT},
           appt.c.createdAt, ignores_channel=True))
def appointment_sources(conn: Connection, f: Window) -> pd.DataFrame:
    stmt = (
        select(lead.c.clientId.label("workspace"), appt.c.source.label("source"),
               func.count().label("appointments"))
        .select_from(appt.join(lead, lead.c.id == appt.c.leadId))
        .where(*f.clauses(time=appt.c.createdAt, workspace=lead.c.clientId))
        .group_by(lead.c.clientId, appt.c.source)
        .order_by(lead.c.clientId, appt.c.source)
    )
    return read_frame(conn, stmt)


def _gate_decision() -> ColumnElement[str]:
    """metadata.bookingGate.decision as a code: a known decision, 'none' when absent, else 'other'."""
    raw = func.lower(json_text(meta, "bookingGate", "decision"))
    return case((raw.is_(None), "none"), *((raw == code, code) for code in GATE_DECISIONS), else_="other")


@query("Booking-gate model calls (AIInteraction featureId 'followup.booking.gate') per metadata.bookingGate "
       "decision and status: calls, .retryN calls, gate confidence sum, created in the window.",
       summary=Summary(
           {"workspace": TEXT, "decision": TEXT, "status": TEXT, "calls": COUNT, "retries": COUNT,
            "confidence_sum": TOTAL, "scored": COUNT},
           ai.c.createdAt, ignores_channel=True))
def booking_gate_calls(conn: Connection, f: Window) -> pd.DataFrame:
    confidence = json_number(meta, "bookingGate", "confidence")
    stmt = (
        select(
            ai.c.clientId.label("workspace"),
            _gate_decision().label("decision"),
            ai.c.status.label("status"),
            func.count().label("calls"),
            _sum(case((ai.c.promptKey.like("%.retry%"), 1), else_=0)).label("retries"),
            func.coalesce(func.sum(confidence), 0.0).label("confidence_sum"),
            func.count(confidence).label("scored"),
        )
        .where(*f.clauses(time=ai.c.createdAt, workspace=ai.c.clientId), ai.c.featureId == "followup.booking.gate")
        .group_by(ai.c.clientId, "decision", ai.c.status)
        .order_by(ai.c.clientId, "decision", ai.c.status)
    )
    return read_frame(conn, stmt)


@query("Proposed-time parse calls (AIInteraction featureId 'followup.parse_proposed_times', "
       "metadata.followupParse): calls, parsed calls, timezone clarifications, proposed times and "
       "confidence sums, created in the window.",
       summary=Summary(
           {"workspace": TEXT, "calls": COUNT, "parsed": COUNT, "needs_timezone_clarification": COUNT,
            "proposed_times_sum": COUNT, "confidence_sum": TOTAL, "scored": COUNT},
           ai.c.createdAt, ignores_channel=True))
def followup_parse_calls(conn: Connection, f: Window) -> pd.DataFrame:
    """`calls` counts every row (errors and retries too); `parsed` those carrying followupParse."""
    confidence = json_number(meta, "followupParse", "confidence")
    stmt = (
        select(
            ai.c.clientId.label("workspace"),
            func.count().label("calls"),
            _sum(json_has(meta, "followupParse")).label("parsed"),
            _sum(json_is_true(meta, "followupParse", "needsTimezoneClarification")).label(
                "needs_timezone_clarification"),
            _sum(json_number(meta, "followupParse", "proposedTimesCount")).label("proposed_times_sum"),
            func.coalesce(func.sum(confidence), 0.0).label("confidence_sum"),
            func.count(confidence).label("scored"),
        )
        .where(*f.clauses(time=ai.c.createdAt, workspace=ai.c.clientId),
               ai.c.featureId == "followup.parse_proposed_times")
        .group_by("workspace")
        .order_by("workspace")
    )
    frame = read_frame(conn, stmt)
    frame["proposed_times_sum"] = frame["proposed_times_sum"].astype("int64")
    return frame


def task_trace() -> ColumnElement[str]:
    """The section-8 family of a FollowUpTask from its campaignName; the name itself is never returned."""
    name = func.lower(task.c.campaignName)
    whens = [(name.like(f"{prefix}%"), family) for family, prefixes in TASK_PREFIXES.items() for prefix in prefixes]
    whens += [(name == code, code) for code in TASK_CODES]
    return case(*whens, else_="other")


@query("Follow-up tasks of the timing path (FollowUpTask, family from campaignName) per status, created "
       "in the window.",
       summary=Summary(
           {"workspace": TEXT, "trace": TEXT, "status": TEXT, "tasks": COUNT},
           task.c.createdAt, ignores_channel=True))
def followup_task_traces(conn: Connection, f: Window) -> pd.DataFrame:
    stmt = (
        select(
            lead.c.clientId.label("workspace"),
            task_trace().label("trace"),
            task.c.status.label("status"),
            func.count().label("tasks"),
        )
        .select_from(task.join(lead, lead.c.id == task.c.leadId))
        .where(*f.clauses(time=task.c.createdAt, workspace=lead.c.clientId))
        .group_by(lead.c.clientId, "trace", task.c.status)
        .order_by(lead.c.clientId, "trace", task.c.status)
    )
    return read_frame(conn, stmt)
