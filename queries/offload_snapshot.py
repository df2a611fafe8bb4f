"""The offload monitoring snapshot's reads: WebhookEvent state at instants, BackgroundFunctionRun totals.

State at an instant t is reconstructed from the row's timestamps as queries/offload.py reconstructs the
backlog (DATA_CONTRACT.md section 9): an event created before t is SUCCEEDED or FAILED at t when its
status is that and it finished before t; otherwise it is open at t, RUNNING when it started before t,
else PENDING. So every event created before t is in exactly one of the four. A retry keeps only its last
attempt's timestamps, so an event running at t but retried later reads as PENDING (an approximation);
a status label upstream adds later counts as open.

Enum columns are compared as text (a label canarywatch does not know must not break the read).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import BigInteger, Connection, Text, and_, cast, func, or_, select

from db import upstream as up
from queries.filters import Window, as_utc, naive_utc
from queries.frame import query, read_frame

W = up.webhook_event
FR = up.background_function_run
WINDOW = timedelta(minutes=30)
STEP_SECONDS = 300
STATES = ("PENDING", "RUNNING", "FAILED", "SUCCEEDED")
TERMINAL = ("SUCCEEDED", "FAILED")
MAX_INSTANTS = 49


def snapshot_window(t0: datetime, workspaces: tuple[str, ...] = ()) -> Window:
    """[T0, T0 + 30 min), T0 cut to whole seconds (the file is named after it to the second)."""
    start = as_utc(t0).replace(microsecond=0)
    return Window(start, start + WINDOW, workspaces)


def default_step_seconds(f: Window) -> int:
    """5 minutes, or the smallest multiple of it that keeps a long window within MAX_INSTANTS instants."""
    steps_of_5 = math.ceil(f.duration.total_seconds() / STEP_SECONDS / (MAX_INSTANTS - 1))
    return STEP_SECONDS * max(1, steps_of_5)


def instants(f: Window, step_seconds: int | None = None) -> list[datetime]:
    """The window's start, every `step_seconds` (default: default_step_seconds) after it, and its end."""
    step_seconds = default_step_seconds(f) if step_seconds is None else step_seconds
    if not isinstance(step_seconds, int) or step_seconds <= 0:
        raise ValueError(f"the step must be a positive whole number of seconds, got {step_seconds!r}")
    step = timedelta(seconds=step_seconds)
    moments, moment = [], f.start
    while moment < f.end:
        moments.append(moment)
        moment += step
    moments.append(f.end)
    if len(moments) > MAX_INSTANTS:
        raise ValueError(f"{len(moments)} instants: at most {MAX_INSTANTS} (a longer step or a shorter window)")
    return moments


def _status_counts(index: int, moment: datetime) -> list:
    """The four state counts at one instant, as filtered counts named `<STATE>_<index>`."""
    t = naive_utc(moment)
    status = cast(W.c.status, Text)
    created = W.c.createdAt < t
    finished = W.c.finishedAt < t  # NULL (never finished) is not finished
    still_open = or_(W.c.finishedAt.is_(None), W.c.finishedAt >= t, status.not_in(TERMINAL))
    started = W.c.startedAt < t
    conditions = {
        "PENDING": and_(created, still_open, or_(W.c.startedAt.is_(None), W.c.startedAt >= t)),
        "RUNNING": and_(created, still_open, started),
        "FAILED": and_(created, finished, status == "FAILED"),
        "SUCCEEDED": and_(created, finished, status == "SUCCEEDED"),
    }
    return [func.count().filter(cond).label(f"{state}_{index}") for state, cond in conditions.items()]


@query("WebhookEvent counts by status (PENDING, RUNNING, FAILED, SUCCEEDED) at the window's start, every 5 "
       "minutes (longer steps for a long window) and its end, reconstructed from createdAt, startedAt and finishedAt.")
def webhook_status_at_instants(conn: Connection, f: Window, *, step_seconds: int | None = None) -> pd.DataFrame:
    """instant, workspace, provider, status, events: the state of every event created before each instant.

    Aggregated per (provider, raw workspaceId) first, then resolved to the workspace (INBOXXIA through
    Client.emailBisonWorkspaceId, CRM through Client.id; unresolved rows keep a NULL workspace), so the
    join runs over a few groups, not over every event. The raw workspaceId is never returned.
    """
    moments = instants(f, step_seconds)
    counts = [c for i, moment in enumerate(moments) for c in _status_counts(i, moment)]
    provider = cast(W.c.provider, Text).label("provider")
    raw = (select(provider, W.c.workspaceId.label("raw_workspace"), *counts)
           .where(W.c.createdAt < naive_utc(moments[-1]))
           .group_by(cast(W.c.provider, Text), W.c.workspaceId)
           .subquery("per_key"))
    on = or_(and_(raw.c.provider == "INBOXXIA", up.client.c.emailBisonWorkspaceId == raw.c.raw_workspace),
             and_(raw.c.provider == "CRM", up.client.c.id == raw.c.raw_workspace))
    names = [f"{state}_{i}" for i in range(len(moments)) for state in STATES]
    stmt = (select(up.client.c.id.label("workspace"), raw.c.provider,
                   *[cast(func.sum(raw.c[name]), BigInteger).label(name) for name in names])
            .select_from(raw.outerjoin(up.client, on))
            .group_by(up.client.c.id, raw.c.provider)
            .order_by(up.client.c.id, raw.c.provider))
    if f.workspaces:
        stmt = stmt.where(up.client.c.id.in_(f.workspaces))
    wide = read_frame(conn, stmt)
    columns = ["instant", "workspace", "provider", "status", "events"]
    if wide.empty:
        return pd.DataFrame(columns=columns)
    long = wide.melt(id_vars=["workspace", "provider"], value_vars=names, var_name="key", value_name="events")
    parts = long["key"].str.rsplit("_", n=1, expand=True)
    long["status"] = parts[0]
    long["instant"] = [moments[int(i)] for i in parts[1]]
    long["events"] = long["events"].fillna(0).astype(int)
    return long[columns].sort_values(["instant", "workspace", "provider", "status"], na_position="first",
                                     kind="stable").reset_index(drop=True)


@query("BackgroundFunctionRun attempts and failures per function (createdAt in the window; global: the "
       "workspace filter does not apply).")
def function_run_totals(conn: Connection, f: Window) -> pd.DataFrame:
    """function, total_runs, failures (status FAILED). Each retry is its own row: attempts, not logical runs."""
    status = cast(FR.c.status, Text)
    stmt = (select(FR.c.functionName.label("function"), func.count().label("total_runs"),
                   func.count().filter(status == "FAILED").label("failures"))
            .where(*f.clauses(time=FR.c.createdAt))
            .group_by(FR.c.functionName)
            .order_by(FR.c.functionName))
    return read_frame(conn, stmt)
