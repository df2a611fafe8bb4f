"""Every page a super-admin may open, in a real browser: its title, its content, no traceback, no error box.

Pages come from ui/navigation.PAGES (so a page added later is covered). Each is opened twice through
the sidebar; the second, warm pass is timed (title and the page's run finished) and printed, and a
full-page screenshot of it lands in /tmp/shots/page-<name>.png.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from auth.roles import Role
from tests.browser.conftest import login, screenshot, wait_idle
from ui.navigation import PAGES, allowed

pytestmark = pytest.mark.browser
SUPER_ADMIN_PAGES = [spec for spec in PAGES if allowed(spec, frozenset({Role.SUPER_ADMIN}))]


def open_from_sidebar(page, title: str) -> float:
    started = time.monotonic()
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title, exact=True).first.wait_for()
    wait_idle(page, settle=0)
    return time.monotonic() - started


def test_super_admin_opens_every_page_and_finds_its_title(browser_page):
    page = browser_page
    login(page, "admin", "demo-admin-pass")
    assert len(SUPER_ADMIN_PAGES) == len(PAGES), "a super-admin may open every page"
    for spec in SUPER_ADMIN_PAGES:  # first pass: fills the caches
        open_from_sidebar(page, spec.title)
    warm = {}
    for spec in SUPER_ADMIN_PAGES:
        warm[spec.title] = open_from_sidebar(page, spec.title)
        wait_idle(page)
        main = page.get_by_test_id("stMain")
        assert main.get_by_role("heading", name=spec.title, exact=True).count() >= 1, spec.title
        assert page.get_by_test_id("stException").count() == 0, spec.title
        assert main.get_by_text("Traceback").count() == 0, spec.title
        errors = main.get_by_test_id("stAlertContentError").all_inner_texts()
        assert not errors, (spec.title, errors)
        # under load the idle signal can come before the page's content is drawn: give it time
        shown = main.locator("[data-testid=stMetric], [data-testid=stDataFrame], [data-testid=stPlotlyChart], "
                             "[data-testid=stAlertContentInfo]:has-text('in this window')")
        try:
            shown.first.wait_for(timeout=30_000)
        except PlaywrightTimeout:
            raise AssertionError(f"{spec.title}: no tiles, table, chart or empty-window sentence") from None
        screenshot(page, f"page-{spec.path.split('/')[-1].removesuffix('.py')}")
    print("warm page loads (s):", {title: round(seconds, 2) for title, seconds in warm.items()})
