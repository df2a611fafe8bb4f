"""The canary and pre/post pages as an operator and an analyst use them (AppTest, both backends)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from auth.roles import Role
from tests.auth_support import APP, auth_env, page_path, sign_in


@pytest.fixture
def app_on(demo_db, monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    for key, value in auth_env(demo_db.backend.url).items():
        monkeypatch.setenv(key, value)

    def open_page(role: Role, path: str) -> AppTest:
        app = sign_in(AppTest.from_file(APP, default_timeout=120), role)
        app.switch_page(path).run()
        assert not app.exception, app.exception
        return app

    yield open_page
    st.cache_data.clear()
    st.cache_resource.clear()


def markdown(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown]


def test_canary_page_defaults_to_the_latest_rollout_and_shows_fail_with_rollback_levers(app_on, demo_db):
    app = app_on(Role.OPERATOR, "pages/canary.py")
    story = demo_db.story
    assert app.multiselect[0].value == [story.canary]
    assert any(m.startswith("## :red[FAIL]") for m in markdown(app))
    assert any(m.startswith("**Rollback: needs_review rate up vs baseline**") for m in markdown(app))
    assert any("Turn leadContextBundleEnabled off" in (link.proto.label or "") for link in app.get("page_link"))
    assert app.get("download_button"), "the evidence packet can be downloaded"


def test_canary_page_for_the_quiet_workspace_passes(app_on, demo_db):
    app = app_on(Role.OPERATOR, "pages/canary.py")
    story = demo_db.story
    app.multiselect[0].set_value([story.quiet]).run()
    app.toggle[0].set_value(False).run()  # a fixed end, before the platform-wide queue episode
    end = (story.queue_episode_start - timedelta(hours=1)).replace(tzinfo=None)
    next(d for d in app.get("date_time_input") if d.label == "End (UTC)").set_value(end).run()
    assert not app.exception
    overall = [m for m in markdown(app) if m.startswith("## :")]
    assert overall and overall[0].startswith("## :green[PASS]"), overall


def test_compare_page_splits_at_an_audit_event(app_on):
    app = app_on(Role.ANALYST, "pages/compare.py")
    assert [s.value for s in app.subheader] == ["Delta table"]
    assert app.get("plotly_chart"), "ECDF and histogram overlays"
    table = app.dataframe[0].value
    assert set(table["metric"]) >= {"needs_review_rate", "auto_send_confidence", "revision_at_most_once"}


def test_canary_page_with_the_database_down_says_so(monkeypatch, demo_db):
    st.cache_data.clear()
    st.cache_resource.clear()
    for key, value in auth_env(demo_db.backend.url).items():
        monkeypatch.setenv(key, value)
    page = AppTest.from_file(page_path("canary.py"), default_timeout=60)
    page.session_state["authentication_status"] = True
    page.session_state["username"] = "operator"
    page.session_state["roles"] = ["operator"]
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    page.run()
    assert not page.exception
    assert any("unreachable" in e.value for e in page.error)
    st.cache_data.clear()
    st.cache_resource.clear()
