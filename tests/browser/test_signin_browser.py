"""Signing in and out in a real browser, what a forged, stale or replayed session cookie gets, and
signing in on a read-only deployment (issue 12 finding 1, issue 9 item 6)."""

import time

import jwt
import pytest

from tests.auth_support import TEST_COOKIE_KEY, TEST_CREDENTIALS, TEST_PASSWORDS
from tests.browser.conftest import VIEWPORT, login, screenshot, start_dashboard, wait_idle
from tests.readonly_support import read_only_database

pytestmark = pytest.mark.browser
COOKIE = "canarywatch_auth"


def test_wrong_password_is_refused_in_the_browser(browser_page):
    login(browser_page, "analyst", "wrong-password")
    browser_page.get_by_text("Wrong username or password.").wait_for()
    assert browser_page.get_by_test_id("stSidebarNav").count() == 0
    screenshot(browser_page, "login-refused")


def test_sign_in_shows_the_overview_and_sign_out_returns_to_the_form(browser_page):
    page = browser_page
    login(page, "operator", "demo-operator-pass")
    page.get_by_role("heading", name="Overview").first.wait_for()
    page.get_by_text("Demo data.").first.wait_for()
    screenshot(page, "overview-operator")
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Username").wait_for()
    # the form is drawn before the run ends; the page's last elements go when it does
    page.get_by_role("heading", name="Overview").first.wait_for(state="detached", timeout=30_000)
    assert page.get_by_role("heading", name="Overview").count() == 0
    # the cookie is deleted by a browser component a moment later; then a reload stays signed out
    page.wait_for_function(f"() => !document.cookie.includes('{COOKIE}=')", timeout=15_000)
    page.reload()
    page.get_by_label("Username").wait_for()
    wait_idle(page)
    assert page.get_by_test_id("stSidebarNav").count() == 0


def forged(username: str, key: str, *, days: float = 0.25) -> str:
    """A token as the library writes it; 6 hours left of the default 8-hour session."""
    return jwt.encode({"username": username, "exp_date": time.time() + days * 86400}, key, algorithm="HS256")


@pytest.mark.parametrize(("case", "token"), [
    ("signed with another key", lambda key: forged("admin", "not-the-key-" + "x" * 40)),
    ("user not in the credentials", lambda key: forged("ghost", key)),
    ("expired", lambda key: forged("admin", key, days=-1)),
    ("not a token", lambda key: "garbage.garbage.garbage"),
])
def test_a_forged_or_stale_cookie_gets_only_the_login_form(running_app, case, token):
    page = running_app.new_page()
    try:
        page.context.add_cookies([{"name": COOKIE, "value": token(running_app.cookie_key), "url": running_app.url}])
        page.goto("/toggles")
        page.get_by_label("Username").wait_for()
        wait_idle(page, settle=2)
        assert page.get_by_test_id("stSidebarNav").count() == 0, case
        assert page.get_by_test_id("stException").count() == 0, case
        assert page.get_by_role("heading", name="Rollout toggles").count() == 0, case
    finally:
        page.context.close()


def test_a_valid_cookie_signs_in_with_the_roles_from_the_credentials(running_app):
    page = running_app.new_page()
    try:
        page.context.add_cookies([{"name": COOKIE, "value": forged("analyst", running_app.cookie_key),
                                   "url": running_app.url}])
        page.goto("/")
        page.get_by_role("heading", name="Overview").first.wait_for()
        assert page.get_by_test_id("stSidebarNav").get_by_text("Rollout toggles").count() == 0
    finally:
        page.context.close()


def test_a_cookie_copied_before_logout_is_refused_afterwards(running_app):
    """Finding 1: copy canarywatch_auth, log out, replay it in a new browser context: the login form."""
    page = running_app.new_page()
    try:
        login(page, "admin", "demo-admin-pass")
        page.get_by_role("heading", name="Overview").first.wait_for()
        page.wait_for_function(f"() => document.cookie.includes('{COOKIE}=')", timeout=15_000)
        page.goto("/toggles")  # the cookie signs this load in: it is a live session cookie
        page.get_by_role("heading", name="Rollout toggles").first.wait_for()
        wait_idle(page)
        stolen = next(c for c in page.context.cookies() if c["name"] == COOKIE)
        page.get_by_role("button", name="Log out").click()
        page.get_by_label("Username").first.wait_for()
        page.wait_for_function(f"() => !document.cookie.includes('{COOKIE}=')", timeout=15_000)
    finally:
        page.context.close()
    replay = running_app.new_page()
    try:
        replay.context.add_cookies([{"name": COOKIE, "value": stolen["value"], "url": running_app.url}])
        replay.goto("/toggles")
        replay.get_by_label("Username").first.wait_for()
        wait_idle(replay, settle=2)
        assert replay.get_by_test_id("stSidebarNav").count() == 0
        assert replay.get_by_role("heading", name="Rollout toggles").count() == 0
        assert replay.get_by_test_id("stException").count() == 0
        screenshot(replay, "replayed-cookie-after-logout")
    finally:
        replay.context.close()


def test_signing_in_works_with_only_a_read_only_database_url(running_app, tmp_path):
    """Issue 9 item 6: DATABASE_URL names a role that may only SELECT, CANARYWATCH_WRITE_URL is unset."""
    with read_only_database() as url:
        env = {"DATABASE_URL": url, "CANARYWATCH_CREDENTIALS": str(TEST_CREDENTIALS),
               "CANARYWATCH_COOKIE_KEY": TEST_COOKIE_KEY}
        with start_dashboard(tmp_path, env) as app_url:
            page = running_app.browser.new_context(base_url=app_url, viewport=VIEWPORT).new_page()
            page.set_default_timeout(60_000)
            try:
                login(page, "operator", TEST_PASSWORDS["operator"])
                page.get_by_test_id("stSidebarNav").wait_for()
                wait_idle(page)
                assert page.get_by_text("Signed in as").count() == 1
                assert page.get_by_text("cannot be reached").count() == 0
                assert page.get_by_test_id("stException").count() == 0
                screenshot(page, "signin-read-only-database")
            finally:
                page.context.close()
        log = (tmp_path / "streamlit.log").read_text()
        assert "kept per process" in log and "hunter2" not in log
