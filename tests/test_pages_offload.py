"""Offload health page (AppTest, both backends): queue figures, function failures, filter, empty, down."""

from __future__ import annotations

import pytest

from tests.pages_support import (
    ago,
    chart_titles,
    choose_workspaces,
    errors,
    infos,
    metrics,
    open_down,
    open_page,
    reset_caches,
)

PAGE = "pages/offload.py"


@pytest.fixture(autouse=True)
def _fresh_caches():
    yield
    reset_caches()


@pytest.fixture
def planted(db):
    """Alpha's INBOXXIA events (workspaceId = its EmailBison id): one PENDING, due for 30 minutes; one
    SUCCEEDED on its second attempt. cron-followups: 10 runs, 1 failed (global, no workspace)."""
    s = db.seed
    s.workspace("ws-a", name="Alpha", bison="bison-1", settings={})
    s.workspace("ws-b", name="Beta", bison="bison-2", settings={})
    s.webhook(provider="INBOXXIA", workspace_id="bison-1", created=ago(hours=2), status="PENDING",
              run_at=ago(minutes=30), attempts=0)
    s.webhook(provider="INBOXXIA", workspace_id="bison-1", created=ago(hours=3), status="SUCCEEDED",
              started_at=ago(hours=3), finished_at=ago(hours=2, minutes=50), attempts=2)
    for minute in range(10):
        s.function_run(function="cron-followups", started=ago(hours=2, minutes=minute),
                       status="FAILED" if minute == 0 else "SUCCEEDED")
    return db


def test_offload_page_shows_the_queue_and_function_failures(planted, monkeypatch):
    app = open_page(planted.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert app.title[0].value == "Offload health"
    tiles = metrics(app)
    assert tiles["Events created"] == "2"
    assert tiles["Open at the window's end"] == "1"  # the PENDING event: created, never finished
    assert tiles["Oldest due event (minutes)"] in ("30", "31")  # runAt 30 minutes before now (and the test's run)
    assert tiles["Events retried"] == "1"  # attempts 2
    assert chart_titles(app) == [
        "Webhook queue depth by status (at the end of every 10 minutes)",
        "Failure ratio per function over time", "Failed runs per function over time",
    ]
    retries = app.dataframe[0].value.set_index("status")
    assert retries.loc["SUCCEEDED", "attempts_sum"] == 2 and retries.loc["PENDING", "retried"] == 0
    functions = app.dataframe[1].value.set_index("function")
    assert functions.loc["cron-followups", "failure_ratio"] == pytest.approx(1 / 10)
    assert not errors(app)


def test_offload_workspace_filter_changes_the_queue_not_the_global_functions(planted, monkeypatch):
    app = choose_workspaces(open_page(planted.backend.url, PAGE, monkeypatch), ["ws-b"])
    assert not app.exception
    tiles = metrics(app)
    assert tiles["Events created"] == "0"
    assert tiles["Oldest due event (minutes)"] == "no data"
    assert tiles["Events retried"] == "0"
    # BackgroundFunctionRun has no workspace: the same runs show whatever is chosen
    assert app.dataframe[-1].value.set_index("function").loc["cron-followups", "runs"] == 10


def test_offload_page_in_an_empty_window_says_so(db, monkeypatch):
    db.seed.workspace("ws-a", name="Alpha", bison="bison-1", settings={})
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception and not errors(app)
    assert metrics(app)["Open at the window's end"] == "0"
    assert any(i.startswith("No function runs in this window") for i in infos(app))


def test_offload_page_with_the_database_down_says_so(monkeypatch):
    page = open_down(PAGE, monkeypatch)
    assert not page.exception
    assert any("unreachable" in e for e in errors(page))
