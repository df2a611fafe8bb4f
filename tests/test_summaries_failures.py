"""One failing query never takes the others down (issue 9 item 4), on SQLite and PostgreSQL.

A planted summarised query (tests/summary_support.broken_drafts) fails on chosen days, either raising
LookupError (what an enum label the code does not know did) or running a statement the database
refuses (on PostgreSQL that would abort the day's transaction without a SAVEPOINT). Fixture, T0 =
2026-02-18 12:00 UTC: ws-a has drafts on Feb 15 (1), Feb 16 (2) and Feb 17 (1); the refresh at T0
stores Feb 15, 16 and 17.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from analysis.summary_freshness import freshness_sentence
from auth.roles import Role
from canarywatch_cli import main as cli_main
from db.state import summary_failure
from queries import drafts
from queries.filters import Window
from summaries.declarations import cells_table, summarised_specs, summary_day
from summaries.reading import FailureNote, SummaryReader, summary_freshness
from summaries.refresh import Failure, refresh_summaries
from tests.pages_support import captions, open_page
from tests.seed import T0
from tests.summary_support import BROKEN, assert_same_as_raw, broken_query, set_broken_days


def feb(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 2, day, hour)  # naive UTC, as the summary tables store days


def plant(seed) -> None:
    seed.workspace("ws-a", settings={})
    for when, action in ((feb(15, 20), "send_immediate"), (feb(16, 3), "needs_review"),
                         (feb(16, 10), "send_immediate"), (feb(17, 13), "needs_review")):
        seed.draft("ws-a", when=when.replace(tzinfo=UTC), action=action, confidence=0.5)


def stored_days(conn, name: str) -> list[datetime]:
    return [d for (d,) in conn.execute(select(summary_day.c.day).where(summary_day.c.query == name)
                                       .order_by(summary_day.c.day).distinct())]


def failure_rows(conn) -> list[tuple]:
    c = summary_failure.c
    return [tuple(r) for r in conn.execute(select(c.query, c.day, c.errorClass, c.failedAt).order_by(c.day))]


@pytest.mark.parametrize("how", ["lookup", "sql"])
def test_a_failing_query_is_recorded_and_every_other_query_and_day_still_stores(db, how):
    plant(db.seed)
    error = {"lookup": "LookupError", "sql": "ProgrammingError" if db.name == "postgresql" else "OperationalError"}[how]
    with broken_query(db.backend.write, {feb(16)}, how) as name:
        report = refresh_summaries(db.backend.write, now=T0, backfill=True)
        assert report.refreshed == [feb(17), feb(16), feb(15)]
        assert report.failures == [Failure(name, "", feb(16), error)]
        assert report.failing_queries == [BROKEN]
        others = [spec.name for spec in summarised_specs() if spec.name != name]
        assert len(others) >= 30  # every registered summarised query of the app
        with db.backend.write.connect() as conn:
            assert failure_rows(conn) == [(name, feb(16), error, T0.replace(tzinfo=None))]
            assert stored_days(conn, name) == [feb(15), feb(17)]  # the failing day is not stored
            assert all(stored_days(conn, other) == [feb(15), feb(16), feb(17)] for other in others)
            # the broken query's own answers for its good days are there: 1 draft on Feb 15, 1 on Feb 17
            t = cells_table(name).c
            assert conn.execute(select(t.slot, t.drafts).where(t.grain == 86400).order_by(t.slot)).all() == [
                (feb(15), 1), (feb(17), 1)]
        # the other queries answer from their stored days, exactly as raw
        series = drafts.needs_review_series(SummaryReader(db.conn), Window(feb(15).replace(tzinfo=UTC), T0),
                                            bucket_seconds=86400)
        assert [(f"{r.bucket:%d}", r.evaluated, r.needs_review) for r in series.itertuples()] == [
            ("15", 1, 0), ("16", 2, 1), ("17", 1, 1)]
        set_broken_days(set())  # the raw comparison needs the planted query to answer
        assert_same_as_raw(db.conn, [Window(datetime(2026, 2, 15, 18, tzinfo=UTC), T0)])
        db.conn.rollback()  # release the read locks before the planted query's table is dropped


def test_the_freshness_line_names_the_failure_and_a_later_success_clears_it(db):
    plant(db.seed)
    with broken_query(db.backend.write, {feb(15), feb(16), feb(17)}) as name:
        refresh_summaries(db.backend.write, now=T0, backfill=True)
        fresh = summary_freshness(db.conn)
        assert fresh.failures == (FailureNote(name, "LookupError", 3, T0.replace(tzinfo=None)),)
        assert fresh.days == 3  # the other queries stored all three days
        line = freshness_sentence(fresh, T0.replace(tzinfo=None) + timedelta(minutes=3))
        assert line.startswith("Summary refresh failed for 1 query: `summary_support.broken_drafts` "
                               "(LookupError, 3 days, last 3 min ago); those days are read from the raw rows. "
                               "Summaries: 3 whole UTC days between 2026-02-15 and 2026-02-17")
        # a failure is retried on the stored days' schedule, not every cycle
        assert refresh_summaries(db.backend.write, now=T0 + timedelta(minutes=1)).refreshed == []
        set_broken_days(set())
        later = refresh_summaries(db.backend.write, now=T0 + timedelta(minutes=6))  # the recent days are due
        assert (later.refreshed, later.failures) == ([feb(17), feb(16)], [])
        assert [n.days for n in summary_freshness(db.conn).failures] == [1]  # Feb 15 waits for its daily turn
        older = refresh_summaries(db.backend.write, now=T0 + timedelta(hours=25), backfill=True)
        assert older.failures == []
        assert summary_freshness(db.conn).failures == ()
        with db.backend.write.connect() as conn:
            assert stored_days(conn, name)[:3] == [feb(15), feb(16), feb(17)]


def test_nothing_stored_and_a_failure_says_so_instead_of_none_stored_yet(db):
    plant(db.seed)
    with broken_query(db.backend.write, {feb(15), feb(16), feb(17)}):
        refresh_summaries(db.backend.write, now=T0, backfill=True)
        with db.backend.write.begin() as conn:  # as if every other query's days were not stored yet
            conn.execute(summary_day.delete())
        fresh = summary_freshness(db.conn)
        line = freshness_sentence(fresh, T0.replace(tzinfo=None))
        assert "none stored yet" not in line
        assert line == ("Summary refresh failed for 1 query: `summary_support.broken_drafts` (LookupError, 3 days, "
                        "last 0 s ago); those days are read from the raw rows. No day is stored yet, so every "
                        "figure is computed from the raw rows.")


def test_the_command_line_exits_1_naming_the_failing_query(db, capsys):
    plant(db.seed)
    with broken_query(db.backend.write, {feb(15), feb(16), feb(17)}) as name:
        code = cli_main(["summaries", "--database-url", db.backend.url, "--backfill", "--now", "2026-02-18T12:00Z"])
        err = capsys.readouterr().err
        assert code == 1
        assert f"FAIL {name} failed (LookupError) on 2026-02-15, 2026-02-16, 2026-02-17" in err
        assert err.rstrip().endswith(f"1 query failed: {name} (the other queries' days were stored)")
        with db.backend.write.connect() as conn:
            assert conn.execute(select(func.count(summary_day.c.day.distinct()))).scalar() == 3
        set_broken_days(set())
        assert cli_main(["summaries", "--database-url", db.backend.url, "--now", "2026-02-18T12:06Z"]) == 0
    # the planted query is gone from the registry: its remaining failure record (Feb 15 waits for its
    # daily turn) is forgotten at the next cycle instead of being shown forever
    assert [n.days for n in summary_freshness(db.conn).failures] == [1]
    refresh_summaries(db.backend.write, now=T0 + timedelta(minutes=7))
    assert summary_freshness(db.conn).failures == ()


FRESHNESS_PAGES = ["pages/confidence.py", "pages/revision.py", "pages/overseer.py", "pages/bundle.py",
                   "pages/booking.py", "pages/offload.py", "pages/telemetry.py", "pages/audit.py",
                   "pages/toggles.py", "pages/overview.py"]


def test_every_page_with_a_freshness_line_shows_the_failure(db, monkeypatch):
    plant(db.seed)
    with broken_query(db.backend.write, {feb(16)}) as name:
        refresh_summaries(db.backend.write, now=T0, backfill=True)
        shown = {}
        for path in FRESHNESS_PAGES:
            app = open_page(db.backend.url, path, monkeypatch, role=Role.SUPER_ADMIN)
            shown[path] = [c for c in captions(app) if c.startswith("Summary refresh failed for 1 query: "
                                                                    f"`{name}` (LookupError, 1 day, last ")]
        assert {path: len(lines) for path, lines in shown.items()} == dict.fromkeys(FRESHNESS_PAGES, 1)
