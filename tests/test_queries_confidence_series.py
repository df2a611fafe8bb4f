"""queries/drafts.py confidence_series: scored drafts and exact confidence sums per time bucket, from a few
planted drafts on both backends (WINDOW is [T0 - 1h, T0), 30-minute buckets from T0 - 1h)."""

import pytest

from queries import drafts
from queries.filters import Window
from tests.seed import at

WINDOW = Window(at(hours=-1), at())


def plant(db):
    db.seed.workspace("ws-a")
    db.seed.workspace("ws-b")
    for minutes, action, conf in ((-55, "needs_review", 0.5), (-50, "send_immediate", 0.75),
                                  (-40, "skip", None),  # evaluated, unscored: in no sum
                                  (-20, "send_delayed", 0.9), (-10, "needs_review", 0.95)):
        db.seed.draft("ws-a", when=at(minutes=minutes), action=action, confidence=conf)
    db.seed.draft("ws-a", when=at(minutes=-25), action=None, confidence=0.3)  # never evaluated
    db.seed.draft("ws-a", when=at(minutes=-61), action="needs_review", confidence=0.1)  # before the window
    db.seed.draft("ws-a", when=at(), action="needs_review", confidence=0.2)  # at its end: out (half-open)
    db.seed.draft("ws-b", when=at(minutes=-45), action="needs_review", confidence=0.6, channel="sms")


def cells(frame):
    return {(row["bucket"], row["workspace"]): (row["scored"], row["confidence_sum"], row["confidence_sumsq"])
            for row in frame.to_dict("records")}


def test_confidence_series_sums_scored_drafts_per_bucket_and_workspace(db):
    plant(db)
    frame = drafts.confidence_series(db.conn, WINDOW, bucket_seconds=1800)
    assert list(frame.columns) == ["bucket", "workspace", "scored", "confidence_sum", "confidence_sumsq"]
    first, second = at(minutes=-60), at(minutes=-30)
    got = cells(frame)
    assert set(got) == {(first, "ws-a"), (first, "ws-b"), (second, "ws-a")}
    # ws-a [-60, -30): 0.5 + 0.75 = 1.25, 0.25 + 0.5625 = 0.8125; [-30, 0): 0.9 + 0.95 = 1.85, 0.81 + 0.9025
    assert got[(first, "ws-a")] == (2, pytest.approx(1.25), pytest.approx(0.8125))
    assert got[(second, "ws-a")] == (2, pytest.approx(1.85), pytest.approx(1.7125))
    assert got[(first, "ws-b")] == (1, pytest.approx(0.6), pytest.approx(0.36))


def test_confidence_series_keeps_the_window_workspaces_and_channel(db):
    plant(db)
    only_b = drafts.confidence_series(db.conn, WINDOW.with_workspaces(["ws-b"]), bucket_seconds=3600)
    assert cells(only_b) == {(at(minutes=-60), "ws-b"): (1, pytest.approx(0.6), pytest.approx(0.36))}
    sms = drafts.confidence_series(db.conn, Window(WINDOW.start, WINDOW.end, channel="sms"), bucket_seconds=3600)
    assert list(sms["workspace"]) == ["ws-b"]
    # one hourly bucket: the four scored ws-a drafts add up to the evaluated_volume totals
    hourly = cells(drafts.confidence_series(db.conn, WINDOW.with_workspaces(["ws-a"]), bucket_seconds=3600))
    volume = drafts.evaluated_volume(db.conn, WINDOW.with_workspaces(["ws-a"])).iloc[0]
    assert hourly[(at(minutes=-60), "ws-a")] == (volume["scored"], pytest.approx(volume["confidence_sum"]),
                                                 pytest.approx(volume["confidence_sumsq"]))
    assert volume["scored"] == 4
