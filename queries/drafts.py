"""Auto-send decisions recorded on AIDraft (DATA_CONTRACT.md section 4).

AIDraft has no clientId: the workspace is `Lead.clientId` through `AIDraft.leadId`. Every query here
is windowed on `autoSendEvaluatedAt` (indexed; there is no createdAt index) and counts only evaluated
drafts (`autoSendAction` NOT NULL). Every numeric column is an additive count or sum, so frames for
adjacent windows can be summed; rates and means are derived in analysis/.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Float, Select, Text, case, cast, func, literal_column, or_, select

from db import upstream as up
from queries.dialect import bucket_scale, time_bucket, value_bucket
from queries.filters import Window, default_bucket_seconds
from queries.frame import query, read_frame
from queries.summary_spec import COUNT, FLOAT, INT, SERIES, TEXT, TIME, TOTAL, Summary

D = up.ai_draft
WORKSPACE = up.lead.c.clientId.label("workspace")
SEND_ACTIONS = ("send_immediate", "send_delayed")

#: autoSendReason codes (contract section 4). Anything else is evaluator free text and reads as 'other'.
REASON_CODES = (
    "missing_draft_content",
    "external_scheduler_link_manual_only",
    "call_requested_phone_on_file",
    "call_requested_phone_missing",
    "call_requested_sentiment",
    "post_ai_invariant_failed",
    "outside_schedule",
    "delayed_send_not_scheduled",
    "scheduled_send_not_scheduled",
    "immediate_send_validation_failed",
)


def count_if(cond: ColumnElement[bool]) -> ColumnElement[int]:
    """COUNT of the rows where `cond` holds (an integer on both backends, never NULL)."""
    return func.count(case((cond, literal_column("1"))))


def sum0(expr: ColumnElement) -> ColumnElement[float]:
    """SUM that reads 0.0 rather than NULL when every value in the group is NULL (keeps it additive)."""
    return func.coalesce(func.sum(expr), 0.0, type_=Float)


def drafts_from() -> object:
    """AIDraft joined to its Lead, which carries the workspace."""
    return D.join(up.lead, up.lead.c.id == D.c.leadId)


def _evaluated(f: Window, *columns) -> Select:
    """SELECT over drafts evaluated in the window, narrowed to the window's workspaces and channel."""
    return (
        select(*columns)
        .select_from(drafts_from())
        .where(*f.clauses(time=D.c.autoSendEvaluatedAt, workspace=up.lead.c.clientId, channel=D.c.channel))
        .where(D.c.autoSendAction.is_not(None))
    )


def _bucket(f: Window, bucket_seconds: int | None) -> ColumnElement:
    seconds = bucket_seconds if bucket_seconds is not None else default_bucket_seconds(f)
    return time_bucket(D.c.autoSendEvaluatedAt, seconds).label("bucket")


def _lower_edge(frame: pd.DataFrame, options) -> pd.Series:
    """A confidence bucket's lower edge from its index (computed, never stored)."""
    return (frame["bucket"].astype(float) / bucket_scale(options["width"])).round(6)


@query("Evaluated drafts per auto-send confidence bucket (AIDraft.autoSendConfidence, by autoSendEvaluatedAt).",
       summary=Summary(
           {"workspace": TEXT, "bucket": INT, "lower": FLOAT, "drafts": COUNT},
           D.c.autoSendEvaluatedAt, variants=({"width": 0.05}, {"width": 0.01}), derived={"lower": _lower_edge}))
def confidence_histogram(conn: Connection, f: Window, *, width: float = 0.05) -> pd.DataFrame:
    """Drafts per workspace and confidence bucket; drafts with a NULL confidence are left out.

    `bucket` is the integer index floor(confidence / width) (so 0.29 is bucket 29 at width 0.01),
    `lower` its lower edge, `drafts` the count.
    """
    scale = bucket_scale(width)
    bucket = value_bucket(D.c.autoSendConfidence, scale).label("bucket")
    stmt = (
        _evaluated(f, WORKSPACE, bucket, func.count().label("drafts"))
        .where(D.c.autoSendConfidence.is_not(None))
        .group_by("workspace", "bucket")
        .order_by("workspace", "bucket")
    )
    frame = read_frame(conn, stmt)
    frame.insert(2, "lower", _lower_edge(frame, {"width": width}))
    return frame


@query("Evaluated drafts per auto-send threshold in use (AIDraft.autoSendThreshold, by autoSendEvaluatedAt).",
       summary=Summary({"workspace": TEXT, "threshold": FLOAT, "drafts": COUNT}, D.c.autoSendEvaluatedAt))
def thresholds(conn: Connection, f: Window) -> pd.DataFrame:
    """The distinct thresholds drafts were judged against (the campaign's, 0.9 without one)."""
    threshold = D.c.autoSendThreshold
    stmt = (
        _evaluated(f, WORKSPACE, threshold.label("threshold"), func.count().label("drafts"))
        .where(threshold.is_not(None))
        .group_by("workspace", threshold)
        .order_by("workspace", threshold)
    )
    return read_frame(conn, stmt)


@query("Evaluated drafts per time bucket and auto-send action (AIDraft.autoSendAction, by autoSendEvaluatedAt).",
       summary=Summary(
           {"bucket": TIME, "workspace": TEXT, "action": TEXT, "drafts": COUNT},
           D.c.autoSendEvaluatedAt, variants=SERIES))
def action_mix_series(conn: Connection, f: Window, *, bucket_seconds: int | None = None) -> pd.DataFrame:
    """Drafts per bucket, workspace and action (send_immediate, send_delayed, needs_review, skip, error)."""
    action = D.c.autoSendAction
    stmt = (
        _evaluated(f, _bucket(f, bucket_seconds), WORKSPACE, action.label("action"), func.count().label("drafts"))
        .group_by("bucket", "workspace", action)
        .order_by("bucket", "workspace", action)
    )
    return read_frame(conn, stmt)


@query("Evaluated and needs_review drafts per time bucket (AIDraft.autoSendAction, by autoSendEvaluatedAt).",
       summary=Summary(
           {"bucket": TIME, "workspace": TEXT, "evaluated": COUNT, "needs_review": COUNT},
           D.c.autoSendEvaluatedAt, variants=SERIES))
def needs_review_series(conn: Connection, f: Window, *, bucket_seconds: int | None = None) -> pd.DataFrame:
    """`evaluated` drafts and how many of them are `needs_review`; the rate is needs_review / evaluated."""
    stmt = (
        _evaluated(
            f,
            _bucket(f, bucket_seconds),
            WORKSPACE,
            func.count().label("evaluated"),
            count_if(D.c.autoSendAction == "needs_review").label("needs_review"),
        )
        .group_by("bucket", "workspace")
        .order_by("bucket", "workspace")
    )
    return read_frame(conn, stmt)


@query("What needs_review drafts became: approved, edited, auto_sent, rejected or open (AIDraft.responseDisposition).",
       summary=Summary({"workspace": TEXT, "outcome": TEXT, "drafts": COUNT}, D.c.autoSendEvaluatedAt))
def needs_review_outcomes(conn: Connection, f: Window) -> pd.DataFrame:
    """needs_review drafts evaluated in the window, by outcome.

    From `responseDisposition`: APPROVED -> approved, EDITED -> edited, AUTO_SENT -> auto_sent. A NULL
    disposition is `rejected` when the draft's status is 'rejected' and `open` otherwise (pending or
    still sending).
    """
    disposition = D.c.responseDisposition
    outcome = case(
        (disposition == "APPROVED", "approved"),
        (disposition == "EDITED", "edited"),
        (disposition == "AUTO_SENT", "auto_sent"),
        (disposition.is_not(None), func.lower(cast(disposition, Text))),  # a label we do not know yet
        (D.c.status == "rejected", "rejected"),
        else_="open",
    ).label("outcome")
    stmt = (
        _evaluated(f, WORKSPACE, outcome, func.count().label("drafts"))
        .where(D.c.autoSendAction == "needs_review")
        .group_by("workspace", "outcome")
        .order_by("workspace", "outcome")
    )
    return read_frame(conn, stmt)


def _confidence_stats() -> list[ColumnElement]:
    conf = D.c.autoSendConfidence
    return [
        func.count(conf).label("scored"),
        sum0(conf).label("confidence_sum"),
        sum0(conf * conf).label("confidence_sumsq"),
    ]


@query("Scored drafts and auto-send confidence sums per time bucket (AIDraft.autoSendConfidence, by "
       "autoSendEvaluatedAt).",
       summary=Summary(
           {"bucket": TIME, "workspace": TEXT, "scored": COUNT, "confidence_sum": TOTAL, "confidence_sumsq": TOTAL},
           D.c.autoSendEvaluatedAt, variants=SERIES))  # the canary's confidence trajectory reads it
def confidence_series(conn: Connection, f: Window, *, bucket_seconds: int | None = None) -> pd.DataFrame:
    """Per bucket and workspace: `scored` drafts (confidence not NULL), `confidence_sum`, `confidence_sumsq`
    (the exact sums the mean and its variance follow from; buckets without a scored draft are absent)."""
    stmt = (
        _evaluated(f, _bucket(f, bucket_seconds), WORKSPACE, *_confidence_stats())
        .where(D.c.autoSendConfidence.is_not(None))
        .group_by("bucket", "workspace")
        .order_by("bucket", "workspace")
    )
    return read_frame(conn, stmt)


@query("Evaluated drafts per channel: needs_review, sends, skips, errors and confidence sums (by autoSendEvaluatedAt).",
       summary=Summary(
           {"workspace": TEXT, "channel": TEXT, "evaluated": COUNT, "needs_review": COUNT, "sends": COUNT,
            "skips": COUNT, "errors": COUNT, "scored": COUNT, "confidence_sum": TOTAL, "confidence_sumsq": TOTAL},
           D.c.autoSendEvaluatedAt))
def channel_summary(conn: Connection, f: Window) -> pd.DataFrame:
    """Per workspace and channel: `evaluated`; `needs_review`; `sends` (send_immediate + send_delayed);
    `skips`; `errors`; `scored` (confidence not NULL) with `confidence_sum` and `confidence_sumsq`
    over those scored drafts (mean and variance follow in analysis/).
    """
    action = D.c.autoSendAction
    stmt = (
        _evaluated(
            f,
            WORKSPACE,
            D.c.channel.label("channel"),
            func.count().label("evaluated"),
            count_if(action == "needs_review").label("needs_review"),
            count_if(action.in_(SEND_ACTIONS)).label("sends"),
            count_if(action == "skip").label("skips"),
            count_if(action == "error").label("errors"),
            *_confidence_stats(),
        )
        .group_by("workspace", D.c.channel)
        .order_by("workspace", D.c.channel)
    )
    return read_frame(conn, stmt)


def _reason_code() -> ColumnElement[str]:
    """autoSendReason as one of REASON_CODES (exact, or the code followed by ':'), else 'other'.

    The free text itself is never selected: only these constant labels leave the database.
    """
    reason = D.c.autoSendReason
    whens = [
        (or_(reason == code, reason.startswith(f"{code}:", autoescape=True)), code) for code in REASON_CODES
    ]
    return case(*whens, else_="other")


@query("Evaluated drafts without a confidence, per reason code (AIDraft.autoSendReason codes, by autoSendEvaluatedAt).",
       summary=Summary({"workspace": TEXT, "reason_code": TEXT, "drafts": COUNT}, D.c.autoSendEvaluatedAt))
def unscored_evaluations(conn: Connection, f: Window) -> pd.DataFrame:
    """Evaluated drafts whose confidence is NULL (hard blocks such as missing content), per reason code.

    `reason_code` is a contract code or 'other' (evaluator free text, send errors, NULL).
    """
    stmt = (
        _evaluated(f, WORKSPACE, _reason_code().label("reason_code"), func.count().label("drafts"))
        .where(D.c.autoSendConfidence.is_(None))
        .group_by("workspace", "reason_code")
        .order_by("workspace", "reason_code")
    )
    return read_frame(conn, stmt)


@query("Evaluated drafts, scored drafts and confidence sums per workspace (AIDraft, by autoSendEvaluatedAt).",
       summary=Summary(
           {"workspace": TEXT, "evaluated": COUNT, "scored": COUNT, "confidence_sum": TOTAL,
            "confidence_sumsq": TOTAL},
           D.c.autoSendEvaluatedAt))
def evaluated_volume(conn: Connection, f: Window) -> pd.DataFrame:
    """Totals for a headline tile and a volume check: `evaluated`, `scored` (confidence not NULL),
    `confidence_sum` and `confidence_sumsq` over the scored drafts.
    """
    stmt = (
        _evaluated(f, WORKSPACE, func.count().label("evaluated"), *_confidence_stats())
        .group_by("workspace")
        .order_by("workspace")
    )
    return read_frame(conn, stmt)
