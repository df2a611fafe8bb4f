"""Overseer decision queries (queries/overseer.py): exact counts from a few planted rows, both backends.

WINDOW is [T0 - 2h, T0) = [10:00, 12:00) UTC; series use hourly buckets unless a test says otherwise.
"""

from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import select, update

from db import upstream as up
from queries import overseer
from queries.filters import Window
from tests.seed import at

WINDOW = Window(at(hours=-2), at())
HOUR_10, HOUR_11 = at(hours=-2), at(hours=-1)


def table(frame: pd.DataFrame, keys: list[str], value: str) -> dict:
    """{(key values...): value}, with timestamps as plain datetimes, so expectations read as small dicts."""
    def plain(v):
        return v.to_pydatetime() if isinstance(v, pd.Timestamp) else v
    return {tuple(plain(row[k]) for k in keys): row[value] for row in frame.to_dict("records")}


def drop_decision_key(db, oid: str) -> None:
    """Make the payload lack `decision` altogether (older or malformed rows), not hold JSON null."""
    mod = up.meeting_overseer_decision
    with db.backend.write.begin() as conn:
        payload = dict(conn.execute(select(mod.c.payload).where(mod.c.id == oid)).scalar_one())
        del payload["decision"]
        conn.execute(update(mod).where(mod.c.id == oid).values(payload=payload))


def plant_gate(db) -> None:
    db.seed.workspace("ws-a")
    db.seed.workspace("ws-b")
    gate = [  # (minutes from T0, decision, confidence)
        (-120, "revise", 0.1),     # exactly at start: in
        (-90, "Approve", 0.85),    # mixed case
        (-80, "approve", 0.95),
        (-70, "REVISE", 0.35),     # upper case
        (-30, None, None),         # JSON null decision, no confidence
        (-20, "escalate", 0.5),    # unexpected code
        (0, "approve", 0.9),       # exactly at end: out
        (-150, "approve", 0.9),    # before the window: out
    ]
    for minutes, decision, confidence in gate:
        db.seed.overseer("ws-a", when=at(minutes), stage="gate", decision=decision, confidence=confidence)
    missing = db.seed.overseer("ws-a", when=at(-15), stage="gate", decision="approve", confidence=0.29)
    drop_decision_key(db, missing)  # no decision key at all -> other
    db.seed.overseer("ws-b", when=at(-60), stage="gate", decision="approve", confidence=0.9)


def test_gate_series_normalises_case_and_counts_missing_or_unknown_as_other(db):
    plant_gate(db)
    frame = overseer.gate_decision_series(db.conn, WINDOW, bucket_seconds=3600)
    assert list(frame.columns) == ["bucket", "workspace", "decision", "decisions"]
    assert table(frame, ["bucket", "workspace", "decision"], "decisions") == {
        (HOUR_10, "ws-a", "approve"): 2,   # 10:30 "Approve", 10:40 "approve"
        (HOUR_10, "ws-a", "revise"): 2,    # 10:00 "revise" (at start), 10:50 "REVISE"
        (HOUR_11, "ws-a", "other"): 3,     # 11:30 null, 11:40 "escalate", 11:45 no key
        (HOUR_11, "ws-b", "approve"): 1,
    }


def test_gate_series_default_bucket_follows_the_window(db):
    plant_gate(db)
    frame = overseer.gate_decision_series(db.conn, WINDOW.with_workspaces(["ws-b"]))
    # a 2 h window gets 60 s buckets: the 11:00 ws-b row sits in the 11:00:00 minute bucket
    assert table(frame, ["bucket", "workspace", "decision"], "decisions") == {(at(-60), "ws-b", "approve"): 1}


def test_gate_series_workspace_filter_isolates_workspaces(db):
    plant_gate(db)
    frame = overseer.gate_decision_series(db.conn, WINDOW.with_workspaces(["ws-a"]), bucket_seconds=3600)
    assert set(frame["workspace"]) == {"ws-a"}
    assert frame["decisions"].sum() == 7  # 9 ws-a rows planted, minus the one at end and the one before


def test_gate_confidence_histogram_buckets_scored_rows_per_decision(db):
    plant_gate(db)
    frame = overseer.gate_confidence_histogram(db.conn, WINDOW)
    assert list(frame.columns) == ["workspace", "decision", "bucket", "lower", "decisions"]
    # width 0.1: 0.1 -> 1, 0.85 -> 8, 0.95 -> 9, 0.35 -> 3, 0.5 -> 5, 0.29 -> 2; the null-confidence row is left out
    assert table(frame, ["workspace", "decision", "bucket"], "decisions") == {
        ("ws-a", "revise", 1): 1, ("ws-a", "revise", 3): 1,
        ("ws-a", "approve", 8): 1, ("ws-a", "approve", 9): 1,
        ("ws-a", "other", 2): 1, ("ws-a", "other", 5): 1,
        ("ws-b", "approve", 9): 1,
    }
    assert table(frame, ["bucket"], "lower")[(8,)] == pytest.approx(0.8)


def test_gate_confidence_histogram_fine_width_keeps_0_29_in_bucket_29(db):
    plant_gate(db)
    frame = overseer.gate_confidence_histogram(db.conn, WINDOW.with_workspaces(["ws-a"]), width=0.01)
    assert table(frame, ["decision", "bucket"], "decisions")[("other", 29)] == 1


def plant_booking_gate(db) -> None:
    db.seed.workspace("ws-a")
    db.seed.workspace("ws-b")
    plant_booking_gate_rows(db)


def plant_booking_gate_rows(db) -> None:
    """Booking-gate rows at 10:15, 10:20, 11:10, 11:20, 11:25 and at end; an extract row; ws-b."""
    for minutes, decision, confidence in [
        (-105, "approve", 0.8), (-100, "Needs_Clarification", 0.6),
        (-50, "deny", 0.3), (-40, None, None), (-35, "maybe", 0.4),
        (0, "deny", 0.2),  # at end: out
    ]:
        db.seed.overseer("ws-a", when=at(minutes), stage="booking_gate", decision=decision, confidence=confidence)
    db.seed.overseer("ws-a", when=at(-45), stage="extract", confidence=0.7)
    db.seed.overseer("ws-b", when=at(-10), stage="booking_gate", decision="deny", confidence=0.9)


def test_booking_gate_series_counts_the_three_decisions_and_other(db):
    plant_booking_gate(db)
    frame = overseer.booking_gate_series(db.conn, WINDOW, bucket_seconds=3600)
    assert table(frame, ["bucket", "workspace", "decision"], "decisions") == {
        (HOUR_10, "ws-a", "approve"): 1,
        (HOUR_10, "ws-a", "needs_clarification"): 1,  # mixed case normalised
        (HOUR_11, "ws-a", "deny"): 1,
        (HOUR_11, "ws-a", "other"): 2,  # null decision and "maybe"
        (HOUR_11, "ws-b", "deny"): 1,
    }


def test_stage_volume_sums_confidence_over_scored_rows_only(db):
    plant_gate(db)
    plant_booking_gate_rows(db)
    frame = overseer.stage_volume(db.conn, WINDOW)
    assert list(frame.columns) == ["workspace", "stage", "decisions", "scored", "confidence_sum"]
    got = {(r["workspace"], r["stage"]): (r["decisions"], r["scored"], r["confidence_sum"])
           for r in frame.to_dict("records")}
    assert set(got) == {("ws-a", "gate"), ("ws-a", "booking_gate"), ("ws-a", "extract"), ("ws-b", "gate"),
                        ("ws-b", "booking_gate")}
    # gate ws-a in window: 7 rows, 6 with a confidence: 0.1 + 0.85 + 0.95 + 0.35 + 0.5 + 0.29 = 3.04
    assert got["ws-a", "gate"][:2] == (7, 6)
    assert got["ws-a", "gate"][2] == pytest.approx(3.04)
    # booking_gate ws-a: 5 rows, 4 scored: 0.8 + 0.6 + 0.3 + 0.4 = 2.1
    assert got["ws-a", "booking_gate"][:2] == (5, 4)
    assert got["ws-a", "booking_gate"][2] == pytest.approx(2.1)
    assert got["ws-a", "extract"] == (1, 1, pytest.approx(0.7))
    assert got["ws-b", "gate"] == (1, 1, pytest.approx(0.9))


def test_stage_volume_is_empty_for_an_empty_window(db):
    plant_gate(db)
    frame = overseer.stage_volume(db.conn, Window(datetime(2020, 1, 1), datetime(2020, 1, 2)))
    assert frame.empty
    assert list(frame.columns) == ["workspace", "stage", "decisions", "scored", "confidence_sum"]
