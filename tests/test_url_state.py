"""URLs are state (issue 13): the filters and the auto-refresh interval in the query string.

Pure: a link's parameters -> widget values (bad values left out with a sentence), and back.
AppTest (both backends): a link's filters set the widgets and the figures, a changed filter is written
to the query string, a page opened without parameters keeps the session's filters, and `refresh`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from auth.roles import Role
from tests.auth_support import APP, auth_env, sign_in
from tests.pages_support import markdown, reset_caches, warnings
from ui import filters
from ui.filters import (
    ALL_CHANNELS,
    KEY_CHANNEL,
    KEY_FROM_DAY,
    KEY_FROM_TIME,
    KEY_PRESET,
    KEY_TO_DAY,
    KEY_TO_TIME,
    KEY_WORKSPACES,
    params_from_widgets,
    parse_iso_utc,
    widgets_from_params,
)

KNOWN = ("ws-a", "ws-b")


def test_a_link_sets_window_workspaces_and_channel():
    values, problems = widgets_from_params({"window": "7d", "ws": "ws-b,ws-a", "channel": "email"}, KNOWN)
    assert values == {KEY_PRESET: "7d", KEY_WORKSPACES: ["ws-b", "ws-a"], KEY_CHANNEL: "email"}
    assert problems == []


def test_a_link_states_the_whole_filter_left_out_means_default():
    values, problems = widgets_from_params({"window": "30d"}, KNOWN)
    assert values == {KEY_PRESET: "30d", KEY_WORKSPACES: [], KEY_CHANNEL: ALL_CHANNELS}
    assert problems == []


def test_a_custom_window_from_start_and_end():
    values, problems = widgets_from_params({"window": "custom", "start": "2026-02-18T03:30:00Z",
                                            "end": "2026-02-19T00:00:00Z"}, KNOWN)
    assert problems == []
    assert values[KEY_PRESET] == "custom"
    assert (values[KEY_FROM_DAY], values[KEY_FROM_TIME]) == (date(2026, 2, 18), time(3, 30))
    assert (values[KEY_TO_DAY], values[KEY_TO_TIME]) == (date(2026, 2, 19), time(0, 0))
    # start/end without a window mean a custom window too
    assert widgets_from_params({"start": "2026-02-18T03:30:00Z", "end": "2026-02-19T00:00:00Z"},
                               KNOWN)[0][KEY_PRESET] == "custom"


@pytest.mark.parametrize(("params", "sentence"), [
    ({"window": "2w"}, "The link's window 2w is not one of 1h, 6h, 24h, 7d, 30d, 90d, custom: showing the last 24h."),
    ({"window": "custom", "start": "2026-02-19T00:00:00Z", "end": "2026-02-18T00:00:00Z"},
     "The link's custom window needs start < end as ISO UTC times (e.g. 2026-02-18T03:30:00Z): showing the last 24h."),
    ({"window": "custom", "start": "yesterday", "end": "2026-02-18T00:00:00Z"},
     "The link's custom window needs start < end as ISO UTC times (e.g. 2026-02-18T03:30:00Z): showing the last 24h."),
    ({"ws": "ws-a,ghost,<b>x</b>"}, "2 workspace ids in the link are unknown and left out."),
    ({"channel": "fax"}, "The link's channel is not one of sms, email, linkedin: showing all channels."),
])
def test_bad_values_in_a_link_are_left_out_with_a_sentence(params, sentence):
    values, problems = widgets_from_params(params, KNOWN)
    assert problems == [sentence]
    assert values[KEY_PRESET] in ("24h", "custom") and values[KEY_PRESET] == "24h"
    assert values[KEY_WORKSPACES] == (["ws-a"] if "ws" in params else [])
    assert values[KEY_CHANNEL] == ALL_CHANNELS


def test_markdown_in_a_bad_window_value_is_escaped():
    _, problems = widgets_from_params({"window": "[x](http://h)"}, KNOWN)
    assert "\\[x\\]\\(http\\:\\/\\/h\\)" in problems[0]


def test_widget_values_back_to_the_query_string():
    start, end = datetime(2026, 2, 18, 3, 30, tzinfo=UTC), datetime(2026, 2, 19, tzinfo=UTC)
    assert params_from_widgets("7d", start, end, ("ws-b", "ws-a"), None) == {
        "window": "7d", "start": None, "end": None, "ws": "ws-a,ws-b", "channel": None}
    assert params_from_widgets("custom", start, end, (), "sms") == {
        "window": "custom", "start": "2026-02-18T03:30:00Z", "end": "2026-02-19T00:00:00Z", "ws": None,
        "channel": "sms"}


def test_iso_times_from_a_link():
    assert parse_iso_utc("2026-02-18T03:30:00Z") == datetime(2026, 2, 18, 3, 30, tzinfo=UTC)
    assert parse_iso_utc("2026-02-18T04:30:00+01:00") == datetime(2026, 2, 18, 3, 30, tzinfo=UTC)
    assert parse_iso_utc("2026-02-18T03:30:00 01:00") == datetime(2026, 2, 18, 2, 30, tzinfo=UTC)  # '+' as ' '
    assert parse_iso_utc("2026-02-18 03:30") == datetime(2026, 2, 18, 3, 30, tzinfo=UTC)  # naive = UTC
    assert parse_iso_utc("soon") is None
    assert filters.iso_utc(datetime(2026, 2, 18, 3, 30)) == "2026-02-18T03:30:00Z"


# -- through the real app ----------------------------------------------------------------------------

NOW = datetime.now(UTC)


def plant(seed) -> None:
    """ws-a: 4 needs_review of 10 an hour ago, 10 sends 3 days ago; ws-b: 1 send an hour ago."""
    seed.workspace("ws-a", name="Alpha", settings={})
    seed.workspace("ws-b", name="Bravo", settings={})
    for i in range(10):
        seed.draft("ws-a", when=NOW - timedelta(hours=1), action="needs_review" if i < 4 else "send_immediate",
                   confidence=0.5)
        seed.draft("ws-a", when=NOW - timedelta(days=3), action="send_immediate", confidence=0.9)
    seed.draft("ws-b", when=NOW - timedelta(hours=1), action="send_immediate", confidence=0.9)


def open_link(url: str, monkeypatch, params: dict[str, str], *, role: Role = Role.ANALYST) -> AppTest:
    """The app opened with a query string (it lands on the Overview, the default page), signed in."""
    reset_caches()
    for key, value in auth_env(url).items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(params)
    return sign_in(at, role)


def needs_review(app: AppTest) -> str:
    lines = markdown(app)
    return lines[next(i for i, m in enumerate(lines) if m.endswith("**needs_review rate**")) + 1]


def test_a_link_sets_the_widgets_and_the_figures(db, monkeypatch):
    plant(db.seed)
    app = open_link(db.backend.url, monkeypatch, {"window": "7d", "ws": "ws-a", "refresh": "30s"})
    assert not app.exception, app.exception
    assert app.selectbox(key=filters.KEY_PRESET).value == "7d"
    assert app.multiselect(key=filters.KEY_WORKSPACES).value == ["ws-a"]
    assert app.selectbox(key="cw_auto_refresh").value == "30s"
    assert needs_review(app) == "### 20.0%"  # ws-a over 7 days: 4 of 20
    assert app.query_params["window"] == "7d" and app.query_params["ws"] == "ws-a"
    assert app.query_params["refresh"] == "30s"
    # the copy-link box is not drawn without a browser URL; the parameters are what it would carry
    app.selectbox(key=filters.KEY_PRESET).set_value("24h").run()
    assert needs_review(app) == "### 40.0%"  # 4 of 10 in the last 24 hours
    assert app.query_params["window"] == "24h" and app.query_params["ws"] == "ws-a"
    app.multiselect(key=filters.KEY_WORKSPACES).set_value([]).run()
    assert "ws" not in app.query_params
    assert needs_review(app) == "### 36.4%"  # both workspaces: 4 of 11


def test_a_page_opened_without_parameters_keeps_the_sessions_filters(db, monkeypatch):
    plant(db.seed)
    app = open_link(db.backend.url, monkeypatch, {"window": "7d", "ws": "ws-b", "refresh": "5m"})
    app.query_params.clear()  # what the sidebar navigation does
    app.switch_page("pages/confidence.py").run()
    assert not app.exception, app.exception
    assert app.selectbox(key=filters.KEY_PRESET).value == "7d"
    assert app.selectbox(key="cw_auto_refresh").value == "5m"
    assert app.multiselect(key=filters.KEY_WORKSPACES).value == ["ws-b"]
    assert app.query_params["window"] == "7d" and app.query_params["ws"] == "ws-b"
    assert app.query_params["refresh"] == "5m"
    assert app.metric[0].label == "Evaluated drafts" and app.metric[0].value == "1"
    # and a choice made on this page holds on the next
    app.selectbox(key=filters.KEY_PRESET).set_value("30d").run()
    app.query_params.clear()
    app.switch_page("pages/revision.py").run()
    assert app.selectbox(key=filters.KEY_PRESET).value == "30d"
    assert app.query_params["window"] == "30d" and app.query_params["ws"] == "ws-b"


def test_a_bad_link_is_said_and_changes_nothing_else(db, monkeypatch):
    plant(db.seed)
    app = open_link(db.backend.url, monkeypatch, {"window": "2w", "ws": "ws-a,ghost", "refresh": "10s"})
    assert not app.exception, app.exception
    assert warnings(app) == [
        "The link's window 2w is not one of 1h, 6h, 24h, 7d, 30d, 90d, custom: showing the last 24h.",
        "1 workspace id in the link is unknown and left out."]
    assert app.selectbox(key=filters.KEY_PRESET).value == "24h"
    assert app.multiselect(key=filters.KEY_WORKSPACES).value == ["ws-a"]
    assert app.selectbox(key="cw_auto_refresh").value == "off"
    assert app.query_params["window"] == "24h" and app.query_params["ws"] == "ws-a"
    assert "refresh" not in app.query_params
