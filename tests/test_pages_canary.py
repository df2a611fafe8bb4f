"""The canary and pre/post pages as an operator, a super admin and an analyst use them (AppTest, both
backends, the shared demo data): a failing canary, a passing one, a thin one and a platform incident,
each with no exception, the right verdict and the rollback steps of the field that changed; a
rollback link to the toggle page only for a role that may open it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis.rules import load_rules
from auth.roles import Role
from tests.auth_support import APP, auth_env, page_path, sign_in
from ui.safe import plain

BUNDLE, REVISION = "leadContextBundleEnabled", "autoSendRevisionEnabled"


_CACHES_FILLED_FROM: list[str] = []  # the database this module's AppTest runs filled Streamlit's caches from


@pytest.fixture(autouse=True)
def _caches_follow_the_database(request):
    """Streamlit's caches are per process and not keyed by database. The demo data is read-only and shared,
    so runs on the same backend keep what earlier tests read (the canary window is gathered once, not per
    role); a new backend or a test that did not go through `app_on` starts them afresh."""
    yield
    if "app_on" not in request.fixturenames:
        st.cache_data.clear()
        st.cache_resource.clear()
        _CACHES_FILLED_FROM.clear()


@pytest.fixture(scope="module", autouse=True)
def _caches_cleared_after_the_module():
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
    _CACHES_FILLED_FROM.clear()


@pytest.fixture
def app_on(demo_db, monkeypatch):
    if [demo_db.backend.url] != _CACHES_FILLED_FROM:
        st.cache_data.clear()
        st.cache_resource.clear()
        _CACHES_FILLED_FROM[:] = [demo_db.backend.url]
    for key, value in auth_env(demo_db.backend.url).items():
        monkeypatch.setenv(key, value)

    def open_page(role: Role, path: str, **query: str) -> AppTest:
        app = sign_in(AppTest.from_file(APP, default_timeout=120), role)
        app.switch_page(path)
        for key, value in query.items():
            app.query_params[key] = value
        app.run()
        assert not app.exception, app.exception
        return app

    yield open_page


def markdown(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown]


def headline(app: AppTest) -> str:
    heads = [m for m in markdown(app) if m.startswith("## :")]
    assert len(heads) == 1, heads
    return heads[0]


def date_input(app: AppTest, prefix: str):
    return next(d for d in app.get("date_time_input") if d.label.startswith(prefix))


def toggle_links(app: AppTest) -> list[str]:
    return [link.proto.label for link in app.get("page_link") if "toggles" in link.proto.page]


def set_window(app: AppTest, workspace: str, split, end) -> AppTest:
    app.multiselect(key="cw_canary_workspaces").set_value([workspace]).run()
    date_input(app, "Split").set_value(split.replace(tzinfo=None)).run()
    if app.toggle(key="cw_canary_live").value:
        app.toggle(key="cw_canary_live").set_value(False).run()
    date_input(app, "End").set_value(end.replace(tzinfo=None)).run()
    assert not app.exception, app.exception
    return app


def pick(app: AppTest, workspace_name: str, field: str) -> AppTest:
    box = app.selectbox(key="cw_canary_pick")
    index = None
    for i, option in enumerate(box.options):
        if option.startswith(f"{workspace_name} · {field} since"):
            index = i
    assert index is not None, box.options
    box.select_index(index).run()
    assert not app.exception, app.exception
    return app


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.SUPER_ADMIN])
def test_canary_page_judges_four_kinds_of_canary_for_each_role(app_on, demo_db, role):
    """As the operator: failing, passing, thin and platform incident. As super_admin: the failing canary,
    where the rollback links differ by role."""
    story = demo_db.story
    app = app_on(role, "pages/canary.py")
    # opens on the active canaries, nothing judged until one is chosen
    table = app.dataframe[0].value
    assert {"workspace", "field", "since (UTC)", "by", "verdict", "worst", "changed with"} <= set(table.columns)
    acme = table[table["workspace"] == story.name_of[story.canary]]
    assert set(acme["field"]) == {BUNDLE, REVISION}
    assert dict(zip(acme["field"], acme["changed with"], strict=True)) == {BUNDLE: REVISION, REVISION: BUNDLE}
    assert not [m for m in markdown(app) if m.startswith("## :")]

    # 1. failing: choosing the canary sets the workspace AND its own split; a window before the queue episode
    pick(app, story.name_of[story.canary], REVISION)
    assert app.multiselect(key="cw_canary_workspaces").value == [story.canary]
    assert date_input(app, "Split").value == story.rollout_at.replace(tzinfo=None)
    assert app.query_params["field"] == [REVISION] or app.query_params["field"] == REVISION
    set_window(app, story.canary, story.rollout_at, story.queue_episode_start - timedelta(hours=1))
    assert headline(app).startswith("## :red[FAIL] · score ")
    rollback = [m for m in markdown(app) if m.startswith("**Rollback: ")]
    assert rollback == [f"**Rollback: {REVISION}**", f"**Rollback: {BUNDLE}**"]  # the field first, then its confounder
    assert any(w.value.startswith(f"Confounded: {REVISION} and {BUNDLE} changed together") for w in app.warning)
    steps = " ".join(markdown(app))
    assert "1. Set AUTO\\_SEND\\_REVISION\\_DISABLED\\=1" in steps
    if role is Role.SUPER_ADMIN:
        assert f"2. Turn {REVISION} off for the canary workspace. ({plain(story.canary)})" in toggle_links(app)
    else:
        assert toggle_links(app) == []  # the operator may not open the toggle page: no link, no crash
        assert f"2. Turn {REVISION} off for the canary workspace\\." in steps
    assert any("Control: " in m for m in markdown(app))
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in app.get("plotly_chart")]
    assert "needs_review_rate: DiD delta as the watch went on" in titles
    if role is Role.SUPER_ADMIN:
        return  # the other three kinds show no role-dependent part: judged once, as the operator

    # 2. passing: the quiet workspace over the same window
    set_window(app, story.quiet, story.rollout_at, story.queue_episode_start - timedelta(hours=1))
    assert headline(app).startswith("## :green[PASS] · score ")
    assert [s.value for s in app.success] == ["No workspace rule tripped and no metric fails."]

    # 3. thin: ten minutes of data
    set_window(app, story.quiet, story.end - timedelta(minutes=10), story.end)
    assert headline(app) == "## :gray[INSUFFICIENT_DATA]"  # no score beside it

    # 4. platform incident: the window around the platform-wide queue episode
    set_window(app, story.quiet, story.queue_episode_start - timedelta(minutes=30),
               story.queue_episode_end + timedelta(minutes=30))
    assert headline(app) == "## :violet[PLATFORM_INCIDENT: canary not judged]"
    assert any(m.startswith("**Platform health: :red[INCIDENT]**") for m in markdown(app))


def test_canary_page_opens_on_the_canary_in_the_address(app_on, demo_db):
    story = demo_db.story
    split = story.rollout_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    app = app_on(Role.OPERATOR, "pages/canary.py", ws=story.canary, split=split, field=BUNDLE)
    assert app.multiselect(key="cw_canary_workspaces").value == [story.canary]
    assert date_input(app, "Split").value == story.rollout_at.replace(tzinfo=None)
    assert [m for m in markdown(app) if m.startswith("**Rollback: ")][0] == f"**Rollback: {BUNDLE}**"
    # a new address in the same session (a link from the Overview) moves the page to that canary
    app.query_params["ws"] = story.quiet
    app.query_params["split"] = (story.rollout_at - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    del app.query_params["field"]
    app.run()
    assert not app.exception, app.exception
    assert app.multiselect(key="cw_canary_workspaces").value == [story.quiet]
    assert date_input(app, "Split").value == (story.rollout_at - timedelta(hours=3)).replace(tzinfo=None)


def test_compare_page_splits_at_an_audit_event(app_on):
    app = app_on(Role.ANALYST, "pages/compare.py")
    assert [s.value for s in app.subheader] == ["Delta table", "Rollback rules"]
    assert app.get("plotly_chart"), "ECDF and histogram overlays"
    table = app.dataframe[0].value
    assert set(table["metric"]) >= {"needs_review_rate", "auto_send_confidence", "revision_at_most_once"}
    rules = app.dataframe[1].value
    head = next(m for m in markdown(app) if m.startswith("## :"))
    reason = markdown(app)[markdown(app).index(head) + 1]
    if "rollback rule tripped: " in reason:  # every rule the verdict names is TRIPPED in the table shown
        named = reason.split("rollback rule tripped: ", 1)[1].split(", ")
        titles = {r.id: r.title for r in load_rules()}
        assert set(rules.loc[rules["rule"].isin([titles[n] for n in named]), "status"]) == {"TRIPPED"}


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
