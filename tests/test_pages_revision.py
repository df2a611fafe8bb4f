"""The auto-send revision page (AppTest, both backends): tiles and latency percentiles worked out from
planted rows, the at-most-once check both ways, the workspace filter, empty and database-down states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.pages_support import (
    chart_titles,
    errors,
    infos,
    markdown,
    metrics,
    open_down,
    open_page,
    subheaders,
    successes,
)

PAGE = "pages/revision.py"
NOW = datetime.now(UTC)
HOUR_AGO, DAY_AND_A_HALF_AGO = NOW - timedelta(hours=1), NOW - timedelta(hours=30)


def revised(seed, ws: str, when: datetime, original: float, revision: float, *, applied: bool,
            channel: str = "email", iterations: int = 0) -> str:
    return seed.draft(ws, when=when, action="needs_review", confidence=revision, channel=channel,
                      revision_attempted_at=when, original_confidence=original, revision_confidence=revision,
                      revision_applied=applied, iterations=iterations)


def plant(seed) -> list[str]:
    """ws-a, last 24 h: 0.60 -> 0.80 applied (email, 2 iterations), 0.70 -> 0.95 applied (sms, 0),
    0.50 -> 0.55 not applied (email); the 24 h before: one not applied 0.40 -> 0.40. ws-b: nothing.
    Three auto_send.revise calls in the last 24 h at 100, 700 and 1200 ms."""
    seed.workspace("ws-a", name="Alpha", settings={"autoSendRevisionEnabled": True})
    seed.workspace("ws-b", name="Bravo", settings={})
    ids = [revised(seed, "ws-a", HOUR_AGO, 0.60, 0.80, applied=True, iterations=2),
           revised(seed, "ws-a", HOUR_AGO - timedelta(minutes=5), 0.70, 0.95, applied=True, channel="sms"),
           revised(seed, "ws-a", HOUR_AGO - timedelta(minutes=10), 0.50, 0.55, applied=False)]
    revised(seed, "ws-a", DAY_AND_A_HALF_AGO, 0.40, 0.40, applied=False)
    for ms in (100, 700, 1200):
        seed.interaction("ws-a", when=HOUR_AGO, feature="auto_send.revise", latency_ms=ms)
    return ids


def test_tiles_are_this_window_against_the_previous_one(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert not errors(app)
    tiles = metrics(app)
    assert tiles["Attempted"] == "3"
    assert tiles["Applied"] == "2"
    assert tiles["Applied rate"] == "66.7%"  # 2 / 3
    assert tiles["Mean confidence delta"] == "0.167"  # (0.20 + 0.25 + 0.05) / 3
    deltas = {m.label: m.proto.delta for m in app.metric}
    assert deltas["Attempted"] == "+2 vs previous window"  # 3 - 1
    assert deltas["Applied rate"] == "+66.7 pp vs previous window"  # 66.7% - 0%


def test_sections_charts_and_the_sample_ids(db, monkeypatch):
    ids = plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert subheaders(app)[:6] == ["At-most-once invariant", "Revisions over time",
                                   "Confidence before and after revision", "By channel and by campaign",
                                   "Revise-call latency", "Drafts to sample upstream"]
    assert chart_titles(app) == ["Revisions attempted and applied", "Applied rate over time",
                                 "Original → revision confidence (drafts)", "Iterations of applied revisions",
                                 "Revise calls per 500 ms latency bucket"]
    by_channel = app.dataframe[0].value.set_index("channel")
    assert by_channel.loc["email", "attempted"] == 2 and by_channel.loc["email", "applied"] == 1
    sample = app.dataframe[-1].value
    assert sorted(sample["draft_id"]) == sorted(ids)
    assert set(sample["workspace"]) == {"Alpha"}
    assert list(sample.columns) == ["draft_id", "workspace", "channel", "attempted_at", "applied"]


def test_latency_percentiles_are_bucket_upper_edges(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    # 500 ms buckets: 100 -> [0, 500), 700 -> [500, 1000), 1200 -> [1000, 1500).
    # p50: 1.5 of 3 calls reached in the second bucket -> <= 1,000 ms; p95: 2.85 -> third -> <= 1,500 ms.
    line = next(m for m in markdown(app) if m.startswith("**This window:**"))
    assert "p50 ≤ 1,000 ms, p95 ≤ 1,500 ms (3 calls)" in line
    assert "**previous window:** no calls (0 calls)" in line


def test_the_invariant_is_green_without_violations_and_red_with_a_double_loop(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert any(text.startswith("0 violations") for text in successes(app)), successes(app)
    for minutes in (20, 40):  # the same draft looped twice: breaks at-most-once
        db.seed.interaction("ws-a", when=HOUR_AGO - timedelta(minutes=minutes), feature="auto_send.revision_loop",
                            metadata={"draftId": "draft-twice", "channel": "email", "stopReason": "exhausted"})
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    red = [e for e in errors(app) if "violation" in e]
    assert red and red[0].startswith("1 violation(s): 1 draft(s) with more than one revision loop"), red


def test_workspace_filter_changes_the_tiles(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    app.multiselect(key="cw_filter_workspaces").set_value(["ws-b"]).run()
    assert not app.exception, app.exception
    assert metrics(app)["Attempted"] == "0"
    assert metrics(app)["Applied rate"] == "no data"


def test_an_empty_window_says_so(db, monkeypatch):
    db.seed.workspace("ws-a", name="Alpha", settings={})
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert not errors(app)
    shown = infos(app)
    assert any(text.startswith("No revision attempts in this window") for text in shown), shown
    assert any(text.startswith("No revise calls with a latency in this window") for text in shown), shown
    assert any(text.startswith("0 violations") for text in successes(app))


def test_a_database_that_is_down_gives_sentences_not_a_traceback(monkeypatch):
    app = open_down(PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert app.title[0].value == "Auto-send revision"
    shown = errors(app)
    assert shown and all("unreachable" in text for text in shown), shown
