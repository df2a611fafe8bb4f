"""Signing in and out in a real browser, and what a forged or stale session cookie gets."""

import time

import jwt
import pytest

from tests.browser.conftest import login, screenshot, wait_idle

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
    assert page.get_by_role("heading", name="Overview").count() == 0
    # the cookie is deleted by a browser component a moment later; then a reload stays signed out
    page.wait_for_function(f"() => !document.cookie.includes('{COOKIE}=')", timeout=15_000)
    page.reload()
    page.get_by_label("Username").wait_for()
    wait_idle(page)
    assert page.get_by_test_id("stSidebarNav").count() == 0


def forged(username: str, key: str, *, days: float = 1) -> str:
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
