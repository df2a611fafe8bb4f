"""First start on the embedded demo (issue 13): the demo database is built in a child process while the
app answers, with an empty database holding every table in place meanwhile (sign-in records failures)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, inspect, select

from db import upstream as up
from db.config import demo_url
from db.engine import read_engine
from demo.embedded import fresh_demo_story, place_empty_database, prepare_demo_database
from demo.story import floor_hour

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def test_a_missing_demo_database_is_built_in_the_background(tmp_path):
    path = tmp_path / "demo.sqlite"
    story, build = prepare_demo_database(path, scale=2, now=NOW)
    assert build is not None and story.end == floor_hour(NOW)
    assert build.done.wait(180), "the build finished"
    assert build.error is None and build.progress() == 1.0
    assert fresh_demo_story(path, scale=2, now=NOW) == story
    engine = read_engine(demo_url(path))
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(up.client)).scalar_one() > 0
    finally:
        engine.dispose()
    # a fresh database is used as it is: no second build
    again, none = prepare_demo_database(path, scale=2, now=NOW + timedelta(hours=1))
    assert none is None and again == story


def test_the_callbacks_run_when_the_build_is_done(tmp_path):
    path = tmp_path / "demo.sqlite"
    _, build = prepare_demo_database(path, scale=2, now=NOW)
    called = []
    build.when_done(lambda: called.append("early"))
    assert build.done.wait(180)
    build.when_done(lambda: called.append("late"))  # already done: at once
    assert called == ["early", "late"]


def test_a_failed_build_is_reported(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    _, build = prepare_demo_database(blocker / "demo.sqlite", scale=2, now=NOW)
    assert build.done.wait(60)
    assert build.error  # the child's last error line, shown on the page


def test_the_empty_database_has_every_table_and_no_rows(tmp_path):
    path = tmp_path / "demo.sqlite"
    place_empty_database(path)
    engine = read_engine(demo_url(path))
    try:
        names = set(inspect(engine).get_table_names())
        assert {"login_failure", "audit_log", "Client", "AIDraft"} <= names, names
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(up.client)).scalar_one() == 0
    finally:
        engine.dispose()
    assert fresh_demo_story(path, scale=2, now=NOW) is None  # so the app builds the real one
