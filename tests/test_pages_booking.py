"""Follow-up booking page (AppTest, both backends): the section-8 limits, tiles, filter, empty, down."""

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
    warnings,
)

PAGE = "pages/booking.py"


@pytest.fixture(autouse=True)
def _fresh_caches():
    yield
    reset_caches()


@pytest.fixture
def planted(db):
    """Alpha: 2 AUTO_BOOK + 1 WEBHOOK appointment, booking gate approve + needs_clarification, a timing
    clarification task and a scheduled follow-up. Beta: 1 AUTO_BOOK appointment."""
    s = db.seed
    s.workspace("ws-a", name="Alpha", settings={})
    s.workspace("ws-b", name="Beta", settings={})
    s.appointment("ws-a", when=ago(hours=1))
    s.appointment("ws-a", when=ago(hours=2), status="CANCELED")
    s.appointment("ws-a", when=ago(hours=3), source="WEBHOOK")
    s.appointment("ws-b", when=ago(hours=1))
    s.overseer("ws-a", when=ago(hours=1), stage="booking_gate", decision="approve")
    s.overseer("ws-a", when=ago(hours=2), stage="booking_gate", decision="needs_clarification")
    s.task("ws-a", when=ago(hours=1), campaign_name="Follow-up timing clarification (auto) #1")
    s.task("ws-a", when=ago(hours=2), campaign_name="Scheduled follow-up (manual)", status="completed")
    s.appointment("ws-a", when=ago(hours=36))  # in the previous window only
    return db


def test_booking_page_states_what_the_database_does_not_record(planted, monkeypatch):
    app = open_page(planted.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert app.title[0].value == "Follow-up booking"
    limits = " ".join(warnings(app))
    for fact in ("failure reasons", "AUTO_BOOK may undercount", "no FollowUpTask", "DATA_CONTRACT.md section 8"):
        assert fact in limits


def test_booking_page_shows_bookings_gate_decisions_and_traces(planted, monkeypatch):
    app = open_page(planted.backend.url, PAGE, monkeypatch)
    tiles = metrics(app)
    assert tiles["Auto-booked meetings"] == "3"  # Alpha 2 (one since canceled) + Beta 1; WEBHOOK not counted
    assert tiles["Booking-gate decisions"] == "2"
    assert tiles["needs_clarification share"] == "50.0%"  # 1 / 2
    assert tiles["Timing-clarification tasks"] == "1"
    assert app.metric[0].delta == "+2 vs previous window"  # 3 now, 1 in the 24h before
    assert chart_titles(app) == [
        "Auto-booked meetings over time", "All appointments by source",
        "Booking gate over time: approve / needs_clarification / deny",
        "Follow-up tasks by trace family and status",
    ]
    assert not errors(app)


def test_booking_workspace_filter_changes_the_tiles(planted, monkeypatch):
    app = choose_workspaces(open_page(planted.backend.url, PAGE, monkeypatch), ["ws-b"])
    assert not app.exception
    tiles = metrics(app)
    assert tiles["Auto-booked meetings"] == "1"
    assert tiles["Booking-gate decisions"] == "0"
    assert any(i.startswith("No booking-gate decisions in this window") for i in infos(app))


def test_booking_page_in_an_empty_window_says_so(db, monkeypatch):
    db.seed.workspace("ws-a", name="Alpha", settings={})
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception and not errors(app)
    assert metrics(app)["needs_clarification share"] == "no data"
    shown = infos(app)
    for what in ("auto-booked meetings", "booking-gate decisions", "follow-up tasks"):
        assert any(i.startswith(f"No {what} in this window") for i in shown), what


def test_booking_page_with_the_database_down_says_so(monkeypatch):
    page = open_down(PAGE, monkeypatch)
    assert not page.exception
    assert any("unreachable" in e for e in errors(page))
