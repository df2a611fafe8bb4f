"""The canary page in a real browser as an operator and a super admin: it opens on the active
canaries, choosing the demo canary's revision change judges it with no traceback, and the rollback
steps are the revision field's (AUTO_SEND_REVISION_DISABLED first); only the super admin gets the
link to the toggle page (an operator's link would have crashed the page: issue 10). The evidence zip holds
every packet file and its manifest (issue 15)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import choose_option, login, screenshot, wait_idle

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("user", "password", "links"), [("operator", "demo-operator-pass", False),
                                                          ("admin", "demo-admin-pass", True)])
def test_canary_page_judges_the_chosen_canary_without_a_traceback(browser_page, user, password, links):
    page = browser_page
    login(page, user, password)
    page.get_by_test_id("stSidebarNav").get_by_text("Canary window", exact=True).click()
    main = page.get_by_test_id("stMain")
    main.get_by_role("heading", name="Active canaries").first.wait_for(timeout=120_000)
    choose_option(page, main.get_by_test_id("stSelectbox").first, "Acme Outbound · autoSendRevisionEnabled")
    wait_idle(page)
    main.get_by_role("heading", name="Platform health").first.wait_for(timeout=120_000)
    wait_idle(page)  # under load the rest of the page is still being drawn when that heading shows
    assert page.get_by_test_id("stException").count() == 0
    assert main.get_by_text("Traceback").count() == 0
    headline = main.locator("h2").first.inner_text()
    assert headline.split(" · ")[0] in ("FAIL", "PASS", "MARGINAL", "INSUFFICIENT_DATA",
                                        "PLATFORM_INCIDENT: canary not judged"), headline
    if "PASS" not in headline and "INSUFFICIENT" not in headline:
        assert main.get_by_text("Rollback: autoSendRevisionEnabled").count() >= 1
        assert main.get_by_text("Set AUTO_SEND_REVISION_DISABLED=1", exact=False).count() >= 1
        if links:
            main.locator("a[href*='toggles']").first.wait_for(timeout=30_000)
        toggle_links = main.locator("a[href*='toggles']").count()
        assert (toggle_links > 0) is links, toggle_links
    screenshot(page, f"canary-{user}")
    assert_packet_download(page, main)


def assert_packet_download(page, main) -> None:
    """Issue 15: the zip holds the three reports, the offload snapshot and manifest.json, whose hashes match."""
    import hashlib
    import io
    import json
    import zipfile
    from pathlib import Path

    with page.expect_download(timeout=60_000) as info:
        main.get_by_role("button", name="Download the evidence packet (zip)").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    names = set(archive.namelist())
    kinds = {n.split("-")[0] for n in names}
    assert {"baseline", "verification", "pre", "offload", "manifest.json"} <= kinds, names
    listed = {f["name"]: f["sha256"] for f in json.loads(archive.read("manifest.json"))["files"]}
    assert set(listed) == names - {"manifest.json"}
    assert all(hashlib.sha256(archive.read(n)).hexdigest() == digest for n, digest in listed.items())
