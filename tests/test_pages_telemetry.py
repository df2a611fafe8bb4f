"""Telemetry hygiene page (AppTest, both backends): flagged keys by name and count, never values."""

from __future__ import annotations

import pytest

from demo.rows import bundle_metadata
from tests.pages_support import (
    ago,
    all_text,
    chart_titles,
    choose_workspaces,
    errors,
    infos,
    metrics,
    open_down,
    open_page,
    reset_caches,
    successes,
)

PAGE = "pages/telemetry.py"
LEAKED = "prompt excerpt that must never be shown " * 3  # 120 characters under an undocumented key


@pytest.fixture(autouse=True)
def _fresh_caches():
    yield
    reset_caches()


@pytest.fixture
def planted(db):
    """Alpha: a clean evaluator call and a call with two undocumented keys, one holding a long string.
    Beta: a clean evaluator call."""
    s = db.seed
    s.workspace("ws-a", name="Alpha", settings={})
    s.workspace("ws-b", name="Beta", settings={})
    clean = {"leadContextBundle": bundle_metadata("auto_send_evaluator", memory=(600, 300, 1, 1, 0, 100))}
    s.interaction("ws-a", when=ago(hours=1), feature="auto_send.evaluate", metadata=clean)
    s.interaction("ws-a", when=ago(hours=2), feature="followup.extract_timing",
                  metadata={"promptPreview": LEAKED, "timingBucket": "soon"})
    s.interaction("ws-b", when=ago(hours=1), feature="auto_send.evaluate", metadata=clean)
    return db


def test_telemetry_page_flags_undocumented_keys_and_long_strings_without_values(planted, monkeypatch):
    app = open_page(planted.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert app.title[0].value == "Telemetry hygiene"
    tiles = metrics(app)
    assert tiles["FeatureIds with metadata"] == "2"
    assert tiles["Flagged feature/key pairs"] == "2"  # promptPreview and timingBucket
    assert tiles["Undocumented key rows"] == "2"  # one row holding each
    assert tiles["Long string values"] == "1"  # promptPreview (120 > 24 characters); "soon" is short
    flagged = app.dataframe[0].value.set_index("key")
    assert flagged.loc["promptPreview", "flag"] == "undocumented key, long string values"
    assert flagged.loc["timingBucket", "flag"] == "undocumented key"
    assert chart_titles(app) == ["Top-level key occurrences per featureId: documented, undocumented, long strings"]
    text = all_text(app)
    assert "prompt excerpt" not in text and "soon" not in text  # key names and counts only


def test_telemetry_workspace_filter_changes_the_verdict(planted, monkeypatch):
    app = choose_workspaces(open_page(planted.backend.url, PAGE, monkeypatch), ["ws-b"])
    assert not app.exception
    assert metrics(app)["Flagged feature/key pairs"] == "0"
    assert any(s.startswith("Every key seen is documented") for s in successes(app))


def test_telemetry_page_in_an_empty_window_says_so(db, monkeypatch):
    db.seed.workspace("ws-a", name="Alpha", settings={})
    db.seed.interaction("ws-a", when=ago(hours=1), feature="followup.extract_timing", metadata=None)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception and not errors(app)
    assert metrics(app)["FeatureIds with metadata"] == "0"
    assert any(i.startswith("No model calls with metadata in this window") for i in infos(app))
    summary = app.dataframe[0].value.set_index("feature_id")  # the call without metadata is still counted
    assert summary.loc["followup.extract_timing", "without_metadata"] == 1


def test_telemetry_page_with_the_database_down_says_so(monkeypatch):
    page = open_down(PAGE, monkeypatch)
    assert not page.exception
    assert any("unreachable" in e for e in errors(page))
