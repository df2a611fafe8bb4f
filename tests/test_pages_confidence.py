"""The auto-send confidence page (AppTest, both backends): tiles worked out from planted drafts, the
width toggle, the workspace filter, the empty window and a database that is down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.pages_support import chart_titles, errors, infos, metrics, open_down, open_page, subheaders, successes

PAGE = "pages/confidence.py"
NOW = datetime.now(UTC)
HOUR_AGO, DAY_AND_A_HALF_AGO = NOW - timedelta(hours=1), NOW - timedelta(hours=30)


def plant(seed) -> None:
    """ws-a in the last 24 h: needs_review 0.5, send_immediate 0.9, send_delayed 0.95 and a skip without a
    confidence (reason code missing_draft_content); the 24 h before: one needs_review at 0.4. ws-b: one
    send_immediate at 0.8 in the last 24 h."""
    seed.workspace("ws-a", name="Alpha", settings={})
    seed.workspace("ws-b", name="Bravo", settings={})
    seed.draft("ws-a", when=HOUR_AGO, action="needs_review", confidence=0.5, disposition="EDITED", status="approved")
    seed.draft("ws-a", when=HOUR_AGO, action="send_immediate", confidence=0.9)
    seed.draft("ws-a", when=HOUR_AGO, action="send_delayed", confidence=0.95, channel="sms")
    seed.draft("ws-a", when=HOUR_AGO, action="skip", confidence=None, reason="missing_draft_content")
    seed.draft("ws-a", when=DAY_AND_A_HALF_AGO, action="needs_review", confidence=0.4)
    seed.draft("ws-b", when=HOUR_AGO, action="send_immediate", confidence=0.8, threshold=0.85)


def test_tiles_are_this_window_against_the_previous_one(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert not errors(app)
    tiles = metrics(app)
    assert tiles["Evaluated drafts"] == "5"  # 4 of ws-a (the skip is evaluated) + 1 of ws-b
    assert tiles["needs_review rate"] == "20.0%"  # 1 / 5
    # scored: 0.5 + 0.9 + 0.95 + 0.8 = 3.15 over 4 -> 0.7875
    assert tiles["Mean confidence"] == "0.787"
    assert tiles["Auto-sent share"] == "60.0%"  # send_immediate x2 + send_delayed = 3 / 5
    deltas = {m.label: m.proto.delta for m in app.metric}
    assert deltas["Evaluated drafts"] == "+4 vs previous window"  # 5 - 1
    assert deltas["needs_review rate"] == "-80.0 pp vs previous window"  # 20% - 100%
    assert deltas["Mean confidence"] == "+0.387 vs previous window"  # 0.7875 - 0.4


def test_every_section_and_chart_is_there(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert subheaders(app)[:5] == ["Confidence distribution", "Decisions over time", "What needs_review drafts became",
                                   "By channel", "Evaluations without a confidence, and why"]
    assert chart_titles(app) == [
        "Drafts per confidence bucket (0.05 wide)", "Share at or below each confidence, per workspace (ECDF)",
        "Auto-send decisions over time", "needs_review rate over time", "needs_review drafts by what became of them",
        "Evaluations without a confidence by reason code (1 in all)"]
    assert any("thresholds drafts were judged against (0.85, 0.9," in c.value for c in app.caption)
    channels = app.dataframe[0].value.set_index("channel")
    assert channels.loc["email", "evaluated"] == 4 and channels.loc["sms", "evaluated"] == 1
    assert channels.loc["email", "needs_review rate"] == pytest.approx(1 / 4)


def test_bucket_width_toggle_redraws_the_histogram_at_001(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    app.segmented_control(key="cw_conf_width").set_value("0.01").run()
    assert not app.exception, app.exception
    assert chart_titles(app)[0] == "Drafts per confidence bucket (0.01 wide)"


def test_workspace_filter_changes_the_tiles(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    app.multiselect(key="cw_filter_workspaces").set_value(["ws-b"]).run()
    assert not app.exception, app.exception
    tiles = metrics(app)
    assert tiles["Evaluated drafts"] == "1"
    assert tiles["needs_review rate"] == "0.0%"
    assert tiles["Mean confidence"] == "0.800"
    assert successes(app) == ["Every evaluation in this window had a confidence."]


def test_an_empty_window_says_so(db, monkeypatch):
    db.seed.workspace("ws-a", name="Alpha", settings={})
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert not errors(app)
    assert metrics(app)["needs_review rate"] == "no data"
    shown = infos(app)
    assert any(text.startswith("No drafts with a confidence in this window") for text in shown), shown
    assert any(text.startswith("No evaluated drafts in this window") for text in shown), shown
    assert not chart_titles(app)


def test_a_database_that_is_down_gives_sentences_not_a_traceback(monkeypatch):
    app = open_down(PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert app.title[0].value == "Auto-send confidence"
    shown = errors(app)
    assert shown and all("unreachable" in text for text in shown), shown
