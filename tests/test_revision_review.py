"""The post-launch review preset of the revision page, on both backends: the enabling change from the
audit log, the first 24 hours against the pre-rollout day worked out by hand, and an evenly spaced sample
of applied revisions listed by id and numbers only."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.revision_review import Side, enabling_changes, formatted, review_metrics, review_window
from demo.sentinels import PII_MARK
from queries import drafts, events, revision, revision_review
from queries.filters import Window
from tests.pages_support import all_text, open_page, subheaders, warnings
from tests.seed import at

LAUNCH = at()  # 2026-02-18 12:00 UTC: autoSendRevisionEnabled on for ws-a
FIELD = "autoSendRevisionEnabled"
EVERYTHING = Window(at(days=-30), at(days=30))


def plant(seed) -> dict[str, str]:
    """ws-a. Pre-rollout day [02-17 12:00, 02-18 12:00): 4 evaluated drafts, needs_review 0.50 and 0.60,
    send_immediate 0.95, send_delayed 0.91; one more needs_review at 02-17 11:00 (outside). First 24 h:
    r1..r5 applied revisions at +1..+5 h, r6 attempted but not applied at +6 h, one plain send at +7 h;
    4 auto_send.revise calls, 1 an error. ws-b: one applied revision at +2 h, and a launch on 02-15 12:00
    switched off again 5 hours later."""
    seed.workspace("ws-a", name="Alpha", settings={"autoSendRevisionEnabled": True})
    seed.workspace("ws-b", name="Bravo", settings={})
    seed.audit("ws-a", when=at(days=-10), field=FIELD, old="false", new="true")
    seed.audit("ws-a", when=at(days=-9), field=FIELD, old="true", new="false")
    seed.audit("ws-a", when=LAUNCH, field=FIELD, old="false", new="true")
    seed.audit("ws-a", when=at(hours=1), field="leadContextBundleEnabled", old="false", new="true")
    seed.audit("ws-b", when=at(days=-3), field=FIELD, old="false", new="true")
    seed.audit("ws-b", when=at(days=-3, hours=5), field=FIELD, old="true", new="false")
    for hours, action, confidence in ((-20, "needs_review", 0.50), (-15, "needs_review", 0.60),
                                      (-10, "send_immediate", 0.95), (-5, "send_delayed", 0.91),
                                      (-25, "needs_review", 0.10)):
        seed.draft("ws-a", when=at(hours=hours), action=action, confidence=confidence)
    ids = {}
    for name, hours, before, after, applied, action, final, channel in (
            ("r1", 1, 0.60, 0.92, True, "send_immediate", 0.92, "email"),
            ("r2", 2, 0.70, 0.95, True, "send_immediate", 0.95, "sms"),
            ("r3", 3, 0.50, 0.91, True, "send_delayed", 0.91, "email"),
            ("r4", 4, 0.80, 0.93, True, "send_immediate", 0.93, "linkedin"),
            ("r5", 5, 0.40, 0.60, True, "needs_review", 0.60, "email"),
            ("r6", 6, 0.55, 0.50, False, "needs_review", 0.55, "email")):
        when = at(hours=hours)
        ids[name] = seed.draft("ws-a", when=when, action=action, confidence=final, channel=channel,
                               revision_attempted_at=when, original_confidence=before, revision_confidence=after,
                               revision_applied=applied, iterations=1 if channel == "email" else 0)
    seed.draft("ws-a", when=at(hours=7), action="send_immediate", confidence=0.97)
    for hours in (1, 2, 3, 4):
        seed.interaction("ws-a", when=at(hours=hours), feature="auto_send.revise",
                         status="error" if hours == 4 else "success")
    ids["b1"] = seed.draft("ws-b", when=at(hours=2), action="send_immediate", confidence=0.9,
                           revision_attempted_at=at(hours=2), original_confidence=0.5, revision_confidence=0.9,
                           revision_applied=True, iterations=1)
    return ids


def side(db, start, end) -> Side:
    w = Window(start, end, ("ws-a",))
    return Side(revision.revision_series(db.conn, w), revision.revise_error_series(db.conn, w),
                drafts.channel_summary(db.conn, w))


def test_the_launch_is_each_workspace_latest_enabling_change_newest_first(db):
    plant(db.seed)
    changes = events.rollout_events(db.conn, EVERYTHING)
    enabled = enabling_changes(changes)
    assert list(enabled["workspace"]) == ["ws-a", "ws-b"]
    assert list(enabled["changed_at"]) == [pd.Timestamp(LAUNCH), pd.Timestamp(at(days=-3))]
    a = review_window(changes, "ws-a", LAUNCH)
    assert a.disabled_at is None  # the switch-off on 02-09 is before this launch
    assert a.before == (at(days=-1), LAUNCH) and a.after == (LAUNCH, at(days=1))
    assert review_window(changes, "ws-b", at(days=-3)).disabled_at == at(days=-3, hours=5)


def test_first_24_hours_against_the_pre_rollout_day(db):
    plant(db.seed)
    table = review_metrics(side(db, at(days=-1), LAUNCH), side(db, LAUNCH, at(days=1))).set_index("metric")
    row = table.loc
    assert row["Revisions attempted", ["pre_rollout_day", "first_24h"]].tolist() == [0, 6]
    assert row["Revisions applied", "first_24h"] == 5
    assert row["Applied rate (applied / attempted)", "first_24h"] == pytest.approx(5 / 6)
    assert pd.isna(row["Applied rate (applied / attempted)", "pre_rollout_day"])  # nothing attempted: no rate
    assert row["Mean confidence before revision", "first_24h"] == pytest.approx(3.55 / 6)
    assert row["Mean confidence after revision", "first_24h"] == pytest.approx(4.81 / 6)
    assert row["Mean confidence delta (after - before)", "first_24h"] == pytest.approx(1.26 / 6)
    assert row["Revise-call error rate", "first_24h"] == pytest.approx(1 / 4)
    assert row["Evaluated drafts", ["pre_rollout_day", "first_24h"]].tolist() == [4, 7]
    assert row["needs_review rate", "change"] == pytest.approx(2 / 7 - 2 / 4)
    assert row["Send rate (send_immediate + send_delayed)", "change"] == pytest.approx(5 / 7 - 2 / 4)
    assert row["Mean final auto-send confidence", "pre_rollout_day"] == pytest.approx(2.96 / 4)
    assert row["Mean final auto-send confidence", "first_24h"] == pytest.approx(5.83 / 7)
    shown = formatted(table.reset_index())
    assert shown.values.tolist() == EXPECTED_TABLE


EXPECTED_TABLE = [
    ["Revisions attempted", "0", "6", "+6"],
    ["Revisions applied", "0", "5", "+5"],
    ["Applied rate (applied / attempted)", "no data", "83.3%", "no data"],
    ["Mean confidence before revision", "no data", "0.592", "no data"],
    ["Mean confidence after revision", "no data", "0.802", "no data"],
    ["Mean confidence delta (after - before)", "no data", "0.210", "no data"],
    ["Revise calls", "0", "4", "+4"],
    ["Revise-call error rate", "no data", "25.0%", "no data"],
    ["Evaluated drafts", "4", "7", "+3"],
    ["needs_review rate", "50.0%", "28.6%", "-21.4 pp"],
    ["Send rate (send_immediate + send_delayed)", "50.0%", "71.4%", "+21.4 pp"],
    ["Mean final auto-send confidence", "0.740", "0.833", "+0.093"],
]


def test_the_sample_is_evenly_spaced_applied_revisions_by_id_and_numbers(db):
    ids = plant(db.seed)
    first_day = Window(LAUNCH, at(days=1), ("ws-a",))
    two = revision_review.applied_revision_sample(db.conn, first_day, size=2)
    # 5 applied (r6 was not): positions 0..4, kept where i * 2 mod 5 < 2: 0 (r1) and 3 (r4)
    assert list(two["draft_id"]) == [ids["r1"], ids["r4"]]
    assert list(two.columns) == ["draft_id", "workspace", "attempted_at", "channel", "confidence_before",
                                 "confidence_after"]
    assert two.iloc[1][["channel", "confidence_before", "confidence_after"]].tolist() == ["linkedin", 0.80, 0.93]
    assert two.iloc[0]["attempted_at"] == pd.Timestamp(at(hours=1))
    every = revision_review.applied_revision_sample(db.conn, first_day, size=10)
    assert list(every["draft_id"]) == [ids[n] for n in ("r1", "r2", "r3", "r4", "r5")]
    both = revision_review.applied_revision_sample(db.conn, Window(LAUNCH, at(days=1)), size=10)
    assert ids["b1"] in set(both["draft_id"]) and len(both) == 6
    assert PII_MARK not in every.to_csv()
    with pytest.raises(ValueError, match="between 1 and 200"):
        revision_review.applied_revision_sample(db.conn, first_day, size=0)


def test_revision_page_preset_shows_the_review_and_sets_the_window(db, monkeypatch):
    ids = plant(db.seed)
    app = open_page(db.backend.url, "pages/revision.py", monkeypatch)
    assert not app.exception, app.exception
    assert "Post-launch review" not in subheaders(app)  # off until asked for
    app.toggle(key="cw_revision_review").set_value(True).run()
    assert not app.exception, app.exception
    assert subheaders(app)[0] == "Post-launch review"
    assert app.selectbox(key="cw_review_workspace").value == "ws-a"
    assert app.dataframe[0].value.values.tolist() == EXPECTED_TABLE
    assert list(app.dataframe[1].value["draft_id"]) == [ids[n] for n in ("r1", "r2", "r3", "r4", "r5")]
    assert set(app.dataframe[1].value["workspace"]) == {"Alpha"}
    tiles = {m.label: (m.value, m.proto.delta) for m in app.metric}
    assert tiles["Attempted"] == ("6", "+6 vs previous window")  # the page now shows the first 24 h vs the day before
    app.number_input(key="cw_review_size").set_value(2).run()
    assert list(app.dataframe[1].value["draft_id"]) == [ids["r1"], ids["r4"]]
    assert not warnings(app)
    app.selectbox(key="cw_review_workspace").set_value("ws-b").run()
    assert any("switched off again at 2026-02-15 17:00:00 UTC" in w for w in warnings(app))
    assert PII_MARK not in all_text(app)
