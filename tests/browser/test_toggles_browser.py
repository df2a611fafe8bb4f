"""Issue 4 in a real browser: a super-admin flips a toggle with a reason and sees the audit row;
an analyst has no toggle page, not even by URL."""

import http.server
import threading

import pytest
from sqlalchemy import update

from db import upstream as up
from db.engine import write_engine
from demo.embedded import ensure_demo_database
from tests.browser.conftest import VIEWPORT, copy_demo, login, screenshot, start_dashboard, wait_idle

pytestmark = pytest.mark.browser
REASON = "browser test: bundle canary for Ember"


def test_super_admin_flips_a_toggle_and_sees_the_audit_row(browser_page):
    page = browser_page
    login(page, "admin", "demo-admin-pass")
    page.get_by_role("heading", name="Overview").first.wait_for()
    # a deep link (as the canary page makes) after a reload: the session cookie signs in again
    page.goto("/toggles?workspace=ws-ember")
    page.get_by_role("heading", name="Rollout toggles").first.wait_for()
    wait_idle(page)
    page.get_by_text("This workspace has no WorkspaceSettings row").wait_for()  # ws-ember has none
    page.get_by_text("leadContextBundleEnabled is now off for Ember Health").wait_for()
    page.get_by_label("Reason (required)").fill(REASON)
    page.get_by_label("Reason (required)").press("Enter")
    wait_idle(page)
    assert page.get_by_role("button", name="Apply change").is_disabled()  # not confirmed yet
    page.get_by_text("I confirm: switch leadContextBundleEnabled on for Ember Health").click()
    wait_idle(page)
    screenshot(page, "toggles-before-apply")
    page.get_by_role("button", name="Apply change").click()
    page.get_by_text("Done: leadContextBundleEnabled off → on for Ember Health").wait_for()
    wait_idle(page)
    page.get_by_text("leadContextBundleEnabled is now on for Ember Health").wait_for()
    screenshot(page, "toggles-after-flip")
    page.get_by_test_id("stSidebarNav").get_by_text("Audit log").click()
    page.get_by_role("heading", name="Audit log").first.wait_for()
    wait_idle(page)
    page.get_by_text(REASON).first.wait_for(state="attached")  # grid cells sit behind a canvas
    screenshot(page, "audit-log")


def test_analyst_cannot_reach_the_toggle_page(browser_page):
    page = browser_page
    login(page, "analyst", "demo-analyst-pass")
    page.get_by_role("heading", name="Overview").first.wait_for()
    nav = page.get_by_test_id("stSidebarNav")
    assert nav.get_by_text("Overview").count() == 1
    assert nav.get_by_text("Rollout toggles").count() == 0
    assert nav.get_by_text("Audit log").count() == 0
    for path in ("/toggles", "/toggles?workspace=ws-acme", "/audit"):
        page.goto(path)
        page.get_by_test_id("stSidebarNav").wait_for()  # signed in again from the cookie
        wait_idle(page, settle=2)
        assert page.get_by_role("heading", name="Rollout toggles").count() == 0, path
        assert page.get_by_role("heading", name="Audit log").count() == 0, path
        assert page.get_by_role("button", name="Apply change").count() == 0, path
    screenshot(page, "analyst-toggles-url")


def test_an_engaged_kill_switch_shows_the_toggle_not_in_effect(running_app, tmp_path):
    """A second dashboard whose environment engages LEAD_CONTEXT_BUNDLE_DISABLED (upstream's 1/true/yes)."""
    env = {"CANARYWATCH_COOKIE_KEY": running_app.cookie_key, "LEAD_CONTEXT_BUNDLE_DISABLED": "yes"}
    with start_dashboard(tmp_path, env, demo=running_app.demo_template) as url:
        page = running_app.browser.new_context(base_url=url, viewport=VIEWPORT).new_page()
        page.set_default_timeout(60_000)
        try:
            login(page, "admin", "demo-admin-pass", path="/toggles?workspace=ws-acme")
            page.get_by_role("heading", name="Rollout toggles").first.wait_for()
            wait_idle(page)
            # ws-acme is the demo's bundle canary: stored on, but the switch overrides it
            page.get_by_text("on · NOT in effect (overridden by LEAD_CONTEXT_BUNDLE_DISABLED)").first.wait_for(
                state="attached")
            page.get_by_text("leadContextBundleEnabled is now on for Acme Outbound (in effect: no, overridden by "
                             "LEAD_CONTEXT_BUNDLE_DISABLED)").wait_for()
            screenshot(page, "toggles-kill-switch-engaged")
        finally:
            page.context.close()


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        _Counting.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


def test_a_workspace_name_that_is_markdown_fetches_nothing(running_app, tmp_path):
    """Finding 4: a Client.name of ![t](http://127.0.0.1:PORT/t.png) made the browser fetch the image.
    Now no request reaches a receiver at that address while the toggle and confidence pages are shown,
    and the name reads as the literal characters."""
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    name = f"![t](http://127.0.0.1:{receiver.server_address[1]}/t.png)"
    demo = copy_demo(running_app.demo_template, tmp_path)  # the session's demo, built once
    ensure_demo_database(demo)  # fresh: kept as it is, and the dashboard below uses it as it is
    engine = write_engine(f"sqlite:///{demo}")
    with engine.begin() as conn:
        conn.execute(update(up.client).where(up.client.c.id == "ws-acme").values(name=name))
    engine.dispose()
    _Counting.hits.clear()
    try:
        with start_dashboard(tmp_path, {"CANARYWATCH_COOKIE_KEY": running_app.cookie_key}) as url:
            page = running_app.browser.new_context(base_url=url, viewport=VIEWPORT).new_page()
            page.set_default_timeout(60_000)
            try:
                login(page, "admin", "demo-admin-pass", path="/toggles?workspace=ws-acme")
                page.get_by_role("heading", name="Rollout toggles").first.wait_for()
                wait_idle(page, settle=2)
                page.get_by_text(f"leadContextBundleEnabled is now on for {name}").wait_for()
                assert page.locator(f"img[src*='{receiver.server_address[1]}']").count() == 0
                screenshot(page, "toggles-markdown-name")
                page.goto("/confidence?ws=ws-acme")
                page.get_by_role("heading", name="Confidence").first.wait_for()
                wait_idle(page, settle=3)
                screenshot(page, "confidence-markdown-name")
            finally:
                page.context.close()
    finally:
        receiver.shutdown()
    assert _Counting.hits == []
