"""A real dashboard process and a real Chromium: the fixtures every browser test uses.

- `demo_template` (session): the embedded demo database, built once per session (it takes half a minute
  or more); `copy_demo(template, folder)` puts a copy where a dashboard finds it fresh and uses it as is.
- `running_app` (session): `streamlit run app.py` on a free port, on its own embedded demo database in
  a temp folder (CANARYWATCH_DEMO_PATH, a copy of the template), waited for, plus a headless Chromium.
  It yields a `RunningApp` with `.url`, `.browser`, `.cookie_key` (a known key, so tests can forge
  cookies), `.demo_template` and `.new_page()`. Share it: a test starts its own instance only when it
  needs another environment: `start_dashboard(folder, env, demo=template)` (e.g. a kill switch; without
  `demo` the instance builds its demo from nothing, as on a first start).
- `browser_page`: a fresh page (own cookies) whose relative URLs resolve against the app.
- `login(page, user, password)`, `wait_idle(page)`, `screenshot(page, name)` (saved under /tmp/shots/).

Chromium comes from Debian (/usr/bin/chromium), never from `playwright install`. Under CI=true a
missing Chromium fails; elsewhere the browser tests are skipped with a message saying so.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from demo.embedded import ensure_demo_database
from tests.backends import in_ci

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path("/tmp/shots")
VIEWPORT = {"width": 1500, "height": 1000}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not become healthy in time")


def copy_demo(template: Path, folder: Path) -> Path:
    """A copy of the demo database `template` as `folder`/demo.sqlite (through SQLite's backup, so it is
    consistent whatever journal the template keeps); returns its path."""
    target = folder / "demo.sqlite"
    with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    return target


@contextmanager
def start_dashboard(folder: Path, env: Mapping[str, str] | None = None, *, demo: Path | None = None) -> Iterator[str]:
    """Run the app on the embedded demo database in `folder`; yields its URL, stops it after.

    With `demo` (a built demo database, `demo_template`) the instance starts on a copy of it; without,
    it builds its own in the background as a first start does. The parent's CANARYWATCH_* and
    DATABASE_URL variables are dropped; `env` adds what a test needs.
    """
    if demo is not None:
        copy_demo(demo, folder)
    port = _free_port()
    child = {k: v for k, v in os.environ.items() if not k.startswith("CANARYWATCH_") and k != "DATABASE_URL"}
    child.update(CANARYWATCH_DEMO_PATH=str(folder / "demo.sqlite"), CANARYWATCH_LOGIN_SLEEP="0.7",
                 CANARYWATCH_SUMMARY_REFRESH="off", PYTHONPATH=str(ROOT))
    child.update(env or {})
    log = (folder / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.serve", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=child, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def launch_chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is not installed (apt-get install -y chromium)"
        if in_ci():
            pytest.fail(f"{message}; CI must run the browser tests", pytrace=False)
        pytest.skip(f"{message}; browser tests skipped on this machine")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class RunningApp:
    url: str
    browser: Any  # playwright Browser
    cookie_key: str
    folder: Path
    demo_template: Path

    def new_page(self, **context_options: Any) -> Any:
        """A page in a fresh context (no cookies); `page.goto("/toggles")` resolves against the app."""
        context = self.browser.new_context(base_url=self.url, viewport=VIEWPORT, **context_options)
        page = context.new_page()
        page.set_default_timeout(60_000)
        return page


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded demo database as a first start builds it, built once for every dashboard that needs
    no first start of its own (each gets a copy: the shared one is written to by the toggle test)."""
    path = tmp_path_factory.mktemp("demo-template") / "demo.sqlite"
    ensure_demo_database(path)
    return path


@pytest.fixture(scope="session")
def running_app(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[RunningApp]:
    folder = tmp_path_factory.mktemp("dashboard")
    key = "browser-test-" + secrets.token_hex(32)
    with launch_chromium() as browser, start_dashboard(folder, {"CANARYWATCH_COOKIE_KEY": key},
                                                       demo=demo_template) as url:
        yield RunningApp(url, browser, key, folder, demo_template)


@pytest.fixture(scope="session")
def dashboard(running_app: RunningApp) -> str:
    """The running app's URL."""
    return running_app.url


@pytest.fixture
def browser_page(running_app: RunningApp) -> Iterator[Any]:
    page = running_app.new_page()
    yield page
    page.context.close()


def wait_idle(page, settle: float = 1.0) -> None:
    """Wait until Streamlit is not running a script (the status widget is gone), then a moment more."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    time.sleep(settle)


def login(page, user: str, password: str, *, path: str = "/") -> None:
    """Open `path` of the app (relative to the page's base URL) and submit the login form.

    Returns once signed in (the sidebar navigation is there) or an error is shown. The cookie
    component's first load reruns the script and can swallow a submit, so it waits for an idle app
    first and submits again when the form did not answer.
    """
    page.goto(path)
    page.get_by_label("Username").first.wait_for()
    # signed in (the page list; or, while a fresh demo is still generating its data, which a loaded machine
    # makes outlast the sign-in, only the Log out button), or refused
    answered = (page.locator("[data-testid=stSidebarNav], [data-testid=stAlertContentError]")
                .or_(page.get_by_role("button", name="Log out")))
    for _ in range(3):
        wait_idle(page, settle=1.5)
        if answered.count():
            return
        # a rerun under load can briefly show the old and the new form together
        try:
            page.wait_for_function("document.querySelectorAll('input[aria-label=Username]').length === 1",
                                   timeout=30_000)
        except PlaywrightTimeout:
            screenshot(page, f"login-form-never-single-{user}")  # what the browser showed instead
            raise
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Login").click()
        try:
            answered.first.wait_for(timeout=15_000)
        except PlaywrightTimeout:
            continue
        wait_idle(page)
        return
    raise AssertionError(f"the login form never answered for {user!r}")


def choose_option(page, box, text: str, *, tries: int = 3) -> None:
    """Open the selectbox `box` and click its option containing `text`. A rerun that finishes while the list
    is open redraws the box and closes the list, so the app is let go idle first and the list reopened when
    the option does not show."""
    option = page.get_by_role("option").filter(has_text=text).first
    for attempt in range(tries):
        wait_idle(page)
        box.click()
        try:
            option.wait_for(timeout=15_000)
        except PlaywrightTimeout:
            if attempt == tries - 1:
                screenshot(page, "option-never-shown")
                raise
            page.keyboard.press("Escape")
            continue
        option.click()
        return


def screenshot(page, name: str) -> Path:
    """The whole page, including what Streamlit's scrolling main area hides, as /tmp/shots/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll("
                           "'[data-testid=stMain], [data-testid=stMainBlockContainer], section')]"
                           ".map(e => e.scrollHeight), document.body.scrollHeight)")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(max(size["height"], height + 40), 8000)})
    time.sleep(0.5)
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
    return path
