"""Follow-up booking queries (queries/booking.py): exact counts from a few planted rows, both backends.

WINDOW is [T0 - 2h, T0) = [10:00, 12:00) UTC; the series uses hourly buckets.
"""

import pandas as pd
import pytest

from demo.sentinels import PII_MARK
from queries import booking
from queries.filters import Window
from tests.seed import at

WINDOW = Window(at(hours=-2), at())
HOUR_10, HOUR_11 = at(hours=-2), at(hours=-1)


def table(frame: pd.DataFrame, keys: list[str], value: str) -> dict:
    def plain(v):
        return v.to_pydatetime() if isinstance(v, pd.Timestamp) else v
    return {tuple(plain(row[k]) for k in keys): row[value] for row in frame.to_dict("records")}


def workspaces(db) -> None:
    db.seed.workspace("ws-a")
    db.seed.workspace("ws-b")


# -- appointments ----------------------------------------------------------------------------------


def plant_appointments(db) -> None:
    workspaces(db)
    for minutes, source, status in [
        (-120, "AUTO_BOOK", "CONFIRMED"),  # at start: in
        (-90, "AUTO_BOOK", "CANCELED"),
        (-45, "AUTO_BOOK", "CONFIRMED"),
        (-40, "WEBHOOK", "CONFIRMED"),
        (-35, "RECONCILE_CRON", "SHOWED"),
        (0, "AUTO_BOOK", "CONFIRMED"),     # at end: out
        (-180, "AUTO_BOOK", "CONFIRMED"),  # before: out
    ]:
        db.seed.appointment("ws-a", when=at(minutes), source=source, status=status)
    db.seed.appointment("ws-b", when=at(-110), source="AUTO_BOOK", status="CONFIRMED")


def test_auto_book_series_counts_auto_book_appointments_by_status(db):
    plant_appointments(db)
    frame = booking.auto_book_series(db.conn, WINDOW, bucket_seconds=3600)
    assert list(frame.columns) == ["bucket", "workspace", "status", "bookings"]
    assert table(frame, ["bucket", "workspace", "status"], "bookings") == {
        (HOUR_10, "ws-a", "CONFIRMED"): 1,  # 10:00, exactly at start
        (HOUR_10, "ws-a", "CANCELED"): 1,
        (HOUR_11, "ws-a", "CONFIRMED"): 1,  # 11:15; WEBHOOK and RECONCILE_CRON are not AUTO_BOOK
        (HOUR_10, "ws-b", "CONFIRMED"): 1,
    }


def test_appointment_sources_count_every_source_and_respect_the_workspace_filter(db):
    plant_appointments(db)
    frame = booking.appointment_sources(db.conn, WINDOW)
    assert table(frame, ["workspace", "source"], "appointments") == {
        ("ws-a", "AUTO_BOOK"): 3, ("ws-a", "WEBHOOK"): 1, ("ws-a", "RECONCILE_CRON"): 1, ("ws-b", "AUTO_BOOK"): 1,
    }
    only_b = booking.appointment_sources(db.conn, WINDOW.with_workspaces(["ws-b"]))
    assert table(only_b, ["workspace", "source"], "appointments") == {("ws-b", "AUTO_BOOK"): 1}


# -- booking gate and parse calls ------------------------------------------------------------------


def gate(decision, confidence=None) -> dict:
    inner = {"scenario": "accept_offered", "retryCount": 0, "decision": decision, "issuesCount": 0}
    if confidence is not None:
        inner["confidence"] = confidence
    return {"bookingGate": inner}


def plant_gate_calls(db) -> None:
    workspaces(db)
    key = "followup.booking.gate.v1"
    calls = [  # (minutes, status, metadata, promptKey)
        (-115, "error", None, key),
        (-114, "success", gate("approve", 0.8), f"{key}.retry1"),
        (-90, "success", gate("Approve", 0.7), key),
        (-60, "success", gate("needs_clarification", 0.55), key),
        (-50, "success", gate("deny"), key),                      # no confidence
        (-30, "success", gate("escalate", 0.4), f"{key}.retry2"),  # unknown code
        (0, "success", gate("deny", 0.1), key),                   # at end: out
    ]
    for minutes, status, meta, prompt in calls:
        db.seed.interaction("ws-a", when=at(minutes), feature="followup.booking.gate", metadata=meta,
                            status=status, prompt_key=prompt)
    db.seed.interaction("ws-a", when=at(-20), feature="followup.parse_proposed_times",
                        metadata=gate("approve", 0.9))  # another feature: not counted
    db.seed.interaction("ws-b", when=at(-10), feature="followup.booking.gate", metadata=gate("approve", 0.9))


def test_booking_gate_calls_group_by_decision_and_status_with_retries(db):
    plant_gate_calls(db)
    frame = booking.booking_gate_calls(db.conn, WINDOW)
    assert list(frame.columns) == ["workspace", "decision", "status", "calls", "retries", "confidence_sum", "scored"]
    got = {(r["workspace"], r["decision"], r["status"]): (r["calls"], r["retries"], r["confidence_sum"], r["scored"])
           for r in frame.to_dict("records")}
    assert got == {
        ("ws-a", "none", "error"): (1, 0, 0, 0),                          # no metadata
        ("ws-a", "approve", "success"): (2, 1, pytest.approx(0.8 + 0.7), 2),  # .retry1 + "Approve"
        ("ws-a", "needs_clarification", "success"): (1, 0, pytest.approx(0.55), 1),
        ("ws-a", "deny", "success"): (1, 0, 0, 0),
        ("ws-a", "other", "success"): (1, 1, pytest.approx(0.4), 1),     # .retry2
        ("ws-b", "approve", "success"): (1, 0, pytest.approx(0.9), 1),
    }


def parse(confidence=None, times=None, tz=None) -> dict:
    inner = {}
    if confidence is not None:
        inner["confidence"] = confidence
    if times is not None:
        inner["proposedTimesCount"] = times
    if tz is not None:
        inner["needsTimezoneClarification"] = tz
    return {"followupParse": inner}


def test_followup_parse_calls_sum_times_confidence_and_true_timezone_flags(db):
    workspaces(db)
    feature = "followup.parse_proposed_times"
    key = f"{feature}.v2"
    for minutes, status, meta, prompt in [
        (-120, "success", parse(0.9, 2, False), key),   # at start
        (-100, "success", parse(0.6, 3, True), key),
        (-80, "error", None, key),
        (-79, "success", parse(None, 0, "true"), f"{key}.retry1"),  # the string "true" is not the flag
        (-30, "success", {**parse(0.75, 1, True), "leadContextBundle": {"profile": "followup_parse"}}, key),
        (0, "success", parse(0.5, 3, True), key),        # at end: out
    ]:
        db.seed.interaction("ws-a", when=at(minutes), feature=feature, metadata=meta, status=status, prompt_key=prompt)
    db.seed.interaction("ws-b", when=at(-10), feature=feature, metadata=parse(0.8, 1, True))
    frame = booking.followup_parse_calls(db.conn, WINDOW)
    got = {r.pop("workspace"): r for r in frame.to_dict("records")}
    assert got["ws-a"] == {
        "calls": 5, "parsed": 4,                  # the error row carries no followupParse
        "needs_timezone_clarification": 2,        # 11:40 and 10:20; "true" as a string does not count
        "proposed_times_sum": 2 + 3 + 0 + 1,
        "confidence_sum": pytest.approx(0.9 + 0.6 + 0.75),
        "scored": 3,
    }
    assert got["ws-b"]["needs_timezone_clarification"] == 1
    assert set(got) == {"ws-a", "ws-b"}


# -- follow-up tasks -------------------------------------------------------------------------------


def test_followup_task_traces_classify_campaign_names_without_returning_them(db):
    workspaces(db)
    for name, status in [
        ("Scheduled follow-up (auto)", "pending"),
        ("Scheduled follow-up (manual)", "completed"),
        ("Follow-up timing clarification (auto) #1", "pending"),
        ("Follow-up timing clarification (manual) #2", "pending"),
        ("Follow-up future-window deferral notice (auto)", "completed"),
        ("Follow-up future-window recontact (manual)", "pending"),
        ("call_requested", "pending"),
        ("lead_scheduler_link", "pending"),
        ("phone_enrichment", "skipped"),
        (None, "pending"),
        (f"{PII_MARK} a custom campaign", "pending"),
    ]:
        db.seed.task("ws-a", when=at(-60), campaign_name=name, status=status)
    db.seed.task("ws-a", when=at(-120), campaign_name="call_requested", status="completed")  # at start: in
    db.seed.task("ws-a", when=at(0), campaign_name="call_requested", status="pending")       # at end: out
    db.seed.task("ws-b", when=at(-60), campaign_name="phone_enrichment", status="pending")
    frame = booking.followup_task_traces(db.conn, WINDOW)
    assert list(frame.columns) == ["workspace", "trace", "status", "tasks"]
    assert table(frame, ["workspace", "trace", "status"], "tasks") == {
        ("ws-a", "scheduled_followup", "pending"): 1,
        ("ws-a", "scheduled_followup", "completed"): 1,
        ("ws-a", "timing_clarification", "pending"): 2,
        ("ws-a", "future_window_deferral", "completed"): 1,
        ("ws-a", "future_window_recontact", "pending"): 1,
        ("ws-a", "call_requested", "pending"): 1,
        ("ws-a", "call_requested", "completed"): 1,
        ("ws-a", "lead_scheduler_link", "pending"): 1,
        ("ws-a", "phone_enrichment", "skipped"): 1,
        ("ws-a", "other", "pending"): 2,  # no name, and a custom name
        ("ws-b", "phone_enrichment", "pending"): 1,
    }
    assert PII_MARK not in frame.to_csv(index=False)
