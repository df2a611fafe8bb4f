"""Offload health: the WebhookEvent queue and BackgroundFunctionRun (DATA_CONTRACT.md sections 9-10).

WebhookEvent has no clientId: INBOXXIA rows carry Client.emailBisonWorkspaceId, CRM rows Client.id,
so the workspace is resolved by one LEFT JOIN on either meaning (unresolved rows keep a NULL
workspace). BackgroundFunctionRun is global (clientId is never written).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import BigInteger, Connection, and_, case, cast, func, literal, or_, select, union_all

from db import upstream as up
from queries.dialect import time_bucket
from queries.filters import Window, default_bucket_seconds, naive_utc
from queries.frame import query, read_frame
from queries.summary_spec import COUNT, SERIES, TEXT, TIME, Summary

W = up.webhook_event
FR = up.background_function_run
JOB = up.background_job


def _events_with_workspace():
    on = or_(and_(W.c.provider == "INBOXXIA", up.client.c.emailBisonWorkspaceId == W.c.workspaceId),
             and_(W.c.provider == "CRM", up.client.c.id == W.c.workspaceId))
    return W.outerjoin(up.client, on)


def _count_by_bucket(time_col, kind: str, f: Window, seconds: int, *extra):
    bucket = time_bucket(time_col, seconds).label("bucket")
    return (select(bucket, up.client.c.id.label("workspace"), W.c.provider.label("provider"),
                   literal(kind).label("kind"), func.count().label("events"))
            .select_from(_events_with_workspace())
            .where(*f.clauses(time=time_col, workspace=up.client.c.id), *extra)
            .group_by(bucket, up.client.c.id, W.c.provider))


@query("Webhook events created, started and finished (by final status) per time bucket (WebhookEvent timestamps).",
       summary=Summary(
           {"bucket": TIME, "workspace": TEXT, "provider": TEXT, "created": COUNT, "started": COUNT,
            "succeeded": COUNT, "failed": COUNT},
           W.c.createdAt, variants=({"bucket_seconds": 300}, {"bucket_seconds": 1800}, {"bucket_seconds": 10800},
                                    {"bucket_seconds": 86400}),  # 5 min: the canary's queue slices; a day: 30d+
           ignores_channel=True,
           hourly=False))  # created, started and finished each count in the bucket of their own timestamp
def webhook_flow_series(conn: Connection, f: Window, *, bucket_seconds: int | None = None) -> pd.DataFrame:
    """bucket, workspace, provider, created, started, succeeded, failed: each event counted in the bucket
    of the timestamp that marks it. Retries overwrite startedAt/runAt, so only the last attempt's
    start survives; the depth reconstructed from these is an approximation on that account."""
    seconds = bucket_seconds or default_bucket_seconds(f)
    parts = union_all(
        _count_by_bucket(W.c.createdAt, "created", f, seconds),
        _count_by_bucket(W.c.startedAt, "started", f, seconds),
        _count_by_bucket(W.c.finishedAt, "succeeded", f, seconds, W.c.status == "SUCCEEDED"),
        _count_by_bucket(W.c.finishedAt, "failed", f, seconds, W.c.status == "FAILED"),
    ).subquery()
    kinds = ("created", "started", "succeeded", "failed")
    counts = [cast(func.coalesce(func.sum(case((parts.c.kind == kind, parts.c.events), else_=0)), 0), BigInteger)
              .label(kind) for kind in kinds]
    stmt = (select(parts.c.bucket, parts.c.workspace, parts.c.provider, *counts)
            .group_by(parts.c.bucket, parts.c.workspace, parts.c.provider)
            .order_by(parts.c.bucket, parts.c.provider, parts.c.workspace))
    return read_frame(conn, stmt)


@query("Webhook events still in the queue at the window's start: created before it, not finished by it.")
def webhook_backlog_at_start(conn: Connection, f: Window) -> pd.DataFrame:
    """workspace, provider, queued, running (of the queued, started before the start).

    A reconstruction from the row as it is now: a retry overwrites startedAt/runAt/finishedAt, so only
    the last attempt's timestamps survive, and an event that was running at the start but retried
    later reads as queued, not running. Whether a retry clears startedAt is not documented: if it does
    not, an event put back to PENDING before the start reads as running.
    """
    start = naive_utc(f.start)
    open_at_start = and_(W.c.createdAt < start, or_(W.c.finishedAt.is_(None), W.c.finishedAt >= start))
    running = func.count(W.c.startedAt).filter(W.c.startedAt < start)
    stmt = (select(up.client.c.id.label("workspace"), W.c.provider.label("provider"),
                   func.count().label("queued"), running.label("running"))
            .select_from(_events_with_workspace())
            .where(open_at_start)
            .group_by(up.client.c.id, W.c.provider)
            .order_by(up.client.c.id, W.c.provider))
    if f.workspaces:
        stmt = stmt.where(up.client.c.id.in_(f.workspaces))
    return read_frame(conn, stmt)


@query("Background function runs, successes and failures per function and time bucket "
       "(BackgroundFunctionRun.createdAt; global: the workspace filter does not apply).",
       summary=Summary(
           {"bucket": TIME, "function": TEXT, "runs": COUNT, "succeeded": COUNT, "failed": COUNT, "running": COUNT},
           FR.c.createdAt, variants=(*SERIES, {"bucket_seconds": 3600}), ignores_channel=True))  # 1 h: the canary's
def function_run_series(conn: Connection, f: Window, *, bucket_seconds: int | None = None) -> pd.DataFrame:
    bucket = time_bucket(FR.c.createdAt, bucket_seconds or default_bucket_seconds(f)).label("bucket")
    stmt = (select(bucket, FR.c.functionName.label("function"), func.count().label("runs"),
                   func.count().filter(FR.c.status == "SUCCEEDED").label("succeeded"),
                   func.count().filter(FR.c.status == "FAILED").label("failed"),
                   func.count().filter(FR.c.status == "RUNNING").label("running"))
            .where(*f.clauses(time=FR.c.createdAt))
            .group_by(bucket, FR.c.functionName)
            .order_by(bucket, FR.c.functionName))
    return read_frame(conn, stmt)


def _by_workspace(stmt, f: Window, *groups):
    stmt = stmt.select_from(_events_with_workspace()).group_by(up.client.c.id, W.c.provider, *groups)
    return stmt.where(up.client.c.id.in_(f.workspaces)) if f.workspaces else stmt


@query("Webhook events due now: PENDING with runAt before the window's end, and the oldest such runAt "
       "(current status: a snapshot, not history).")
def webhook_oldest_due(conn: Connection, f: Window) -> pd.DataFrame:
    """workspace, provider, due, oldest_due_run_at. oldest_due_run_at combines by min, not by sum."""
    stmt = (select(up.client.c.id.label("workspace"), W.c.provider.label("provider"),
                   func.count().label("due"), func.min(W.c.runAt).label("oldest_due_run_at"))
            .where(W.c.status == "PENDING", W.c.runAt < naive_utc(f.end)))
    return read_frame(conn, _by_workspace(stmt, f).order_by(up.client.c.id, W.c.provider))


@query("Webhook events created in the window by current status, their attempts and how many were retried "
       "(attempts > 1).",
       summary=Summary(
           {"workspace": TEXT, "provider": TEXT, "status": TEXT, "events": COUNT, "attempts_sum": COUNT,
            "retried": COUNT},
           W.c.createdAt, ignores_channel=True))
def webhook_retries(conn: Connection, f: Window) -> pd.DataFrame:
    stmt = (select(up.client.c.id.label("workspace"), W.c.provider.label("provider"),
                   W.c.status.label("status"), func.count().label("events"),
                   func.coalesce(func.sum(W.c.attempts), 0).label("attempts_sum"),
                   func.count().filter(W.c.attempts > 1).label("retried"))
            .where(*f.clauses(time=W.c.createdAt)))
    stmt = _by_workspace(stmt, f, W.c.status).order_by(up.client.c.id, W.c.provider, W.c.status)
    return read_frame(conn, stmt)


@query("Background jobs by workspace, type and current status (BackgroundJob.runAt in the window).",
       summary=Summary(
           {"workspace": TEXT, "type": TEXT, "status": TEXT, "jobs": COUNT},
           JOB.c.runAt, ignores_channel=True))
def background_job_status(conn: Connection, f: Window) -> pd.DataFrame:
    stmt = (select(JOB.c.clientId.label("workspace"), JOB.c.type.label("type"), JOB.c.status.label("status"),
                   func.count().label("jobs"))
            .where(*f.clauses(time=JOB.c.runAt, workspace=JOB.c.clientId))
            .group_by(JOB.c.clientId, JOB.c.type, JOB.c.status)
            .order_by(JOB.c.clientId, JOB.c.type, JOB.c.status))
    return read_frame(conn, stmt)
