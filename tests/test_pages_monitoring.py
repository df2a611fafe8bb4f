"""Every monitoring page through the real app (AppTest, both backends): with data, empty, and database down."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from auth.roles import READERS, Role
from tests.auth_support import APP, auth_env, page_path, sign_in
from ui.navigation import PAGES

MONITORING = [s for s in PAGES if s.roles == READERS]


def open_page(url: str, spec, monkeypatch) -> AppTest:
    st.cache_data.clear()
    st.cache_resource.clear()
    for key, value in auth_env(url).items():
        monkeypatch.setenv(key, value)
    app = sign_in(AppTest.from_file(APP, default_timeout=120), Role.ANALYST)
    app.switch_page(spec.path).run()
    return app


@pytest.mark.parametrize("spec", MONITORING, ids=lambda s: s.path)
def test_page_renders_its_headline_on_demo_data(live_backend, spec, monkeypatch):
    backend, _ = live_backend
    app = open_page(backend.url, spec, monkeypatch)
    assert not app.exception, app.exception
    assert app.title[0].value == spec.title
    assert not app.error, [e.value for e in app.error]
    assert app.metric or app.dataframe, "headline tiles or a table"


def test_workspace_filter_changes_the_numbers(live_backend, monkeypatch):
    backend, story = live_backend
    app = open_page(backend.url, next(s for s in PAGES if s.path == "pages/confidence.py"), monkeypatch)
    everyone = app.metric[0].value
    app.multiselect(key="cw_filter_workspaces").set_value([story.quiet]).run()
    assert not app.exception
    assert app.metric[0].value != everyone


@pytest.mark.parametrize("spec", [s for s in MONITORING if s.path != "pages/overview.py"], ids=lambda s: s.path)
def test_page_on_an_empty_database_says_so(db, spec, monkeypatch):
    db.seed.workspace("ws-a", name="Alpha", settings={})
    app = open_page(db.backend.url, spec, monkeypatch)
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    infos = [i.value for i in app.info] + [s.value for s in app.success]
    assert any(text.startswith("No ") or "Every" in text for text in infos), infos


@pytest.mark.parametrize("spec", MONITORING, ids=lambda s: s.path)
def test_page_with_the_database_down_says_so_without_a_traceback(spec, monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    for key, value in auth_env("postgresql+psycopg://postgres@127.0.0.1:1/none").items():
        monkeypatch.setenv(key, value)
    page = AppTest.from_file(page_path(spec.path.split("/", 1)[1]), default_timeout=60)
    page.session_state["authentication_status"] = True
    page.session_state["username"] = "analyst"
    page.session_state["roles"] = ["analyst"]
    page.run()
    assert not page.exception, page.exception
    assert any("unreachable" in e.value for e in page.error)
