"""Meeting overseer decisions (DATA_CONTRACT.md section 5): gate and booking-gate decision codes.

Only `payload.decision` is read from the payload (it also holds draft text and rationale, which
are personal data); confidence comes from the `confidence` column. One row per message per stage,
re-runs upsert it, so these count decisions as they stand now, windowed on `createdAt`. The table
has no channel column, so the channel filter does not apply.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import ColumnElement, Connection, case, func, select

from db import upstream as up
from queries.dialect import bucket_scale, json_text, time_bucket, value_bucket
from queries.filters import Window, default_bucket_seconds
from queries.frame import query, read_frame
from queries.summary_spec import COUNT, FLOAT, INT, SERIES, TEXT, TIME, TOTAL, Summary

mod = up.meeting_overseer_decision

GATE_DECISIONS = ("approve", "revise")
BOOKING_GATE_DECISIONS = ("approve", "needs_clarification", "deny")


def decision_code(known: tuple[str, ...]) -> ColumnElement[str]:
    """`payload.decision` lower-cased, one of `known`, else 'other' (missing, null or unexpected)."""
    lowered = func.lower(json_text(mod.c.payload, "decision"))
    return case(*((lowered == code, code) for code in known), else_="other")


def _stage_rows(f: Window, stage: str) -> list[ColumnElement[bool]]:
    return [mod.c.stage == stage, *f.clauses(time=mod.c.createdAt, workspace=mod.c.clientId)]


def _decision_series(conn: Connection, f: Window, stage: str, known: tuple[str, ...],
                     bucket_seconds: int | None) -> pd.DataFrame:
    seconds = bucket_seconds or default_bucket_seconds(f)
    stmt = (
        select(
            time_bucket(mod.c.createdAt, seconds).label("bucket"),
            mod.c.clientId.label("workspace"),
            decision_code(known).label("decision"),
            func.count().label("decisions"),
        )
        .where(*_stage_rows(f, stage))
        .group_by("bucket", "workspace", "decision")
        .order_by("bucket", "workspace", "decision")
    )
    return read_frame(conn, stmt)


@query("Gate decisions (MeetingOverseerDecision stage 'gate', payload.decision lower-cased: approve, revise "
       "or other) per time bucket of createdAt in the window.",
       summary=Summary(
           {"bucket": TIME, "workspace": TEXT, "decision": TEXT, "decisions": COUNT},
           mod.c.createdAt, variants=SERIES, ignores_channel=True))
def gate_decision_series(conn: Connection, f: Window, *, bucket_seconds: int | None = None) -> pd.DataFrame:
    return _decision_series(conn, f, "gate", GATE_DECISIONS, bucket_seconds)


def _lower_edge(frame: pd.DataFrame, options) -> pd.Series:
    """A confidence bucket's lower edge from its index (computed, never stored)."""
    return frame["bucket"].astype("float64") / bucket_scale(options["width"])


@query("Gate decisions with a confidence, per decision and confidence bucket (MeetingOverseerDecision "
       "stage 'gate', confidence column), created in the window.",
       summary=Summary(
           {"workspace": TEXT, "decision": TEXT, "bucket": INT, "lower": FLOAT, "decisions": COUNT},
           mod.c.createdAt, ignores_channel=True, derived={"lower": _lower_edge}))
def gate_confidence_histogram(conn: Connection, f: Window, *, width: float = 0.1) -> pd.DataFrame:
    """`bucket` is the integer bucket index, `lower` its lower edge; a confidence of 1.0 has a bucket of its own."""
    scale = bucket_scale(width)
    stmt = (
        select(
            mod.c.clientId.label("workspace"),
            decision_code(GATE_DECISIONS).label("decision"),
            value_bucket(mod.c.confidence, scale).label("bucket"),
            func.count().label("decisions"),
        )
        .where(*_stage_rows(f, "gate"), mod.c.confidence.is_not(None))
        .group_by("workspace", "decision", "bucket")
        .order_by("workspace", "decision", "bucket")
    )
    frame = read_frame(conn, stmt)
    frame.insert(3, "lower", _lower_edge(frame, {"width": width}))
    return frame


@query("Booking-gate decisions (MeetingOverseerDecision stage 'booking_gate', payload.decision: approve, "
       "needs_clarification, deny or other) per time bucket of createdAt in the window.",
       summary=Summary(
           {"bucket": TIME, "workspace": TEXT, "decision": TEXT, "decisions": COUNT},
           mod.c.createdAt, variants=SERIES, ignores_channel=True))
def booking_gate_series(conn: Connection, f: Window, *, bucket_seconds: int | None = None) -> pd.DataFrame:
    return _decision_series(conn, f, "booking_gate", BOOKING_GATE_DECISIONS, bucket_seconds)


@query("Overseer decisions per stage (extract, gate, booking_gate): rows, rows with a confidence and the "
       "sum of confidence, created in the window.",
       summary=Summary(
           {"workspace": TEXT, "stage": TEXT, "decisions": COUNT, "scored": COUNT, "confidence_sum": TOTAL},
           mod.c.createdAt, ignores_channel=True))
def stage_volume(conn: Connection, f: Window) -> pd.DataFrame:
    stmt = (
        select(
            mod.c.clientId.label("workspace"),
            mod.c.stage.label("stage"),
            func.count().label("decisions"),
            func.count(mod.c.confidence).label("scored"),
            func.coalesce(func.sum(mod.c.confidence), 0.0).label("confidence_sum"),
        )
        .where(*f.clauses(time=mod.c.createdAt, workspace=mod.c.clientId))
        .group_by(mod.c.clientId, mod.c.stage)
        .order_by(mod.c.clientId, mod.c.stage)
    )
    return read_frame(conn, stmt)
