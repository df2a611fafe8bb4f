"""Meeting overseer page (AppTest through the real app, both backends): tiles, charts, filter, empty, down."""

from __future__ import annotations

import pytest

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

PAGE = "pages/overseer.py"


@pytest.fixture(autouse=True)
def _fresh_caches():
    yield
    reset_caches()


@pytest.fixture
def planted(db):
    """Alpha: gate approve, approve, revise; booking gate approve, deny. Beta: gate revise."""
    s = db.seed
    s.workspace("ws-a", name="Alpha", settings={})
    s.workspace("ws-b", name="Beta", settings={})
    for hours, decision in ((1, "approve"), (2, "approve"), (3, "revise")):
        s.overseer("ws-a", when=ago(hours=hours), stage="gate", decision=decision, confidence=0.8)
    s.overseer("ws-b", when=ago(hours=1), stage="gate", decision="REVISE", confidence=0.4)  # lower-cased
    s.overseer("ws-a", when=ago(hours=2), stage="booking_gate", decision="approve")
    s.overseer("ws-a", when=ago(hours=4), stage="booking_gate", decision="deny")
    s.overseer("ws-a", when=ago(days=3), stage="gate", decision="revise")  # outside the 24h window
    return db


def test_overseer_page_shows_gate_and_booking_gate_figures(planted, monkeypatch):
    app = open_page(planted.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert app.title[0].value == "Meeting overseer"
    tiles = metrics(app)
    assert tiles["Gate decisions"] == "4"  # 3 Alpha + 1 Beta in the last 24h
    assert tiles["Gate revise rate"] == "50.0%"  # (1 + 1) / 4
    assert tiles["Booking-gate decisions"] == "2"
    assert tiles["Booking-gate deny rate"] == "50.0%"  # 1 / 2
    assert chart_titles(app) == [
        "Gate revise rate over time (chosen workspaces together)", "Gate revise rate by workspace",
        "Gate confidence per decision", "Overseer decisions by stage",
        "Booking gate: approve / needs_clarification / deny",
    ]
    by_workspace = app.dataframe[0].value.set_index("workspace_name")
    assert by_workspace.loc["Alpha", "revise"] == 1 and by_workspace.loc["Alpha", "decisions"] == 3
    assert by_workspace.loc["Beta", "revise_rate"] == pytest.approx(1.0)
    assert not errors(app)


def test_overseer_workspace_filter_changes_the_tiles(planted, monkeypatch):
    app = choose_workspaces(open_page(planted.backend.url, PAGE, monkeypatch), ["ws-a"])
    assert not app.exception
    tiles = metrics(app)
    assert tiles["Gate decisions"] == "3"
    assert tiles["Gate revise rate"] == "33.3%"  # 1 / 3


def test_overseer_page_in_an_empty_window_says_so(db, monkeypatch):
    db.seed.workspace("ws-a", name="Alpha", settings={})
    db.seed.overseer("ws-a", when=ago(days=3), stage="gate", decision="revise")  # only before the window
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception and not errors(app)
    assert metrics(app)["Gate revise rate"] == "no data"
    assert any(i.startswith("No gate decisions in this window") for i in infos(app))
    assert any(i.startswith("No booking-gate decisions in this window") for i in infos(app))


def test_overseer_page_with_the_database_down_says_so(monkeypatch):
    page = open_down(PAGE, monkeypatch)
    assert not page.exception
    assert any("unreachable" in e for e in errors(page))
