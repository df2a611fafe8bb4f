"""Auto-send decision queries (queries/drafts.py): exact counts from a few planted drafts, both backends.

WINDOW is [T0 - 1h, T0). Each test plants its own rows and works the expected numbers out beside them.
"""

import pytest

from demo.sentinels import PII_MARK
from queries import drafts
from queries.filters import Window
from tests.seed import at

WINDOW = Window(at(hours=-1), at())


def table(frame, keys, value):
    """{(key values...): value} for a result frame, so expectations read as small dicts."""
    return {tuple(row[k] for k in keys): row[value] for row in frame.to_dict("records")}


def two_workspaces(db):
    db.seed.workspace("ws-a")
    db.seed.workspace("ws-b")


# -- confidence histogram --------------------------------------------------------------------------


def test_confidence_histogram_counts_scored_drafts_and_skips_null_confidence(db):
    two_workspaces(db)
    for conf in (0.29, 0.29, 0.42, 0.95):
        db.seed.draft("ws-a", when=at(minutes=-30), action="needs_review", confidence=conf)
    db.seed.draft("ws-a", when=at(minutes=-30), action="skip", confidence=None, reason="missing_draft_content")
    db.seed.draft("ws-a", when=at(minutes=-30), action=None)  # never evaluated
    frame = drafts.confidence_histogram(db.conn, WINDOW)
    # width 0.05: 0.29 -> 5 (x2), 0.42 -> 8, 0.95 -> 19; the NULL-confidence skip is in no bucket
    assert table(frame, ["workspace", "bucket"], "drafts") == {("ws-a", 5): 2, ("ws-a", 8): 1, ("ws-a", 19): 1}
    assert table(frame, ["bucket"], "lower") == {(5,): 0.25, (8,): 0.4, (19,): 0.95}
    assert list(frame.columns) == ["workspace", "bucket", "lower", "drafts"]


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (0.01, {29: 1, 57: 1, 89: 1, 90: 1}),  # 0.29 -> 29 (not 28), 0.899 -> 89, 0.9 -> 90
        (0.001, {290: 1, 570: 1, 899: 1, 900: 1}),
        (0.05, {5: 1, 11: 1, 17: 1, 18: 1}),  # 0.29/0.05 = 5.8, 0.57 -> 11.4, 0.899 -> 17.98, 0.9 -> 18
    ],
)
def test_confidence_histogram_fine_widths_land_on_exact_buckets(db, width, expected):
    db.seed.workspace("ws-a")
    for conf in (0.29, 0.57, 0.899, 0.9):
        db.seed.draft("ws-a", when=at(minutes=-5), action="needs_review", confidence=conf)
    frame = drafts.confidence_histogram(db.conn, WINDOW, width=width)
    assert dict(zip(frame["bucket"], frame["drafts"], strict=True)) == expected
    if width == 0.01:
        assert dict(zip(frame["bucket"], frame["lower"], strict=True))[29] == 0.29


def test_confidence_histogram_rejects_a_width_that_does_not_divide_one(db):
    with pytest.raises(ValueError):
        drafts.confidence_histogram(db.conn, WINDOW, width=0.03)


def test_window_is_half_open_start_in_end_out(db):
    db.seed.workspace("ws-a")
    db.seed.draft("ws-a", when=at(hours=-1), action="send_immediate", confidence=0.95)  # == start: in
    db.seed.draft("ws-a", when=at(), action="send_immediate", confidence=0.97)  # == end: out
    db.seed.draft("ws-a", when=at(minutes=-61), action="send_immediate", confidence=0.99)  # before: out
    assert table(drafts.confidence_histogram(db.conn, WINDOW), ["bucket"], "drafts") == {(19,): 1}
    volume = drafts.evaluated_volume(db.conn, WINDOW)
    assert table(volume, ["workspace"], "evaluated") == {("ws-a",): 1}


def test_other_workspaces_are_never_counted(db):
    two_workspaces(db)
    db.seed.draft("ws-a", when=at(minutes=-10), action="needs_review", confidence=0.5)
    db.seed.draft("ws-b", when=at(minutes=-10), action="needs_review", confidence=0.5)
    db.seed.draft("ws-b", when=at(minutes=-10), action="skip")
    everyone = drafts.needs_review_series(db.conn, WINDOW, bucket_seconds=3600)
    assert table(everyone, ["workspace"], "evaluated") == {("ws-a",): 1, ("ws-b",): 2}
    only_a = WINDOW.with_workspaces(["ws-a"])
    for fn in (drafts.confidence_histogram, drafts.thresholds, drafts.needs_review_outcomes,
               drafts.channel_summary, drafts.evaluated_volume, drafts.action_mix_series):
        assert set(fn(db.conn, only_a)["workspace"]) == {"ws-a"}, fn.__name__


def test_channel_filter_keeps_only_that_channel(db):
    db.seed.workspace("ws-a")
    db.seed.draft("ws-a", when=at(minutes=-10), action="needs_review", confidence=0.5, channel="sms")
    db.seed.draft("ws-a", when=at(minutes=-10), action="needs_review", confidence=0.6, channel="email")
    db.seed.draft("ws-a", when=at(minutes=-10), action="skip", channel="email")
    sms = Window(WINDOW.start, WINDOW.end, channel="sms")
    assert table(drafts.evaluated_volume(db.conn, sms), ["workspace"], "evaluated") == {("ws-a",): 1}
    assert table(drafts.channel_summary(db.conn, sms), ["channel"], "evaluated") == {("sms",): 1}
    assert table(drafts.evaluated_volume(db.conn, WINDOW), ["workspace"], "evaluated") == {("ws-a",): 3}


# -- thresholds, action mix, needs_review --------------------------------------------------------------


def test_thresholds_count_drafts_per_threshold_in_use(db):
    db.seed.workspace("ws-a")
    for threshold in (0.9, 0.9, 0.8):
        db.seed.draft("ws-a", when=at(minutes=-10), action="send_delayed", confidence=0.95, threshold=threshold)
    db.seed.draft("ws-a", when=at(minutes=-10), action=None)  # unevaluated: no threshold
    frame = drafts.thresholds(db.conn, WINDOW)
    assert table(frame, ["workspace", "threshold"], "drafts") == {("ws-a", 0.8): 1, ("ws-a", 0.9): 2}


def plant_action_mix(db):
    db.seed.workspace("ws-a")
    for minutes, action in ((-60, "send_immediate"), (-50, "needs_review"), (-40, "needs_review"),
                            (-20, "skip"), (-10, "error")):
        db.seed.draft("ws-a", when=at(minutes=minutes), action=action, confidence=0.5)
    db.seed.draft("ws-a", when=at(minutes=-15), action=None)  # not evaluated: never in the mix


def test_action_mix_series_counts_actions_per_bucket(db):
    plant_action_mix(db)
    frame = drafts.action_mix_series(db.conn, WINDOW, bucket_seconds=1800)
    # 30-minute buckets from 11:00: [-60, -30) holds three drafts, [-30, 0) holds two
    first, second = at(minutes=-60), at(minutes=-30)
    assert table(frame, ["bucket", "workspace", "action"], "drafts") == {
        (first, "ws-a", "needs_review"): 2, (first, "ws-a", "send_immediate"): 1,
        (second, "ws-a", "error"): 1, (second, "ws-a", "skip"): 1,
    }


def test_action_mix_series_defaults_to_the_window_grain(db):
    plant_action_mix(db)
    frame = drafts.action_mix_series(db.conn, WINDOW)
    # a one-hour window defaults to 60 s buckets: each draft sits in its own minute
    assert sorted(frame["bucket"]) == [at(minutes=m) for m in (-60, -50, -40, -20, -10)]
    assert frame["drafts"].sum() == 5


def test_needs_review_series_counts_evaluated_and_needs_review(db):
    plant_action_mix(db)
    frame = drafts.needs_review_series(db.conn, WINDOW, bucket_seconds=1800)
    assert table(frame, ["bucket"], "evaluated") == {(at(minutes=-60),): 3, (at(minutes=-30),): 2}
    assert table(frame, ["bucket"], "needs_review") == {(at(minutes=-60),): 2, (at(minutes=-30),): 0}


def test_needs_review_outcomes_split_dispositions_and_null_by_status(db):
    db.seed.workspace("ws-a")
    nr = {"when": at(minutes=-10), "action": "needs_review", "confidence": 0.5}
    db.seed.draft("ws-a", **nr, disposition="APPROVED", status="approved")
    db.seed.draft("ws-a", **nr, disposition="EDITED", status="approved")
    db.seed.draft("ws-a", **nr, disposition="EDITED", status="approved")
    db.seed.draft("ws-a", **nr, disposition="AUTO_SENT", status="approved")
    db.seed.draft("ws-a", **nr, disposition=None, status="rejected")
    db.seed.draft("ws-a", **nr, disposition=None, status="pending")
    db.seed.draft("ws-a", **nr, disposition=None, status="sending")
    db.seed.draft("ws-a", when=at(minutes=-10), action="send_immediate", confidence=0.95, disposition="APPROVED")
    frame = drafts.needs_review_outcomes(db.conn, WINDOW)
    # 7 needs_review drafts: 1 approved, 2 edited, 1 auto_sent, NULL+rejected -> rejected, pending/sending -> open
    assert table(frame, ["workspace", "outcome"], "drafts") == {
        ("ws-a", "approved"): 1, ("ws-a", "edited"): 2, ("ws-a", "auto_sent"): 1,
        ("ws-a", "rejected"): 1, ("ws-a", "open"): 2,
    }


# -- channel summary, unscored reasons, volume -------------------------------------------------------


def test_channel_summary_sums_actions_and_confidence_per_channel(db):
    db.seed.workspace("ws-a")
    for action, conf in (("send_immediate", 0.95), ("send_delayed", 0.92), ("needs_review", 0.5), ("skip", None)):
        db.seed.draft("ws-a", when=at(minutes=-10), action=action, confidence=conf, channel="email")
    for action, conf in (("error", None), ("needs_review", 0.4)):
        db.seed.draft("ws-a", when=at(minutes=-10), action=action, confidence=conf, channel="sms")
    frame = drafts.channel_summary(db.conn, WINDOW).set_index("channel")
    email, sms = frame.loc["email"], frame.loc["sms"]
    counts = ["evaluated", "needs_review", "sends", "skips", "errors", "scored"]
    assert list(email[counts]) == [4, 1, 2, 1, 0, 3]
    assert email["confidence_sum"] == pytest.approx(0.95 + 0.92 + 0.5)  # 2.37
    assert email["confidence_sumsq"] == pytest.approx(0.95**2 + 0.92**2 + 0.5**2)  # 1.9989
    assert list(sms[counts]) == [2, 1, 0, 0, 1, 1]
    assert (sms["confidence_sum"], sms["confidence_sumsq"]) == (pytest.approx(0.4), pytest.approx(0.16))


def test_unscored_evaluations_map_reasons_to_codes_never_free_text(db):
    db.seed.workspace("ws-a")
    reasons = [
        "missing_draft_content", "missing_draft_content", "external_scheduler_link_manual_only",
        "call_requested_phone_on_file", "call_requested_phone_missing", "call_requested_sentiment",
        "post_ai_invariant_failed:calendar_link,price", "outside_schedule:weekend",
        "delayed_send_not_scheduled:no_slot", "scheduled_send_not_scheduled:x",
        "immediate_send_validation_failed:empty",
        "postXaiXinvariantXfailed:zz",  # '_' must not act as a LIKE wildcard: other
        None,  # the builder plants evaluator free text (a PII sentinel): other
    ]
    for reason in reasons:
        db.seed.draft("ws-a", when=at(minutes=-10), action="skip", confidence=None, reason=reason)
    db.seed.draft("ws-a", when=at(minutes=-10), action="needs_review", confidence=0.5, reason="missing_draft_content")
    frame = drafts.unscored_evaluations(db.conn, WINDOW)
    got = table(frame, ["reason_code"], "drafts")
    assert got == {
        ("missing_draft_content",): 2, ("external_scheduler_link_manual_only",): 1,
        ("call_requested_phone_on_file",): 1, ("call_requested_phone_missing",): 1,
        ("call_requested_sentiment",): 1, ("post_ai_invariant_failed",): 1, ("outside_schedule",): 1,
        ("delayed_send_not_scheduled",): 1, ("scheduled_send_not_scheduled",): 1,
        ("immediate_send_validation_failed",): 1, ("other",): 2,
    }
    assert PII_MARK not in frame.to_csv()


def test_evaluated_volume_counts_followup_task_drafts_like_others(db):
    two_workspaces(db)
    db.seed.draft("ws-a", when=at(minutes=-10), action="needs_review", confidence=0.6)
    db.seed.draft("ws-a", when=at(minutes=-10), action="send_immediate", confidence=0.9,
                  trigger_message_id="followup_task:task-1")
    db.seed.draft("ws-a", when=at(minutes=-10), action="skip", confidence=None,
                  trigger_message_id="followup_task:task-2")
    db.seed.draft("ws-b", when=at(minutes=-10), action="skip", confidence=None)
    frame = drafts.evaluated_volume(db.conn, WINDOW).set_index("workspace")
    # ws-a: 3 evaluated (two from follow-up tasks), 2 scored: 0.6 + 0.9 = 1.5, 0.36 + 0.81 = 1.17
    assert (frame.loc["ws-a", "evaluated"], frame.loc["ws-a", "scored"]) == (3, 2)
    assert frame.loc["ws-a", "confidence_sum"] == pytest.approx(1.5)
    assert frame.loc["ws-a", "confidence_sumsq"] == pytest.approx(1.17)
    # ws-b: one skip, nothing scored, sums read 0 (not NULL) so frames stay additive
    assert list(frame.loc["ws-b", ["evaluated", "scored", "confidence_sum", "confidence_sumsq"]]) == [1, 0, 0, 0]


def test_every_query_returns_an_empty_frame_with_its_columns_on_an_empty_window(db):
    db.seed.workspace("ws-a")
    frame = drafts.channel_summary(db.conn, WINDOW)
    assert frame.empty
    assert list(frame.columns) == ["workspace", "channel", "evaluated", "needs_review", "sends", "skips", "errors",
                                   "scored", "confidence_sum", "confidence_sumsq"]
    assert list(drafts.confidence_histogram(db.conn, WINDOW).columns) == ["workspace", "bucket", "lower", "drafts"]
