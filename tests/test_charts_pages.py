"""The pages draw readable charts (issue 11 point 1), on the live demo, both backends: over all workspaces
the per-workspace charts show the fleet total, the top N and "other"; every chart has its CSV."""

from __future__ import annotations

import json

from auth.roles import Role
from tests.pages_support import chart_spec, live_demo, open_page  # noqa: F401 - live_demo is a fixture
from ui import charts


def legend(spec: dict) -> list[str]:
    return [t.get("name", "") for t in spec["data"] if t.get("showlegend", True) is not False]


def test_the_confidence_page_shows_the_fleet_the_top_workspaces_and_other(live_demo, monkeypatch):  # noqa: F811
    backend, _ = live_demo
    monkeypatch.setattr(charts, "TOP_N", 3)
    app = open_page(backend.url, "pages/confidence.py", monkeypatch, role=Role.ANALYST)
    assert not app.exception
    rate = chart_spec(app, "needs_review rate over time")
    assert legend(rate)[0] == "fleet total" and legend(rate)[-1] == "other"
    assert len(legend(rate)) == 3 + 2
    # every chart on the page has a CSV download of the data behind it
    charts_drawn = app.get("plotly_chart")
    downloads = [b for b in app.get("download_button") if b.proto.label == "CSV"]
    assert len(charts_drawn) == len(downloads) >= 5
    assert all(json.loads(c.proto.spec)["layout"]["xaxis"]["automargin"] for c in charts_drawn)
