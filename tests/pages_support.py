"""Shared AppTest plumbing for the page tests (issue 3): open a page signed in, read what it shows.

- `live_demo` (module fixture, both backends): the demo data set ending at the session's start, so the
  default 24h window has data (its own database, seeded once per session: tests/conftest.live_backend;
  read-only use). Import it into a test module: `from tests.pages_support import live_demo  # noqa: F401`.
- `open_page(url, path, monkeypatch, role=...)`: the real app (app.py) against `url`, signed in
  through the login form, switched to `path` (e.g. "pages/confidence.py"), caches cleared first.
- `open_down(path, monkeypatch)`: the page file run directly against a closed port, signed in by
  session state (the page's own guard runs): what a user sees when the database is down.
- Readers: `metrics`, `subheaders`, `chart_titles`, `infos`, `errors`, `successes`, `captions`.

Extend additively (another page helper adds to this file).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from auth.roles import Role
from demo.story import Story
from tests.auth_support import APP, USER_FOR, auth_env, page_path, sign_in
from tests.backends import Backend

DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/none"


def reset_caches() -> None:
    """st.cache_data / st.cache_resource are shared by every AppTest in the process."""
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def live_demo(live_backend: tuple[Backend, Story]) -> Iterator[tuple[Backend, Story]]:
    """The live demo data set on this backend (shared by the session: do not write to it)."""
    yield live_backend
    reset_caches()


def open_page(url: str, path: str, monkeypatch: pytest.MonkeyPatch, *, role: Role = Role.ANALYST,
              timeout: float = 120) -> AppTest:
    """Sign in to the whole app on `url` and switch to the page at `path` (relative to the root)."""
    reset_caches()
    for key, value in auth_env(url).items():
        monkeypatch.setenv(key, value)
    app = sign_in(AppTest.from_file(APP, default_timeout=timeout), role)
    app.switch_page(path).run()
    return app


def open_down(path: str, monkeypatch: pytest.MonkeyPatch, *, role: Role = Role.ANALYST) -> AppTest:
    """Run the page file directly with DATABASE_URL at a closed port (signed in by session state)."""
    reset_caches()
    for key, value in auth_env(DOWN_URL).items():
        monkeypatch.setenv(key, value)
    page = AppTest.from_file(page_path(path.split("/", 1)[1]), default_timeout=60)
    page.session_state["authentication_status"] = True
    page.session_state["username"] = USER_FOR[role]
    page.session_state["roles"] = [role.value]
    return page.run()


def metrics(app: AppTest) -> dict[str, str]:
    """Metric tile label -> shown value."""
    return {m.label: m.value for m in app.metric}


def subheaders(app: AppTest) -> list[str]:
    return [h.value for h in app.subheader]


def chart_titles(app: AppTest) -> list[str]:
    """The title of every plotly chart on the page (from the figure JSON)."""
    titles = []
    for chart in app.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        titles.append(spec.get("layout", {}).get("title", {}).get("text", ""))
    return titles


def chart_spec(app: AppTest, title: str) -> dict:
    """The figure JSON of the chart with this title."""
    for chart in app.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if spec.get("layout", {}).get("title", {}).get("text", "") == title:
            return spec
    raise KeyError(title)


def infos(app: AppTest) -> list[str]:
    return [i.value for i in app.info]


def errors(app: AppTest) -> list[str]:
    return [e.value for e in app.error]


def successes(app: AppTest) -> list[str]:
    return [s.value for s in app.success]


def captions(app: AppTest) -> list[str]:
    return [c.value for c in app.caption]


def markdown(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown]


# -- added for the overseer, bundle, booking, offload and telemetry page tests ---------------------

def ago(*, minutes: float = 0, hours: float = 0, days: float = 0) -> datetime:
    """A moment before now (aware UTC): rows planted here fall in the pages' default 24h window."""
    from datetime import timedelta

    return datetime.now(UTC) - timedelta(minutes=minutes, hours=hours, days=days)


def choose_workspaces(app: AppTest, workspaces: list[str]) -> AppTest:
    """Pick workspaces in the shared sidebar filter and rerun."""
    return app.multiselect(key="cw_filter_workspaces").set_value(workspaces).run()


def warnings(app: AppTest) -> list[str]:
    return [w.value for w in app.warning]


def all_text(app: AppTest) -> str:
    """Every text element and table cell on the page, to check that no value leaks."""
    parts = [e.value for kind in ("title", "markdown", "caption", "info", "error", "warning", "success")
             for e in getattr(app, kind)]
    parts += [m.label + " " + m.value for m in app.metric]
    parts += [table.value.to_string() for table in app.dataframe]
    return "\n".join(str(p) for p in parts)
