"""Lead context bundle page (AppTest, both backends): truncation, budgets, coverage where effective, states."""

from __future__ import annotations

import pytest

from demo.rows import bundle_metadata
from tests.pages_support import (
    ago,
    chart_titles,
    choose_workspaces,
    errors,
    infos,
    metrics,
    open_down,
    open_page,
    reset_caches,
)

PAGE = "pages/bundle.py"
BUDGETS = {"draft": {"knowledge": {"maxTokens": 2000}}}  # over the default 4000


@pytest.fixture(autouse=True)
def _fresh_caches(monkeypatch):
    monkeypatch.delenv("LEAD_CONTEXT_BUNDLE_DISABLED", raising=False)
    monkeypatch.delenv("CANARYWATCH_UPSTREAM_ENV_FILE", raising=False)
    yield
    reset_caches()


@pytest.fixture
def planted(db):
    """Alpha (bundle on, budgets set): a truncated draft call (1000 knowledge tokens), an untruncated evaluator
    call, and a draft call without bundle stats (the silent fallback). Beta (bundle off): a call without stats."""
    s = db.seed
    s.workspace("ws-a", name="Alpha", settings={"leadContextBundleEnabled": True, "leadContextBundleBudgets": BUDGETS})
    s.workspace("ws-b", name="Beta", settings={})
    draft = bundle_metadata("draft", knowledge=(2000, 1200, 5, 4, 1, 1000), memory=(1200, 400, 3, 3, 0, 300))
    evaluator = bundle_metadata("auto_send_evaluator", knowledge=(8000, 1600, 2, 2, 0, 3000))
    s.interaction("ws-a", when=ago(hours=1), feature="draft.generate.email", metadata={"leadContextBundle": draft})
    s.interaction("ws-a", when=ago(hours=2), feature="auto_send.evaluate", metadata={"leadContextBundle": evaluator})
    s.interaction("ws-a", when=ago(hours=3), feature="draft.generate.sms", metadata=None)
    s.interaction("ws-b", when=ago(hours=1), feature="draft.generate.email", metadata=None)
    return db


def test_bundle_page_shows_truncation_budgets_and_silent_fallbacks(planted, monkeypatch):
    app = open_page(planted.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert app.title[0].value == "Lead context bundle"
    tiles = metrics(app)
    assert tiles["Calls with bundle stats"] == "2"
    assert tiles["Truncation rate"] == "50.0%"  # 1 truncated of 2
    assert tiles["Silent fallbacks"] == "1"  # Alpha's sms call; Beta is not counted (bundle off there)
    assert tiles["Fallback share"] == "33.3%"  # 1 of Alpha's 3 bundle-expected calls
    assert chart_titles(app) == [
        "Truncation rate over time by profile", "Included vs total assets and memory entries by profile",
        "Mean estimated tokens per call against the configured budget",
        "Share of calls missing bundle stats where the bundle is in effect",
    ]
    use = app.dataframe[0].value.set_index(["profile", "section"])
    assert use.loc[("draft", "knowledge"), "budget"] == 2000  # the workspace JSON over the default 4000
    assert use.loc[("draft", "knowledge"), "share_of_budget"] == pytest.approx(1000 / 2000)
    assert use.loc[("draft", "memory"), "budget"] == 1200  # default: the JSON does not set it
    assert use.loc[("auto_send_evaluator", "knowledge"), "budget"] == 8000
    coverage = app.dataframe[1].value
    assert set(coverage["workspace_name"]) == {"Alpha"}
    generate = coverage.set_index("feature_group").loc["draft.generate"]
    assert (generate["calls"], generate["with_bundle"], generate["missing"]) == (2, 1, 1)
    assert any("only trace of upstream's silent fallback path" in c.value for c in app.caption)
    assert not errors(app)


def test_bundle_page_counts_coverage_from_the_toggle_change_in_the_audit_log(planted, monkeypatch):
    planted.seed.audit("ws-a", when=ago(hours=2, minutes=30), field="leadContextBundleEnabled", old="false",
                       new="true")
    app = open_page(planted.backend.url, PAGE, monkeypatch)
    assert not app.exception
    # the fallback call 3 hours ago came before the bundle was switched on: not a silent fallback
    assert metrics(app)["Silent fallbacks"] == "0"
    assert metrics(app)["Fallback share"] == "0.0%"  # 0 of the 2 calls made since


def test_bundle_page_with_the_kill_switch_engaged_expects_no_bundle(planted, monkeypatch):
    monkeypatch.setenv("LEAD_CONTEXT_BUNDLE_DISABLED", "yes")
    app = open_page(planted.backend.url, PAGE, monkeypatch)
    assert not app.exception
    assert metrics(app)["Silent fallbacks"] == "no data"
    assert any(i.startswith("The bundle is in effect for none of the chosen workspaces") for i in infos(app))


def test_bundle_workspace_filter_changes_the_tiles(planted, monkeypatch):
    app = choose_workspaces(open_page(planted.backend.url, PAGE, monkeypatch), ["ws-b"])
    assert not app.exception
    assert metrics(app)["Calls with bundle stats"] == "0"
    assert any(i.startswith("The bundle is in effect for none") for i in infos(app))


def test_bundle_page_in_an_empty_window_says_so(db, monkeypatch):
    db.seed.workspace("ws-a", name="Alpha", settings={"leadContextBundleEnabled": True})
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception and not errors(app)
    assert metrics(app)["Truncation rate"] == "no data"
    assert any(i.startswith("No bundle telemetry in this window") for i in infos(app))
    assert any(i.startswith("No model calls that should carry bundle stats in this window") for i in infos(app))


def test_bundle_page_with_the_database_down_says_so(monkeypatch):
    page = open_down(PAGE, monkeypatch)
    assert not page.exception
    assert any("unreachable" in e for e in errors(page))
