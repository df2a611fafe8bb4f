"""Offload health (DATA_CONTRACT.md sections 9-10): WebhookEvent rows run through a simulated FIFO
runner (so the queue episode backs up and drains on its own), and BackgroundFunctionRun rows on
each function's schedule with the one bad hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from db import upstream as up
from demo import rows
from demo.sentinels import pii_text
from demo.story import DAYS

if TYPE_CHECKING:
    from demo.build import Build

EPISODE_ARRIVALS_PER_MIN = 30  # the burst
EPISODE_CAPACITY_PER_MIN = 12  # the runner while it is degraded
NORMAL_CAPACITY_PER_MIN = 40

#: functionName -> minutes between scheduled runs
SCHEDULE = {
    "process-background-jobs": 2, "background-maintenance": 10, "cron-followups": 5,
    "cron-response-timing": 5, "cron-availability": 5, "cron-appointment-reconcile": 15,
    "cron-emailbison-availability-slot": 10,
}
BASE_FAILURE_RATE = 0.03


def webhooks(b: Build) -> None:
    arrivals = _arrivals(b)
    arrivals.sort(key=lambda a: a[0])
    s = b.story
    free_at = s.start
    for created, provider, workspace, event in arrivals:
        pickup = created + timedelta(seconds=b.rng.uniform(0.5, 4))
        started = max(pickup, free_at)
        degraded = s.queue_episode_start <= started < s.queue_episode_end
        free_at = started + timedelta(seconds=60 / (EPISODE_CAPACITY_PER_MIN if degraded else NORMAL_CAPACITY_PER_MIN))
        b.add(up.webhook_event, _event(b, provider, workspace, event, created, started))
    _near_end(b)


def _arrivals(b: Build) -> list[tuple[datetime, str, str, str]]:
    s = b.story
    out: list[tuple[datetime, str, str, str]] = []
    for ws, bison in zip(s.workspaces, s.bison_ids, strict=True):
        for day in range(DAYS):
            if bison is not None:
                out += [(b.at(day, b.rng.uniform(0, 86_390)), "INBOXXIA", bison, "EMAIL_SENT")
                        for _ in range(b.day_count(b.scale / 3))]
            if ws in s.crm_webhooks:  # CRM rows carry Client.id, not the EmailBison id
                out += [(b.at(day, b.rng.uniform(0, 86_390)), "CRM", ws,
                         "lead_created" if b.rng.random() < 0.3 else "crm_row_updated")
                        for _ in range(b.day_count(b.scale / 6))]
    burst = s.bison_of[s.queue_workspace]
    span = (s.queue_episode_end - s.queue_episode_start).total_seconds()
    n_burst = round(EPISODE_ARRIVALS_PER_MIN * span / 60)
    out += [(s.queue_episode_start + timedelta(seconds=b.rng.uniform(0, span)), "INBOXXIA", burst, "EMAIL_SENT")
            for _ in range(n_burst)]
    return out


def _event(b: Build, provider: str, workspace: str, event: str, created: datetime, started: datetime) -> dict[str, Any]:
    """One event's fate: mostly done in seconds; some retried (attempts > 1), a few FAILED."""
    end = b.story.end
    r = b.rng.random()
    finished = started + timedelta(seconds=b.rng.uniform(0.2, 1.4))
    attempts, run_at, status = 1, created, "SUCCEEDED"
    if r < 0.003:
        attempts, status = 8, "FAILED"
        run_at = started + timedelta(hours=2)
        finished = run_at + timedelta(seconds=2)
    elif r < 0.033:
        attempts = b.rng.randint(2, 3)
        run_at = started + timedelta(minutes=b.rng.uniform(1, 10) * (attempts - 1))
        finished = run_at + timedelta(seconds=2)
    if started >= end:
        return rows.webhook_row(b.id("wh"), provider=provider, workspace_id=workspace, created_at=created,
                                status="PENDING", attempts=0, event_type=event)
    if run_at >= end:  # waiting for its retry
        row = rows.webhook_row(b.id("wh"), provider=provider, workspace_id=workspace, created_at=created,
                               status="PENDING", started_at=started, run_at=run_at, attempts=attempts - 1,
                               event_type=event)
        return row | {"lastError": pii_text("webhook error")}
    if finished >= end:
        return rows.webhook_row(b.id("wh"), provider=provider, workspace_id=workspace, created_at=created,
                                status="RUNNING", started_at=started, run_at=run_at, attempts=attempts,
                                event_type=event) | {"lockedAt": started.replace(tzinfo=None)}
    return rows.webhook_row(b.id("wh"), provider=provider, workspace_id=workspace, created_at=created, status=status,
                            started_at=started, finished_at=finished, run_at=run_at, attempts=attempts,
                            event_type=event)


def _near_end(b: Build) -> None:
    """A handful still PENDING at the end: fresh arrivals, and rows waiting for a retry."""
    s = b.story
    ws = s.workspaces[1]
    for seconds in (50, 20, 5):
        b.add(up.webhook_event, rows.webhook_row(b.id("wh"), provider="INBOXXIA", workspace_id=s.bison_of[ws],
                                                 created_at=s.end - timedelta(seconds=seconds), status="PENDING",
                                                 attempts=0))
    for minutes in (9, 6, 3):
        created = s.end - timedelta(minutes=minutes)
        row = rows.webhook_row(b.id("wh"), provider="CRM", workspace_id=s.crm_webhooks[0], created_at=created,
                               status="PENDING", started_at=created + timedelta(seconds=2),
                               run_at=s.end + timedelta(minutes=5), attempts=1, event_type="lead_created")
        b.add(up.webhook_event, row | {"lastError": pii_text("webhook error")})


def function_runs(b: Build) -> None:
    s = b.story
    for function, every in SCHEDULE.items():
        for hour in range(DAYS * 24):
            hour_start = s.start + timedelta(hours=hour)
            starts = [hour_start + timedelta(minutes=m, seconds=b.rng.uniform(0, 20)) for m in range(0, 60, every)]
            n = len(starts)
            if function == s.failing_function and hour_start == s.failure_hour_start:
                k = n // 3  # 4 of 12 fail, plus 4 retries: 25% of attempts
            else:  # rare failures, but never 10% of an hour's attempts
                k = min(sum(b.rng.random() < BASE_FAILURE_RATE for _ in range(n)), (n - 1) // 9)
            failing = b.rng.sample(range(n), k)
            for i, started in enumerate(starts):
                _run(b, function, started, failed=i in failing)


def _run(b: Build, function: str, started: datetime, *, failed: bool) -> None:
    duration = round(b.rng.lognormvariate(0, 0.5) * (4000 if function == "process-background-jobs" else 1500))
    running = started + timedelta(milliseconds=duration) >= b.story.end
    first = rows.function_run_row(b.id("fn"), function=function, started_at=started, duration_ms=duration,
                                  status="RUNNING" if running else "FAILED" if failed else "SUCCEEDED")
    b.add(up.background_function_run, first)
    if failed:  # Inngest retries: each attempt is its own row, same runId
        retry = rows.function_run_row(b.id("fn"), function=function, started_at=started + timedelta(seconds=30),
                                      attempt=1, duration_ms=duration)
        retry.update(runId=first["runId"], runKey=f"{function}:{first['runId']}:1")
        b.add(up.background_function_run, retry)
