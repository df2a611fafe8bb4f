"""The toggle page as a super-admin uses it (AppTest, both backends): flip with a reason, budgets refusals."""

from __future__ import annotations

import re

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from auth.roles import Role
from auth.session import User
from db import upstream as up
from db.state import audit_log
from rollout.service import set_toggle
from tests.auth_support import APP, auth_env, sign_in

DOWN_WRITE_URL = "postgresql+psycopg://writer_secret:hunter2@127.0.0.1:1/private_db"


def text(value: str) -> str:
    """Markdown source as the reader sees it: the escaping backslashes of ui.safe.plain removed."""
    return re.sub(r"\\(.)", r"\1", value)


@pytest.fixture
def admin_on_toggles(db, monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    db.seed.workspace("ws-a", name="Alpha", settings={})
    db.seed.workspace("ws-b", name="Bravo")  # no settings row
    for key, value in auth_env(db.backend.url).items():
        monkeypatch.setenv(key, value)
    for name in ("AUTO_SEND_DISABLED", "AUTO_SEND_REVISION_DISABLED", "LEAD_CONTEXT_BUNDLE_DISABLED",
                 "CANARYWATCH_UPSTREAM_ENV_FILE"):
        monkeypatch.delenv(name, raising=False)
    app = sign_in(AppTest.from_file(APP, default_timeout=60), Role.SUPER_ADMIN)
    app.switch_page("pages/toggles.py").run()
    assert not app.exception
    yield app
    st.cache_data.clear()
    st.cache_resource.clear()


def stored(db, workspace, column):
    with db.backend.write.connect() as conn:
        return conn.execute(select(up.workspace_settings.c[column])
                            .where(up.workspace_settings.c.clientId == workspace)).scalar_one_or_none()


def audits(db):
    with db.backend.write.connect() as conn:
        return conn.execute(select(audit_log.c.workspaceId, audit_log.c.field, audit_log.c.oldValue,
                                   audit_log.c.newValue, audit_log.c.actor, audit_log.c.reason)).all()


def widget(elements, key):
    """The current widget whose key starts with this one (keys also name the workspace, setting and a
    version number bumped after each write)."""
    return [e for e in elements if e.key and (e.key == key or e.key.startswith(key + "_"))][-1]


def test_apply_needs_a_reason_and_a_confirmation(admin_on_toggles, db):
    app = admin_on_toggles
    assert widget(app.button, "cw_toggle_apply").disabled
    widget(app.checkbox, "cw_toggle_confirm").check().run()
    assert widget(app.button, "cw_toggle_apply").disabled  # still no reason
    assert audits(db) == []


def test_flipping_a_toggle_writes_it_and_audits_it(admin_on_toggles, db):
    app = admin_on_toggles
    widget(app.selectbox, "cw_toggle_workspace").select("ws-b").run()
    widget(app.selectbox, "cw_toggle_field").select("autoSendRevisionEnabled").run()
    assert any("off → on" in m.value for m in app.markdown)
    widget(app.text_input, "cw_toggle_reason").input("canary revision loop").run()
    widget(app.checkbox, "cw_toggle_confirm").check().run()
    widget(app.button, "cw_toggle_apply").click().run()
    assert not app.exception
    assert any(s.value.startswith("Done: autoSendRevisionEnabled off → on for Bravo") for s in app.success)
    assert not app.warning  # our own change is not reported as one made meanwhile
    assert any("autoSendRevisionEnabled** is now **on**" in m.value for m in app.markdown)
    assert stored(db, "ws-b", "autoSendRevisionEnabled") is True
    assert audits(db) == [("ws-b", "autoSendRevisionEnabled", "false", "true", "admin", "canary revision loop")]
    # the form is clean again, so a second click cannot flip it straight back
    assert widget(app.text_input, "cw_toggle_reason").value == ""
    assert widget(app.button, "cw_toggle_apply").disabled


def test_malformed_budgets_are_refused_and_nothing_is_written(admin_on_toggles, db):
    app = admin_on_toggles
    widget(app.text_area, "cw_budgets_ws-a").input('{"draft": {"knowledge": {"maxTokens": 99999}}}').run()
    widget(app.text_input, "cw_budgets_reason").input("tighter budgets").run()
    widget(app.button, "cw_budgets_save").click().run()
    assert [text(e.value) for e in app.error] == [
        "Refused: draft.knowledge.maxTokens must be an integer 0..20000. Nothing was written."]
    assert stored(db, "ws-a", "leadContextBundleBudgets") is None
    assert audits(db) == []


def test_valid_budgets_are_saved(admin_on_toggles, db):
    app = admin_on_toggles
    widget(app.text_area, "cw_budgets_ws-a").input('{"draft": {"memory": {"maxTokens": 900}}}').run()
    widget(app.text_input, "cw_budgets_reason").input("smaller memory").run()
    widget(app.button, "cw_budgets_save").click().run()
    assert not app.error
    assert stored(db, "ws-a", "leadContextBundleBudgets") == {"draft": {"memory": {"maxTokens": 900}}}
    new = '{"draft": {"memory": {"maxTokens": 900}}}'
    assert [a[1:4] for a in audits(db)] == [("leadContextBundleBudgets", "null", new)]


OTHER_ADMIN = User("bob", "Bob", frozenset({Role.SUPER_ADMIN}))


def prepare_flip(app, workspace, field, reason="canary"):
    widget(app.selectbox, "cw_toggle_workspace").select(workspace).run()
    widget(app.selectbox, "cw_toggle_field").select(field).run()
    widget(app.text_input, "cw_toggle_reason").input(reason).run()
    widget(app.checkbox, "cw_toggle_confirm").check().run()
    assert not widget(app.button, "cw_toggle_apply").disabled


def test_a_change_seen_after_the_cache_expired_is_not_reversed(admin_on_toggles, db):
    """The admin saw "off → on"; another admin switched it on before the click. The click's run reads
    "on", so the confirmation of "off → on" no longer applies: it must not turn it off again. (A change
    landing between that read and the write is refused by the service: test_rollout_service.py.)"""
    app = admin_on_toggles
    prepare_flip(app, "ws-a", "leadContextBundleEnabled")
    set_toggle(db.backend.write, OTHER_ADMIN, "ws-a", "leadContextBundleEnabled", expected_old=False, new=True,
               reason="bob was faster")
    st.cache_data.clear()
    widget(app.button, "cw_toggle_apply").click().run()
    assert [w.value for w in app.warning] == [
        "leadContextBundleEnabled was changed meanwhile: it is now on. Nothing was written; confirm again if you "
        "still want a change."]
    assert widget(app.checkbox, "cw_toggle_confirm").value is False
    assert stored(db, "ws-a", "leadContextBundleEnabled") is True
    assert [a[4:] for a in audits(db)] == [("bob", "bob was faster")]


def test_a_confirmation_does_not_carry_over_to_another_setting(admin_on_toggles, db):
    app = admin_on_toggles
    prepare_flip(app, "ws-a", "leadContextBundleEnabled")
    widget(app.selectbox, "cw_toggle_field").select("autoSendRevisionEnabled").run()
    assert widget(app.checkbox, "cw_toggle_confirm").value is False
    assert widget(app.button, "cw_toggle_apply").disabled
    widget(app.selectbox, "cw_toggle_workspace").select("ws-b").run()
    assert widget(app.button, "cw_toggle_apply").disabled
    assert audits(db) == []


def test_workspace_link_preselects_and_a_bad_link_says_so(admin_on_toggles):
    app = admin_on_toggles
    app.query_params["workspace"] = "ws-b"
    app.run()
    assert widget(app.selectbox, "cw_toggle_workspace").value == "ws-b"
    assert any("no WorkspaceSettings row" in i.value for i in app.info)  # Bravo has none: defaults shown
    widget(app.selectbox, "cw_toggle_workspace").select("ws-a").run()
    assert widget(app.selectbox, "cw_toggle_workspace").value == "ws-a"  # the link does not fight the user
    app.query_params["workspace"] = "ws-nope"
    app.run()
    assert [w.value for w in app.warning] == ["The workspace in the link is not a known workspace: pick one below."]


def test_clear_stores_json_null_and_audits_it(admin_on_toggles, db):
    app = admin_on_toggles
    widget(app.text_input, "cw_budgets_reason").input("back to defaults").run()
    widget(app.button, "cw_budgets_clear").click().run()
    assert not app.error
    assert [a[1:4] for a in audits(db)] == [("leadContextBundleBudgets", "null", "null")]


def test_budgets_nested_5000_deep_are_refused_with_the_limit(admin_on_toggles, db):
    app = admin_on_toggles
    widget(app.text_area, "cw_budgets_ws-a").input("[" * 5000 + "]" * 5000).run()
    widget(app.text_input, "cw_budgets_reason").input("deep").run()
    widget(app.button, "cw_budgets_save").click().run()
    assert not app.exception
    assert [text(e.value) for e in app.error] == [
        "Refused: budgets JSON nests 5,000 levels deep; at most 4 are accepted. Nothing was written."]
    assert audits(db) == []


def test_a_workspace_name_that_is_markdown_is_shown_as_text(admin_on_toggles, db):
    db.seed.workspace("ws-md", name="![t](http://127.0.0.1:9/t.png) **bold** https://evil.example", settings={})
    st.cache_data.clear()
    app = admin_on_toggles
    app.run()
    widget(app.selectbox, "cw_toggle_workspace").select("ws-md").run()
    lines = [m.value for m in app.markdown if "is now" in m.value] + [c.label for c in app.checkbox]
    assert lines and all("\\!\\[t\\]\\(http\\:\\/\\/127\\.0\\.0\\.1\\:9\\/t\\.png\\)" in v for v in lines)
    assert all("![" not in v and "](" not in v and "**bold**" not in v and "https://" not in v for v in lines)
    assert any("for ![t](http://127.0.0.1:9/t.png) **bold** https://evil.example" in text(v) for v in lines)


def test_apply_with_the_write_database_down_shows_one_clear_message(admin_on_toggles, db, monkeypatch, caplog):
    app = admin_on_toggles
    monkeypatch.setenv("CANARYWATCH_WRITE_URL", DOWN_WRITE_URL)
    st.cache_resource.clear()  # the app's engines are rebuilt: reads work, the write database is down
    prepare_flip(app, "ws-a", "leadContextBundleEnabled")
    widget(app.button, "cw_toggle_apply").click().run()
    assert not app.exception
    assert [text(e.value) for e in app.error] == [
        "Not saved: the write database failed (OperationalError); the change was not saved. Try again in a "
        "moment; the audit log shows every change that was."]
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "canarywatch.rollout")
    assert logged == ("rollout write failed: OperationalError (workspace id of 4 characters, field "
                      "leadContextBundleEnabled)")
    for secret in ("127.0.0.1", "writer_secret", "hunter2", "private_db", "Traceback", ".py"):
        assert all(secret not in e.value for e in app.error) and secret not in logged
    assert stored(db, "ws-a", "leadContextBundleEnabled") is False


def test_signing_oneself_out_everywhere_ends_this_session_too(admin_on_toggles, db):
    app = admin_on_toggles
    widget(app.text_input, "cw_revoke_user").input("Admin").run()
    widget(app.button, "cw_revoke_apply").click().run()
    assert any(text(s.value) == "Every session of admin has ended." for s in app.success)
    app.run()  # the next run of this session compares its sign-in time with the new epoch
    assert app.session_state["authentication_status"] is None
    assert [t.label for t in app.text_input] == ["Username", "Password"]  # the login form, nothing else
    assert not any(b.label == "Apply change" for b in app.button)
