"""URLs are state, refused pages say why, audit rows lead to their views (issue 13), in a real browser.

- a link with filters, opened before sign-in, opens that page after sign-in with the widgets and the
  figures following the link; changing a filter writes it back to the address bar;
- an analyst typing /toggles is told which role that page needs and gets a link home;
- an audit row leads to the canary view of that change with its workspace, split and field;
- the Overview lists the demo's active canary with its verdict first, and its link opens that canary judged;
- no page asks any host but the app's own (127.0.0.1) for anything;
- on a fresh demo the sign-in form is there while the demo data is still being generated (progress
  shown), and signing in then opens the Overview once the data is in.
"""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import VIEWPORT, login, screenshot, start_dashboard, wait_idle

pytestmark = pytest.mark.browser
CANARY_WS, QUIET_WS = "ws-acme", "ws-birch"  # demo/story.py


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_a_link_with_filters_opened_before_sign_in_restores_them(browser_page):
    page = browser_page
    login(page, "analyst", "demo-analyst-pass", path=f"/confidence?window=7d&ws={QUIET_WS}&channel=email&refresh=1m")
    page.get_by_role("heading", name="Auto-send confidence", exact=True).first.wait_for()
    wait_idle(page)
    assert urlparse(page.url).path.endswith("/confidence"), page.url
    sidebar = page.get_by_test_id("stSidebar")
    selects = sidebar.get_by_test_id("stSelectbox").locator("input").evaluate_all("els => els.map(e => e.value)")
    assert selects == ["Last 7d", "email"], selects
    assert "Birch" in sidebar.get_by_test_id("stMultiSelect").inner_text()
    main = page.get_by_test_id("stMain")
    assert main.get_by_test_id("stSelectbox").locator("input").evaluate_all("els => els.map(e => e.value)") == [
        "Every minute"]
    shown = query(page)
    assert shown["window"] == ["7d"] and shown["ws"] == [QUIET_WS] and shown["channel"] == ["email"], shown
    assert shown["refresh"] == ["1m"], shown
    # the copy-link box holds this very view
    link = sidebar.get_by_test_id("stCode").inner_text().replace("\n", "")
    assert urlparse(link).path.endswith("/confidence") and parse_qs(urlparse(link).query) == shown, link
    # the figures follow: the window caption and the charts' x range span 7 days
    caption = sidebar.get_by_text("Window:").inner_text()
    assert caption.startswith("Window: "), caption
    figure = page.evaluate("() => { const p = [...document.querySelectorAll('.js-plotly-plot')].find("
                           "p => p._fullLayout && p._fullLayout.xaxis.type === 'date'); "
                           "return p ? p._fullLayout.xaxis.range : null; }")
    assert figure is not None, "a chart is drawn"
    start, end = (datetime.fromisoformat(str(x)[:19]) for x in figure)
    assert (end - start).days >= 5, figure
    screenshot(page, "link-confidence-7d-birch-email")
    # a changed filter is written back to the address bar
    sidebar.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="Last 30d").click()
    page.wait_for_function("() => location.search.includes('window=30d')", timeout=30_000)
    assert query(page)["ws"] == [QUIET_WS]


def test_an_analyst_opening_toggles_is_told_which_role_it_needs(browser_page):
    page = browser_page
    login(page, "analyst", "demo-analyst-pass", path="/toggles")
    wait_idle(page)
    screenshot(page, "refused-toggles-analyst")
    page.get_by_text("This page needs the super_admin role.").wait_for()
    assert urlparse(page.url).path.endswith("/toggles"), page.url
    assert page.get_by_test_id("stMain").get_by_role("link", name="Back to the Overview").count() == 1
    assert page.get_by_test_id("stSidebarNav").get_by_text("Rollout toggles").count() == 0
    screenshot(page, "refused-toggles-analyst")
    page.get_by_role("link", name="Back to the Overview").click()
    page.get_by_role("heading", name="Overview", exact=True).first.wait_for()


def test_an_audit_row_links_to_the_canary_view_of_that_change(browser_page):
    page = browser_page
    login(page, "operator", "demo-operator-pass", path="/audit?window=30d")
    page.get_by_role("heading", name="Audit log", exact=True).first.wait_for()
    grid = page.get_by_test_id("stDataFrame")
    grid.wait_for()
    wait_idle(page)
    screenshot(page, "audit-operator")
    # the grid is drawn on a canvas: choose the newest row (the demo canary's autoSendRevisionEnabled change)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 14, box["y"] + 52)
    link = page.get_by_role("link", name="Canary view of this change")
    link.wait_for()
    # an operator may open the canary view, not the pre/post compare (analyst, super_admin)
    assert page.get_by_role("link", name="Pre/post compare of this change").count() == 0
    link.click()
    page.get_by_role("heading", name="Canary window", exact=True).first.wait_for()
    wait_idle(page)
    shown = query(page)
    assert shown.get("ws") == [CANARY_WS] and shown.get("field") == ["autoSendRevisionEnabled"], page.url
    assert shown.get("split", [""])[0].endswith(":00:00Z"), page.url
    screenshot(page, "audit-to-canary-operator")


def test_the_overview_shows_the_active_canary_with_its_verdict_and_links_to_it(browser_page):
    page = browser_page
    login(page, "operator", "demo-operator-pass")
    main = page.get_by_test_id("stMain")
    # the demo canary (demo/story.py): Acme Outbound's revision change, failing
    link = main.get_by_role("link", name="Acme Outbound · autoSendRevisionEnabled · FAIL")
    link.first.wait_for(timeout=120_000)
    main.get_by_text("Health in this window").first.wait_for(timeout=120_000)
    wait_idle(page)  # a rerun's elements replace the previous run's: count once it is over
    headings = main.locator("h2, h3").all_inner_texts()
    health = next(i for i, h in enumerate(headings) if h.startswith("Health"))
    assert headings.index("Active canaries") < health, headings  # the canaries come first
    screenshot(page, "overview-active-canary-operator")
    link.click()
    main.get_by_role("heading", name="Canary window", exact=True).first.wait_for()
    shown = query(page)
    assert shown.get("ws") == [CANARY_WS] and shown.get("field") == ["autoSendRevisionEnabled"], page.url
    main.get_by_role("heading", name="Platform health").wait_for(timeout=120_000)
    assert main.locator("h2").first.inner_text().startswith("FAIL"), main.locator("h2").first.inner_text()
    assert page.get_by_test_id("stException").count() == 0


def test_no_page_asks_another_host(running_app):
    hosts: dict[str, set[str]] = {}
    page = running_app.new_page()
    current = {"page": "login"}
    page.on("request", lambda request: hosts.setdefault(current["page"], set()).add(urlparse(request.url).hostname
                                                                                      or request.url[:20]))
    try:
        login(page, "admin", "demo-admin-pass")
        from ui.navigation import PAGES

        for spec in PAGES:
            current["page"] = spec.title
            page.get_by_test_id("stSidebarNav").get_by_text(spec.title, exact=True).click()
            page.get_by_role("heading", name=spec.title, exact=True).first.wait_for()
            wait_idle(page)
    finally:
        page.context.close()
    outside = {name: sorted(h - {"127.0.0.1"}) for name, h in hosts.items() if h - {"127.0.0.1"}}
    assert not outside, outside


def test_a_fresh_demo_shows_the_sign_in_form_while_its_data_is_generated(running_app, tmp_path):
    with start_dashboard(tmp_path) as url:
        healthy = time.monotonic()
        context = running_app.browser.new_context(base_url=url, viewport=VIEWPORT)
        try:
            page = context.new_page()
            # the first visitor of a fresh process is not shown the page list (v1 pages mode: ui.serve)
            page.add_init_script("new MutationObserver(() => { if (document.querySelector("
                                 "'[data-testid=stSidebarNav]')) window.cwNavSeen = true; })"
                                 ".observe(document, {childList: true, subtree: true});")
            page.goto("/overview")
            page.get_by_label("Username").wait_for(timeout=30_000)
            form_after = time.monotonic() - healthy
            try:  # drawn right after the form, in the same run
                page.get_by_test_id("stProgress").first.wait_for(timeout=10_000)
                building = True
            except PlaywrightTimeout:
                building = False
            screenshot(page, "first-start-signin")
            print(f"sign-in form {form_after:.2f} s after health; progress bar shown: {bool(building)}")
            assert building, "the form is up before the demo data, with the build's progress"
            assert not page.evaluate("window.cwNavSeen === true"), "a signed-out visitor saw the page list"
            login(page, "analyst", "demo-analyst-pass", path="/overview")
            # the page shows the build's progress until the demo data is there (about 10 s idle, over a minute
            # on a loaded machine), then its title and health section
            try:
                page.get_by_role("heading", name="Overview", exact=True).first.wait_for(timeout=180_000)
            except PlaywrightTimeout:
                screenshot(page, "first-start-no-overview")
                raise
            page.get_by_text("Health in this window").first.wait_for(timeout=120_000)
            wait_idle(page)
            assert page.get_by_test_id("stException").count() == 0
        finally:
            context.close()
