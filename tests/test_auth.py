"""Sign-in and roles through the real app (AppTest), on both backends, plus the refusals."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from auth.credentials import DEMO_CREDENTIALS, CredentialsError, load_auth_settings
from auth.roles import Role
from auth.throttle import LoginThrottle, ThrottlePolicy
from tests.auth_support import APP, TEST_COOKIE_KEY, TEST_CREDENTIALS, auth_env, page_path, sign_in
from tests.seed import at
from ui.navigation import PAGES


@pytest.fixture
def app_env(db, monkeypatch):
    """A signed-out app on the test database (both backends), caches cleared."""
    st.cache_data.clear()
    st.cache_resource.clear()
    db.seed.workspace("ws-a", name="Alpha", settings={})
    for key, value in auth_env(db.backend.url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CANARYWATCH_DEMO_PATH", raising=False)
    yield db
    st.cache_data.clear()
    st.cache_resource.clear()


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def errors(app: AppTest) -> list[str]:
    return [e.value for e in app.error]


@pytest.mark.parametrize(("role", "spec"), [(r, s) for r in Role for s in PAGES], ids=lambda v: getattr(v, "path", v))
def test_each_role_sees_exactly_its_pages(app_env, role, spec):
    app = sign_in(new_app(), role)
    assert not app.exception
    if role in spec.roles:
        app.switch_page(spec.path).run()
        assert not app.exception, spec.path
        assert not any("may not open" in e for e in errors(app)), spec.path
        assert app.title[0].value == spec.title
    else:
        with pytest.raises(ValueError):
            app.switch_page(spec.path)


def test_signed_out_visitor_reaches_no_page(app_env):
    app = new_app().run()
    assert [t.label for t in app.text_input] == ["Username", "Password"]
    for spec in PAGES:
        with pytest.raises(ValueError):
            app.switch_page(spec.path)


@pytest.mark.parametrize(("spec", "role"), [(s, r) for s in PAGES for r in Role if r not in s.roles])
def test_direct_run_of_a_page_refuses_a_role_without_access(app_env, spec, role):
    page = AppTest.from_file(page_path(spec.path.split("/", 1)[1]), default_timeout=60)
    page.session_state["authentication_status"] = True
    page.session_state["username"] = "someone"
    page.session_state["roles"] = [role.value]
    page.run()
    assert any("may not open this page" in e for e in errors(page))


def test_direct_run_of_a_page_signed_out_asks_to_sign_in(app_env):
    page = AppTest.from_file(page_path("overview.py"), default_timeout=60).run()
    assert [w.value for w in page.warning] == ["Sign in to see this page."]
    assert not page.dataframe


def test_wrong_password_is_refused(app_env):
    app = sign_in(new_app(), Role.ANALYST, password="not-the-password")
    assert errors(app) == ["Wrong username or password."]
    with pytest.raises(ValueError):
        app.switch_page("pages/overview.py")


def test_five_failures_lock_the_username_even_for_the_right_password(app_env):
    app = new_app()
    for _ in range(5):
        app = sign_in(app, Role.ANALYST, password="guess")
    assert errors(app) == ["Wrong username or password."]
    app = sign_in(app, Role.ANALYST)
    assert errors(app)[0].startswith("Too many failed sign-ins for this username.")
    with pytest.raises(ValueError):
        app.switch_page("pages/overview.py")
    # another user is not affected
    other = sign_in(new_app(), Role.OPERATOR)
    assert not errors(other)


def test_throttle_window_and_lockout_are_exact(db):
    throttle = LoginThrottle(db.backend.write, ThrottlePolicy(max_failures=3))
    for minute in (0, 4, 9):
        throttle.record_failure("Eve", now=at(minutes=minute))
    # 3 failures within 10 minutes: locked until 10 minutes after the last one
    assert throttle.locked_until("eve", now=at(minutes=10)) == at(minutes=19)
    assert throttle.locked_until("eve", now=at(minutes=19)) is None
    throttle.reset("eve")
    for minute in (0, 6, 12):  # never 3 within 10 minutes
        throttle.record_failure("mallory", now=at(minutes=minute))
    assert throttle.locked_until("mallory", now=at(minutes=13)) is None


def test_real_database_refuses_the_library_default_cookie_key(app_env, monkeypatch):
    monkeypatch.setenv("CANARYWATCH_COOKIE_KEY", "some_key")
    app = new_app().run()
    assert errors(app) == ["canarywatch will not start: CANARYWATCH_COOKIE_KEY is the library's default "
                           "'some_key': set a real secret."]
    assert not app.text_input


@pytest.mark.parametrize(("env", "message"), [
    ({"CANARYWATCH_CREDENTIALS": str(TEST_CREDENTIALS)}, "CANARYWATCH_COOKIE_KEY is not set"),
    ({"CANARYWATCH_CREDENTIALS": str(TEST_CREDENTIALS), "CANARYWATCH_COOKIE_KEY": "short"}, "at least 32"),
    ({"CANARYWATCH_CREDENTIALS": str(DEMO_CREDENTIALS), "CANARYWATCH_COOKIE_KEY": TEST_COOKIE_KEY},
     "shipped demo password hash"),
    ({"CANARYWATCH_COOKIE_KEY": TEST_COOKIE_KEY}, "no credentials are configured"),
])
def test_real_database_refuses_unsafe_settings(env, message):
    with pytest.raises(CredentialsError, match=message):
        load_auth_settings(demo=False, env=env)


def strict_env(creds) -> dict[str, str]:
    return {"CANARYWATCH_CREDENTIALS": str(creds), "CANARYWATCH_COOKIE_KEY": TEST_COOKIE_KEY}


def test_plain_text_passwords_are_refused(tmp_path):
    creds = tmp_path / "creds.yaml"
    creds.write_text("usernames:\n  bob:\n    name: Bob\n    password: hunter2\n    roles: [analyst]\n")
    with pytest.raises(CredentialsError, match="no bcrypt password hash"):
        load_auth_settings(demo=False, env=strict_env(creds))


def test_unknown_roles_grant_nothing(tmp_path):
    creds = tmp_path / "creds.yaml"
    hashed = "$2b$10$" + "a" * 53
    creds.write_text(f"usernames:\n  bob:\n    password: '{hashed}'\n    roles: [root]\n")
    with pytest.raises(CredentialsError, match="no known role"):
        load_auth_settings(demo=False, env=strict_env(creds))


def test_demo_uses_shipped_users_and_a_random_key():
    settings = load_auth_settings(demo=True, env={}, demo_key=TEST_COOKIE_KEY)
    assert settings.demo_users is True
    assert set(settings.credentials["usernames"]) == {"admin", "operator", "analyst"}
    assert settings.cookie_expiry_days == 8 / 24
