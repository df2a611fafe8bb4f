"""The auto-send revision loop: AIDraft.autoSendRevision* and its AIInteraction telemetry.

DATA_CONTRACT.md section 4 (attempted = `autoSendRevisionAttemptedAt` NOT NULL, applied =
`autoSendRevisionApplied`, iterations 1-3 for email and 0 elsewhere) and section 6 (`auto_send.revise`
calls, flat `auto_send.revision_loop` metadata). Draft queries are windowed on the indexed
`autoSendRevisionAttemptedAt`, telemetry on `AIInteraction.createdAt`. Numeric columns are additive.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import BigInteger, Connection, Integer, and_, case, cast, func, literal, or_, select, true

from db import upstream as up
from queries.dialect import bucket_scale, json_text, time_bucket, value_bucket
from queries.drafts import WORKSPACE, D, count_if, drafts_from, sum0
from queries.filters import Window, default_bucket_seconds
from queries.frame import query, read_frame
from queries.summary_spec import COUNT, INT, SERIES, TEXT, TIME, TOTAL, Summary

AI = up.ai_interaction
ATTEMPTED_AT = D.c.autoSendRevisionAttemptedAt
APPLIED = D.c.autoSendRevisionApplied == true()
PAIRED = and_(D.c.autoSendOriginalConfidence.is_not(None), D.c.autoSendRevisionConfidence.is_not(None))
MAX_SAMPLE = 200


def _attempted(f: Window, *columns):
    """SELECT over drafts whose revision was attempted in the window (workspace and channel applied)."""
    return (
        select(*columns)
        .select_from(drafts_from())
        .where(*f.clauses(time=ATTEMPTED_AT, workspace=up.lead.c.clientId, channel=D.c.channel))
    )


@query("Revisions attempted and applied per time bucket, with original→revised confidence sums (AIDraft).",
       summary=Summary(
           {"bucket": TIME, "workspace": TEXT, "channel": TEXT, "attempted": COUNT, "applied": COUNT,
            "paired": COUNT, "original_sum": TOTAL, "revised_sum": TOTAL, "delta_sum": TOTAL, "delta_sumsq": TOTAL},
           ATTEMPTED_AT, variants=SERIES))
def revision_series(conn: Connection, f: Window, *, bucket_seconds: int | None = None) -> pd.DataFrame:
    """Per bucket (of `autoSendRevisionAttemptedAt`), workspace and channel.

    `attempted` drafts; `applied` (content replaced); `paired` drafts with both the original and the
    revision confidence; over the paired drafts only: `original_sum`, `revised_sum`, `delta_sum`
    (revised - original) and `delta_sumsq`, so mean and spread of the delta follow from `paired`.
    """
    seconds = bucket_seconds if bucket_seconds is not None else default_bucket_seconds(f)
    original, revised = D.c.autoSendOriginalConfidence, D.c.autoSendRevisionConfidence
    delta = revised - original  # NULL unless paired
    stmt = (
        _attempted(
            f,
            time_bucket(ATTEMPTED_AT, seconds).label("bucket"),
            WORKSPACE,
            D.c.channel.label("channel"),
            func.count().label("attempted"),
            count_if(APPLIED).label("applied"),
            count_if(PAIRED).label("paired"),
            sum0(case((PAIRED, original))).label("original_sum"),
            sum0(case((PAIRED, revised))).label("revised_sum"),
            sum0(delta).label("delta_sum"),
            sum0(delta * delta).label("delta_sumsq"),
        )
        .group_by("bucket", "workspace", D.c.channel)
        .order_by("bucket", "workspace", D.c.channel)
    )
    return read_frame(conn, stmt)


@query("Attempted revisions per original and revised confidence bucket (AIDraft, by autoSendRevisionAttemptedAt).",
       summary=Summary(
           {"workspace": TEXT, "original_bucket": INT, "revised_bucket": INT, "drafts": COUNT},
           ATTEMPTED_AT))
def revision_confidence_pairs(conn: Connection, f: Window, *, width: float = 0.05) -> pd.DataFrame:
    """A 2-D histogram of original → revision confidence; drafts missing either value are left out.

    Buckets are integer indexes floor(confidence / width).
    """
    scale = bucket_scale(width)
    stmt = (
        _attempted(
            f,
            WORKSPACE,
            value_bucket(D.c.autoSendOriginalConfidence, scale).label("original_bucket"),
            value_bucket(D.c.autoSendRevisionConfidence, scale).label("revised_bucket"),
            func.count().label("drafts"),
        )
        .where(PAIRED)
        .group_by("workspace", "original_bucket", "revised_bucket")
        .order_by("workspace", "original_bucket", "revised_bucket")
    )
    return read_frame(conn, stmt)


@query("Applied revisions per channel and iteration count (AIDraft.autoSendRevisionIterations).",
       summary=Summary({"workspace": TEXT, "channel": TEXT, "iterations": INT, "drafts": COUNT}, ATTEMPTED_AT))
def revision_iterations(conn: Connection, f: Window) -> pd.DataFrame:
    """Applied revisions by `iterations` (1-3 for email, which loops; 0 for other channels)."""
    iterations = D.c.autoSendRevisionIterations
    stmt = (
        _attempted(f, WORKSPACE, D.c.channel.label("channel"), iterations.label("iterations"),
                   func.count().label("drafts"))
        .where(APPLIED)
        .group_by("workspace", D.c.channel, iterations)
        .order_by("workspace", D.c.channel, iterations)
    )
    return read_frame(conn, stmt)


@query("Revisions attempted and applied per campaign (Lead.emailCampaignId, by AIDraft.autoSendRevisionAttemptedAt).",
       summary=Summary({"workspace": TEXT, "campaign_id": TEXT, "attempted": COUNT, "applied": COUNT}, ATTEMPTED_AT))
def revision_by_campaign(conn: Connection, f: Window) -> pd.DataFrame:
    """`campaign_id` is the lead's EmailCampaign id (None for leads outside a campaign)."""
    campaign = up.lead.c.emailCampaignId
    stmt = (
        _attempted(f, WORKSPACE, campaign.label("campaign_id"), func.count().label("attempted"),
                   count_if(APPLIED).label("applied"))
        .group_by("workspace", campaign)
        .order_by("workspace", campaign)
    )
    return read_frame(conn, stmt)


@query("auto_send.revise model calls and errors per latency bucket (AIInteraction.latencyMs, by createdAt).",
       summary=Summary(
           {"workspace": TEXT, "latency_bucket_ms": INT, "calls": COUNT, "errors": COUNT},
           AI.c.createdAt, variants=({"width_ms": 50}, {"width_ms": 500}), ignores_channel=True))
def revise_latency_histogram(conn: Connection, f: Window, *, width_ms: int = 50) -> pd.DataFrame:
    """Revise calls (each retry is its own row) per `latency_bucket_ms` (lower edge, ms).

    `calls` counts every row with a latency, `errors` those with status 'error'. Rows with a NULL
    latency are not in any bucket, so they are not counted here at all. AIInteraction carries no
    channel, so the channel filter does not apply; the workspace is `AIInteraction.clientId`.
    """
    if not isinstance(width_ms, int) or width_ms <= 0:
        raise ValueError(f"latency bucket width must be a positive whole number of ms, got {width_ms!r}")
    latency = AI.c.latencyMs
    width = literal(width_ms, Integer)
    stmt = (
        select(
            AI.c.clientId.label("workspace"),
            ((latency // width) * width).label("latency_bucket_ms"),
            func.count().label("calls"),
            count_if(AI.c.status == "error").label("errors"),
        )
        .where(*f.clauses(time=AI.c.createdAt, workspace=AI.c.clientId))
        .where(AI.c.featureId == "auto_send.revise", latency.is_not(None))
        .group_by("workspace", "latency_bucket_ms")
        .order_by("workspace", "latency_bucket_ms")
    )
    return read_frame(conn, stmt)


@query("auto_send.revise model calls and error rows per time bucket (AIInteraction, by createdAt).",
       summary=Summary(
           {"bucket": TIME, "workspace": TEXT, "calls": COUNT, "errors": COUNT},
           AI.c.createdAt, variants=(*SERIES, {"bucket_seconds": 1800}), ignores_channel=True))  # 30 min: the rule's
def revise_error_series(conn: Connection, f: Window, *, bucket_seconds: int | None = None) -> pd.DataFrame:
    """Revise calls (each retry its own row, NULL latency included) and those with status 'error', per
    `bucket`: the series the "revision errors per 30 minutes" rollback rule is judged on."""
    bucket = time_bucket(AI.c.createdAt, bucket_seconds or default_bucket_seconds(f)).label("bucket")
    stmt = (
        select(bucket, AI.c.clientId.label("workspace"), func.count().label("calls"),
               count_if(AI.c.status == "error").label("errors"))
        .where(*f.clauses(time=AI.c.createdAt, workspace=AI.c.clientId))
        .where(AI.c.featureId == "auto_send.revise")
        .group_by("bucket", "workspace")
        .order_by("bucket", "workspace")
    )
    return read_frame(conn, stmt)


@query("Revision loop rows and drafts looped more than once (AIInteraction auto_send.revision_loop, by createdAt).")
def revision_loop_counts(conn: Connection, f: Window) -> pd.DataFrame:
    """The at-most-once invariant: each draft should have at most one loop summary row.

    `loop_rows` counts rows; `drafts_looped` distinct `metadata.draftId` (flat metadata); and
    `drafts_looped_more_than_once` those with two or more rows in the window (should be 0). The distinct
    counts add up across windows only while the invariant holds. The channel filter reads
    `metadata.channel` (these rows are e-mail only).
    """
    meta = AI.c["metadata"]
    per_draft = (
        select(
            AI.c.clientId.label("workspace"),
            json_text(meta, "draftId").label("draft_id"),
            func.count().label("n"),
        )
        .where(*f.clauses(time=AI.c.createdAt, workspace=AI.c.clientId, channel=json_text(meta, "channel")))
        .where(AI.c.featureId == "auto_send.revision_loop")
        .group_by("workspace", "draft_id")
        .subquery()
    )
    stmt = (
        select(
            per_draft.c.workspace,
            func.count(per_draft.c.draft_id).label("drafts_looped"),
            cast(func.sum(per_draft.c.n), BigInteger).label("loop_rows"),
            count_if(and_(per_draft.c.draft_id.is_not(None), per_draft.c.n > 1)).label("drafts_looped_more_than_once"),
        )
        .group_by(per_draft.c.workspace)
        .order_by(per_draft.c.workspace)
    )
    return read_frame(conn, stmt)


@query("Drafts whose revision columns break the contract: applied without attempt, iterations out of range (AIDraft).",
       summary=Summary({"workspace": TEXT, "check": TEXT, "drafts": COUNT}, D.c.autoSendEvaluatedAt,
                       hourly=False))  # the checks window different time columns
def revision_inconsistencies(conn: Connection, f: Window) -> pd.DataFrame:
    """Drafts per `check`, each of which should be 0:

    - `applied_without_attempt`: applied but `autoSendRevisionAttemptedAt` NULL (windowed on
      `autoSendEvaluatedAt`, as there is no attempt time);
    - `email_iterations_out_of_range`: applied e-mail revision with iterations outside 1..3;
    - `non_email_iterations_nonzero`: attempted sms/linkedin revision with iterations != 0.
    The last two are windowed on `autoSendRevisionAttemptedAt`; the checks are mutually exclusive.
    """
    iterations, is_email = D.c.autoSendRevisionIterations, D.c.channel == "email"

    def scoped(time):  # the window on `time`, plus the workspace and channel filters
        return f.clauses(time=time, workspace=up.lead.c.clientId, channel=D.c.channel)

    no_attempt = and_(APPLIED, ATTEMPTED_AT.is_(None), *scoped(D.c.autoSendEvaluatedAt))
    email_bad = and_(*scoped(ATTEMPTED_AT), APPLIED, is_email, or_(iterations < 1, iterations > 3))
    other_bad = and_(*scoped(ATTEMPTED_AT), ~is_email, iterations != 0)
    check = case(
        (no_attempt, "applied_without_attempt"),
        (email_bad, "email_iterations_out_of_range"),
        else_="non_email_iterations_nonzero",
    ).label("check")
    stmt = (
        select(WORKSPACE, check, func.count().label("drafts"))
        .select_from(drafts_from())
        .where(or_(no_attempt, email_bad, other_bad))
        .group_by("workspace", "check")
        .order_by("workspace", "check")
    )
    return read_frame(conn, stmt)


@query("Newest attempted revisions: draft id, workspace, channel, attempt time, applied (ids and codes only).")
def revision_sample_ids(conn: Connection, f: Window, *, limit: int = 20) -> pd.DataFrame:
    """Up to `limit` (1..200) drafts with a revision attempted in the window, newest first.

    Only ids and codes, for an operator to look up upstream; never content.
    """
    if not isinstance(limit, int) or not 1 <= limit <= MAX_SAMPLE:
        raise ValueError(f"sample limit must be between 1 and {MAX_SAMPLE}, got {limit!r}")
    stmt = (
        _attempted(
            f,
            D.c.id.label("draft_id"),
            WORKSPACE,
            D.c.channel.label("channel"),
            ATTEMPTED_AT.label("attempted_at"),
            D.c.autoSendRevisionApplied.label("applied"),
        )
        .order_by(ATTEMPTED_AT.desc(), D.c.id.desc())
        .limit(limit)
    )
    frame = read_frame(conn, stmt)
    frame["applied"] = frame["applied"].astype(bool)
    return frame
