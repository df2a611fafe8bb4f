"""Offload queries: webhook flow, backlog, due and retries (both workspaceId meanings), function runs, jobs."""

import pandas as pd
import pytest

from analysis.queue import queue_depth_series, worst_failure_ratios
from queries import offload
from queries.filters import Window
from tests.seed import at

WINDOW = Window(at(), at(minutes=60))  # [12:00, 13:00)


def plant_webhooks(db):
    db.seed.workspace("ws-a", bison="bison-a")
    db.seed.workspace("ws-b")
    # A: INBOXXIA mapped through the bison id -> ws-a; created 11:50, started 11:55, succeeded 12:05
    db.seed.webhook(provider="INBOXXIA", workspace_id="bison-a", created=at(minutes=-10),
                    started_at=at(minutes=-5), finished_at=at(minutes=5))
    # B: ws-a, finished exactly at the start 12:00: open just before it, its finish counts in the window
    db.seed.webhook(provider="INBOXXIA", workspace_id="bison-a", created=at(minutes=-20),
                    started_at=at(minutes=-15), finished_at=at())
    # C: ws-a, entirely before the window (finished 11:59): in neither backlog nor flow
    db.seed.webhook(provider="INBOXXIA", workspace_id="bison-a", created=at(minutes=-30),
                    started_at=at(minutes=-29), finished_at=at(minutes=-1))
    # D: CRM mapped through Client.id -> ws-b; created 12:00 exactly (in), never started, due since 12:00
    db.seed.webhook(provider="CRM", workspace_id="ws-b", created=at(), status="PENDING", attempts=0)
    # E: ws-b; created 12:10, started 12:20, failed 12:40 after 3 attempts
    db.seed.webhook(provider="CRM", workspace_id="ws-b", created=at(minutes=10), started_at=at(minutes=20),
                    finished_at=at(minutes=40), status="FAILED", attempts=3)
    # F: INBOXXIA carrying a Client.id, not a bison id -> unresolved (NULL workspace); retried, due 12:30
    db.seed.webhook(provider="INBOXXIA", workspace_id="ws-b", created=at(minutes=15), status="PENDING",
                    run_at=at(minutes=30), attempts=2)
    # G: unmapped id, created and due at 13:00 = the window's end: out everywhere
    db.seed.webhook(provider="INBOXXIA", workspace_id="nobody", created=at(minutes=60), status="PENDING")


def keyed(frame: pd.DataFrame, keys: list[str], values: list[str]) -> dict:
    """{(keys...): (values...)} with NULL workspaces as None, so both backends compare alike."""
    out = {}
    for record in frame.to_dict("records"):
        key = tuple(None if pd.isna(record[k]) else record[k] for k in keys)
        out[key] = tuple(record[v] for v in values)
    return out


def test_webhook_flow_counts_each_timestamp_in_its_bucket(db):
    plant_webhooks(db)
    flow = offload.webhook_flow_series(db.conn, WINDOW, bucket_seconds=1800)
    flow["minute"] = [b.minute for b in flow["bucket"]]
    # 12:00 bucket: ws-a finishes A (12:05) and B (12:00); ws-b creates D, E and starts E (12:20);
    # the unresolved F is created (12:15). 12:30 bucket: E fails (12:40). G at 13:00 is out.
    assert keyed(flow, ["minute", "workspace", "provider"], ["created", "started", "succeeded", "failed"]) == {
        (0, "ws-a", "INBOXXIA"): (0, 0, 2, 0), (0, "ws-b", "CRM"): (2, 1, 0, 0),
        (0, None, "INBOXXIA"): (1, 0, 0, 0), (30, "ws-b", "CRM"): (0, 0, 0, 1)}


def test_webhook_flow_workspace_filter_drops_other_and_unresolved_rows(db):
    plant_webhooks(db)
    only_b = offload.webhook_flow_series(db.conn, Window(WINDOW.start, WINDOW.end, workspaces=("ws-b",)),
                                         bucket_seconds=3600)
    # ws-b only, one hourly bucket: created D + E = 2, started E = 1, failed E = 1
    assert only_b[["workspace", "created", "started", "succeeded", "failed"]].values.tolist() == [["ws-b", 2, 1, 0, 1]]


def test_flow_start_and_finish_at_the_edges(db):
    db.seed.workspace("ws-b")
    # H: created 11:40, started exactly at 12:00 (in), succeeded exactly at 13:00 (out)
    db.seed.webhook(provider="CRM", workspace_id="ws-b", created=at(minutes=-20), started_at=at(),
                    finished_at=at(minutes=60))
    # I: created 12:50 (in), started exactly at 13:00 (out), still running
    db.seed.webhook(provider="CRM", workspace_id="ws-b", created=at(minutes=50), started_at=at(minutes=60),
                    status="RUNNING")
    flow = offload.webhook_flow_series(db.conn, WINDOW, bucket_seconds=3600)
    # one hourly bucket: created I = 1, started H = 1, no finish inside [12:00, 13:00)
    assert flow[["workspace", "created", "started", "succeeded", "failed"]].values.tolist() == [["ws-b", 1, 1, 0, 0]]
    backlog = offload.webhook_backlog_at_start(db.conn, WINDOW)
    # H was open at 12:00 (finishes 13:00 >= start) but its start at 12:00 is not before the start: queued, not running
    assert keyed(backlog, ["workspace", "provider"], ["queued", "running"]) == {("ws-b", "CRM"): (1, 0)}


def test_backlog_counts_events_open_at_the_start(db):
    plant_webhooks(db)
    backlog = offload.webhook_backlog_at_start(db.conn, WINDOW)
    # A (finishes 12:05) and B (finishes exactly 12:00) were open before 12:00, both started; C was done
    assert keyed(backlog, ["workspace", "provider"], ["queued", "running"]) == {("ws-a", "INBOXXIA"): (2, 2)}
    assert offload.webhook_backlog_at_start(db.conn, Window(WINDOW.start, WINDOW.end, workspaces=("ws-b",))).empty


def test_depth_is_backlog_plus_arrivals_minus_finishes(db):
    plant_webhooks(db)
    flow = offload.webhook_flow_series(db.conn, WINDOW, bucket_seconds=1800)
    backlog = offload.webhook_backlog_at_start(db.conn, WINDOW)
    depth = queue_depth_series(flow, backlog, start=WINDOW.start, end=WINDOW.end, bucket_seconds=1800)
    # 12:30: 2 open + 3 created (D, E, F) - 2 finished (A, B) = 3 (D, E, F); running 2 + 1 (E) - 2 = 1 (E)
    # 13:00: 3 - 1 failed (E) = 2 (D, F); running 1 - 1 = 0
    assert depth[["queued", "running", "pending"]].values.tolist() == [[3, 1, 2], [2, 0, 2]]
    assert list(depth["bucket_end"]) == [pd.Timestamp(at(minutes=30)), pd.Timestamp(at(minutes=60))]
    grouped = queue_depth_series(flow, backlog, start=WINDOW.start, end=WINDOW.end, bucket_seconds=1800,
                                 by=("workspace", "provider"))
    series = {k: [] for k in [("ws-a", "INBOXXIA"), ("ws-b", "CRM"), (None, "INBOXXIA")]}
    for record in grouped.to_dict("records"):
        key = (None if pd.isna(record["workspace"]) else record["workspace"], record["provider"])
        series[key].append((record["queued"], record["running"]))
    assert series == {("ws-a", "INBOXXIA"): [(0, 0), (0, 0)],  # 2 open - 2 finished
                      ("ws-b", "CRM"): [(2, 1), (1, 0)],  # D, E; E started; then E failed
                      (None, "INBOXXIA"): [(1, 0), (1, 0)]}  # F waits


def test_oldest_due_is_pending_with_run_at_before_the_end(db):
    plant_webhooks(db)
    due = offload.webhook_oldest_due(db.conn, WINDOW)
    # D due since 12:00 (ws-b), F since 12:30 (unresolved); G's runAt 13:00 is the end: not yet due
    assert keyed(due, ["workspace", "provider"], ["due", "oldest_due_run_at"]) == {
        ("ws-b", "CRM"): (1, pd.Timestamp(at())), (None, "INBOXXIA"): (1, pd.Timestamp(at(minutes=30)))}
    earlier = offload.webhook_oldest_due(db.conn, Window(WINDOW.start, at(minutes=30)))
    assert keyed(earlier, ["workspace", "provider"], ["due"]) == {("ws-b", "CRM"): (1,)}  # F at the end: out
    only_b = offload.webhook_oldest_due(db.conn, Window(WINDOW.start, WINDOW.end, workspaces=("ws-b",)))
    assert keyed(only_b, ["workspace", "provider"], ["due"]) == {("ws-b", "CRM"): (1,)}


def test_retries_by_status_created_in_the_window(db):
    plant_webhooks(db)
    retries = offload.webhook_retries(db.conn, WINDOW)
    # created in [12:00, 13:00): D (0 attempts), E (3, retried), F (2, retried); G at 13:00 out
    expected = {("ws-b", "CRM", "PENDING"): (1, 0, 0), ("ws-b", "CRM", "FAILED"): (1, 3, 1),
                (None, "INBOXXIA", "PENDING"): (1, 2, 1)}
    assert keyed(retries, ["workspace", "provider", "status"], ["events", "attempts_sum", "retried"]) == expected
    only_a = offload.webhook_retries(db.conn, Window(WINDOW.start, WINDOW.end, workspaces=("ws-a",)))
    assert only_a.empty  # ws-a's events were all created before the window


def test_function_runs_ignore_the_workspace_filter_and_ratios_need_enough_runs(db):
    for i in range(10):  # 12:00 (the start: in) .. 12:09, two failed
        db.seed.function_run(function="cron-a", started=at(minutes=i), status="FAILED" if i < 2 else "SUCCEEDED")
    for i in range(3):
        db.seed.function_run(function="cron-b", started=at(minutes=i), status="FAILED")
    db.seed.function_run(function="cron-b", started=at(minutes=30), status="RUNNING")
    db.seed.function_run(function="cron-a", started=at(minutes=60), status="FAILED")  # at end: out
    db.seed.function_run(function="cron-a", started=at(minutes=-1), status="FAILED")  # before start: out
    runs = offload.function_run_series(db.conn, Window(at(), at(minutes=60), workspaces=("ws-x",)),
                                       bucket_seconds=3600)
    assert runs[["function", "runs", "succeeded", "failed", "running"]].values.tolist() == [
        ["cron-a", 10, 8, 2, 0], ["cron-b", 4, 0, 3, 1]]
    assert "workspace filter does not apply" in offload.function_run_series.describes
    assert worst_failure_ratios(runs) == [pytest.approx(0.2)]  # cron-b's 4 runs are too few to count


def test_background_jobs_by_workspace_type_and_status(db):
    for minutes, status in ((0, "SUCCEEDED"), (20, "SUCCEEDED"), (30, "FAILED"), (60, "FAILED"), (-1, "FAILED")):
        db.seed.job("ws-a", run_at=at(minutes=minutes), status=status)  # 13:00 and 11:59 are out
    db.seed.job("ws-a", run_at=at(minutes=59), status="PENDING", type="CONVERSATION_SYNC")
    db.seed.job("ws-b", run_at=at(minutes=10), status="SUCCEEDED")
    jobs = offload.background_job_status(db.conn, WINDOW)
    assert keyed(jobs, ["workspace", "type", "status"], ["jobs"]) == {
        ("ws-a", "AI_AUTO_SEND_DELAYED", "SUCCEEDED"): (2,), ("ws-a", "AI_AUTO_SEND_DELAYED", "FAILED"): (1,),
        ("ws-a", "CONVERSATION_SYNC", "PENDING"): (1,), ("ws-b", "AI_AUTO_SEND_DELAYED", "SUCCEEDED"): (1,)}
    only_b = offload.background_job_status(db.conn, Window(WINDOW.start, WINDOW.end, workspaces=("ws-b",)))
    assert only_b[["workspace", "jobs"]].values.tolist() == [["ws-b", 1]]
