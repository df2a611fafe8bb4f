"""Per-day summaries (issue 6), on SQLite and PostgreSQL: summary-backed answers equal the raw answers
for windows that start and end mid-day and span midnights, late row updates show after a refresh, a
refresh is incremental and never double counts, two replicas refreshing at once store every day once.

Fixture (T0 = 2026-02-18 12:00 UTC is "now"; days are UTC):

    ws-a  Feb 15 20:00 send_immediate 0.8   (partial first day of the window below)
          Feb 16 03:00 needs_review 0.5, 10:00 send_immediate 0.9, 23:30 needs_review 0.7
          Feb 17 00:00 send_immediate 0.95 (exactly midnight: belongs to Feb 17), 13:00 needs_review 0.6
    ws-b  Feb 16 12:00 needs_review 0.4,  Feb 18 11:59 needs_review 0.3 (today, the last minute)

A refresh at T0 stores Feb 15, 16 and 17 (whole days with data before today); today stays raw.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update

from canarywatch_cli import main as cli_main
from db import upstream as up
from queries import drafts
from queries.filters import Window
from summaries.declarations import cells_table, summarised_specs, summary_day, summary_hours, summary_open_day
from summaries.reading import SummaryReader, read_plan, summary_freshness
from summaries.refresh import RefreshPolicy, SummaryRefresher, due_days, refresh_summaries
from tests.seed import T0
from tests.summary_support import assert_same_as_raw

FEB = datetime(2026, 2, 1, tzinfo=UTC)


def feb(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return FEB.replace(day=day, hour=hour, minute=minute)


def naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def plant(seed) -> dict[str, str]:
    seed.workspace("ws-a", settings={})
    seed.workspace("ws-b", settings={})
    ids = {
        "a15": seed.draft("ws-a", when=feb(15, 20), action="send_immediate", confidence=0.8),
        "a16_1": seed.draft("ws-a", when=feb(16, 3), action="needs_review", confidence=0.5),
        "a16_2": seed.draft("ws-a", when=feb(16, 10), action="send_immediate", confidence=0.9),
        "a16_3": seed.draft("ws-a", when=feb(16, 23, 30), action="needs_review", confidence=0.7),
        "a17_1": seed.draft("ws-a", when=feb(17), action="send_immediate", confidence=0.95),
        "a17_2": seed.draft("ws-a", when=feb(17, 13), action="needs_review", confidence=0.6),
        "b16": seed.draft("ws-b", when=feb(16, 12), action="needs_review", confidence=0.4),
        "b18": seed.draft("ws-b", when=feb(18, 11, 59), action="needs_review", confidence=0.3),
    }
    return ids


def daily_needs_review(conn, f: Window) -> list[tuple[str, str, int, int]]:
    frame = drafts.needs_review_series(SummaryReader(conn), f, bucket_seconds=86400)
    return [(f"{r.bucket:%m-%d}", r.workspace, int(r.evaluated), int(r.needs_review)) for r in frame.itertuples()]


# -- the parts of a window (no database) ---------------------------------------------------------


def test_a_read_plan_takes_stored_days_whole_then_stored_hours_then_raw_pieces():
    covered = [naive(feb(16)), naive(feb(17)), naive(feb(18))]
    plan = read_plan(Window(feb(15, 18), feb(18, 2, 30)), covered, hourly=True)
    assert plan.days == [naive(feb(16)), naive(feb(17))]
    assert plan.hours == [naive(feb(18, 0)), naive(feb(18, 1))]
    assert [(p.start, p.end) for p in plan.raw] == [(feb(15, 18), feb(16)), (feb(18, 2), feb(18, 2, 30))]
    # a query without hours reads the partial day raw; a window inside one hour is all raw
    assert [(p.start, p.end) for p in read_plan(Window(feb(16, 20), feb(18, 2, 30)), covered, hourly=False).raw] == [
        (feb(16, 20), feb(17)), (feb(18), feb(18, 2, 30))]
    inside = read_plan(Window(feb(17, 10, 5), feb(17, 10, 55)), covered, hourly=True)
    assert (inside.days, inside.hours, [(p.start, p.end) for p in inside.raw]) == (
        [], [], [(feb(17, 10, 5), feb(17, 10, 55))])
    # a stored day whose hours are no longer kept is read raw where the window covers it in part
    aged = read_plan(Window(feb(15, 18), feb(18, 2, 30)), covered, hourly=True, with_hours=[naive(feb(16))])
    assert (aged.days, aged.hours) == ([naive(feb(16)), naive(feb(17))], [])
    assert [(p.start, p.end) for p in aged.raw] == [(feb(15, 18), feb(16)), (feb(18), feb(18, 2, 30))]
    # today (Feb 18, not stored) with its hours stored through 02:00: only the hour in progress is raw
    today = read_plan(Window(feb(17, 22, 10), feb(18, 2, 30)), covered[:2], hourly=True,
                      open_days={naive(feb(18)): naive(feb(18, 2))})
    assert today.hours == [naive(feb(17, 23)), naive(feb(18, 0)), naive(feb(18, 1))]
    assert [(p.start, p.end) for p in today.raw] == [(feb(17, 22, 10), feb(17, 23)), (feb(18, 2), feb(18, 2, 30))]
    # ... and past a mark that lags (the refresh is late), raw from the mark on
    lagging = read_plan(Window(feb(18), feb(18, 5)), covered[:2], hourly=True,
                        open_days={naive(feb(18)): naive(feb(18, 2))})
    assert (lagging.hours, [(p.start, p.end) for p in lagging.raw]) == (
        [naive(feb(18, 0)), naive(feb(18, 1))], [(feb(18, 2), feb(18, 5))])


# -- exact answers -------------------------------------------------------------------------------


def test_a_mid_day_window_sums_stored_days_and_raw_edges_exactly(db):
    plant(db.seed)
    report = refresh_summaries(db.backend.write, now=T0, backfill=True)
    assert report.refreshed == [naive(feb(17)), naive(feb(16)), naive(feb(15))]
    f = Window(feb(15, 18), T0)
    assert daily_needs_review(db.conn, f) == [
        ("02-15", "ws-a", 1, 0),  # raw: [Feb 15 18:00, Feb 16)
        ("02-16", "ws-a", 3, 2),  # stored
        ("02-16", "ws-b", 1, 1),  # stored
        ("02-17", "ws-a", 2, 1),  # stored, the midnight draft included
        ("02-18", "ws-b", 1, 1),  # raw: today, up to the last minute
    ]
    # the same window on one workspace, and a 3 h grain ending mid-day on Feb 17
    only_b = daily_needs_review(db.conn, f.with_workspaces(["ws-b"]))
    assert only_b == [("02-16", "ws-b", 1, 1), ("02-18", "ws-b", 1, 1)]
    threes = drafts.needs_review_series(SummaryReader(db.conn), Window(feb(16, 2), feb(17, 12)), bucket_seconds=10800)
    assert [(f"{r.bucket:%d %H}", r.workspace, r.evaluated) for r in threes.itertuples()] == [
        ("16 03", "ws-a", 1), ("16 09", "ws-a", 1), ("16 12", "ws-b", 1), ("16 21", "ws-a", 1), ("17 00", "ws-a", 1)]


def test_hour_answers_are_kept_for_the_recent_days_only_and_an_older_partial_day_reads_raw(db):
    plant(db.seed)
    policy = RefreshPolicy(hour_days=1)  # hours of the last day only
    refresh_summaries(db.backend.write, now=T0, backfill=True, policy=policy)
    t, h = cells_table("drafts.needs_review_series").c, summary_hours.c

    def kept(conn) -> tuple[list[datetime], list[datetime]]:
        hours = conn.execute(select(t.slot).where(t.variant == "bucket_seconds=10800", t.grain == 3600)
                             .order_by(t.slot)).scalars().all()
        marked = conn.execute(select(h.day).where(h.query == "drafts.needs_review_series",
                                                  h.variant == "bucket_seconds=10800")).scalars().all()
        return hours, marked

    with db.backend.write.connect() as conn:  # and today's finished hour 11:00 (b18), not marked as a day's
        assert kept(conn) == ([naive(feb(17)), naive(feb(17, 13)), naive(feb(18, 11))], [naive(feb(17))])
    # Feb 16 is stored whole but without its hours: the window's part of it is read raw
    assert daily_needs_review(db.conn, Window(feb(16, 11), T0)) == [
        ("02-16", "ws-a", 1, 1), ("02-16", "ws-b", 1, 1), ("02-17", "ws-a", 2, 1), ("02-18", "ws-b", 1, 1)]
    # a day later Feb 18 is whole and keeps its hours; Feb 17's hours are dropped, its day rows stay
    refresh_summaries(db.backend.write, now=T0 + timedelta(hours=25), policy=policy)
    with db.backend.write.connect() as conn:
        assert kept(conn) == ([naive(feb(18, 11))], [naive(feb(18))])
    assert_same_as_raw(db.conn, [Window(feb(16, 11), feb(18, 12, 30))])


def test_a_late_update_shows_after_the_next_refresh(db):
    ids = plant(db.seed)
    refresh_summaries(db.backend.write, now=T0, backfill=True)
    with db.backend.write.begin() as conn:  # upstream sends the Feb 16 needs_review draft after all
        conn.execute(update(up.ai_draft).where(up.ai_draft.c.id == ids["a16_1"]).values(autoSendAction="send_delayed"))
    f = Window(feb(15, 18), T0)
    stale = daily_needs_review(db.conn, f)
    assert ("02-16", "ws-a", 3, 2) in stale  # the stored day still says 2: it was read from the summary
    raw = drafts.needs_review_series.raw(db.conn, f, bucket_seconds=86400)
    assert raw.loc[raw["bucket"].dt.day.eq(16) & raw["workspace"].eq("ws-a"), "needs_review"].tolist() == [1]

    later = T0 + timedelta(minutes=6)  # Feb 16 is a recent day: due again after 5 minutes
    report = refresh_summaries(db.backend.write, now=later)
    assert report.refreshed == [naive(feb(17)), naive(feb(16))]
    assert ("02-16", "ws-a", 3, 1) in daily_needs_review(db.conn, f)
    assert_same_as_raw(db.conn, [f])


def test_todays_finished_hours_are_stored_and_an_edit_shows_within_the_recent_bound(db):
    ids = plant(db.seed)
    report = refresh_summaries(db.backend.write, now=T0, backfill=True)  # T0 = Feb 18 12:00
    assert report.open_day is not None and report.open_day.through == naive(T0)
    today = Window(feb(18), T0 + timedelta(minutes=30))
    assert daily_needs_review(db.conn, today) == [("02-18", "ws-b", 1, 1)]  # b18 at 11:59, from the hour rows
    # upstream sends b18 after all, and a new needs_review draft arrives at 12:10 (the hour in progress)
    with db.backend.write.begin() as conn:
        conn.execute(update(up.ai_draft).where(up.ai_draft.c.id == ids["b18"]).values(autoSendAction="send_delayed"))
    db.seed.draft("ws-b", when=feb(18, 12, 10), action="needs_review", confidence=0.5)
    # the stored 11:00 hour still says needs_review (the bound: refreshed at most recent_every ago); the
    # hour in progress is raw and counts at once
    assert daily_needs_review(db.conn, today) == [("02-18", "ws-b", 2, 2)]
    raw = drafts.needs_review_series.raw(db.conn, today, bucket_seconds=86400)
    assert raw[["evaluated", "needs_review"]].values.tolist() == [[2, 1]]
    # a cycle within recent_every keeps the hours; the next one after it rewrites them
    assert refresh_summaries(db.backend.write, now=T0 + timedelta(minutes=4)).open_day is None
    assert refresh_summaries(db.backend.write, now=T0 + timedelta(minutes=6)).open_day.through == naive(T0)
    assert daily_needs_review(db.conn, today) == [("02-18", "ws-b", 2, 1)]
    assert_same_as_raw(db.conn, [today, Window(feb(16, 7, 30), T0 + timedelta(minutes=30))])
    # the next day stores Feb 18 whole: its open-day marks go, the day's own rows answer
    refresh_summaries(db.backend.write, now=T0 + timedelta(hours=13))
    with db.backend.write.connect() as conn:
        assert conn.execute(select(func.count()).select_from(summary_open_day)
                            .where(summary_open_day.c.day == naive(feb(18)))).scalar() == 0
    assert daily_needs_review(db.conn, today) == [("02-18", "ws-b", 2, 1)]


def test_a_query_added_later_is_written_alone_into_the_days_already_stored(db):
    plant(db.seed)
    refresh_summaries(db.backend.write, now=T0, backfill=True)
    name, variant = "drafts.confidence_series", "bucket_seconds=86400"
    d = summary_day.c
    with db.backend.write.begin() as conn:  # as if the query had been declared after Feb 15 was stored
        conn.execute(delete(summary_day).where(d.query == name, d.variant == variant, d.day == naive(feb(15))))
        conn.execute(delete(cells_table(name)).where(cells_table(name).c.variant == variant))
    later = T0 + timedelta(hours=2)
    report = refresh_summaries(db.backend.write, now=later)
    assert naive(feb(15)) in report.refreshed
    with db.backend.write.connect() as conn:
        stamps = dict(conn.execute(select(d.query + " " + d.variant, d.refreshedAt)
                                   .where(d.day == naive(feb(15)))).all())
    assert stamps.pop(f"{name} {variant}") == naive(later)  # written now
    assert set(stamps.values()) == {naive(T0)}  # the day's other answers were not rewritten
    assert_same_as_raw(db.conn, [Window(feb(15, 18), feb(16, 6))])


def test_a_channel_filter_reads_raw_rows_for_queries_that_have_a_channel(db):
    ids = plant(db.seed)
    refresh_summaries(db.backend.write, now=T0, backfill=True)
    with db.backend.write.begin() as conn:
        conn.execute(update(up.ai_draft).where(up.ai_draft.c.id == ids["a16_1"]).values(autoSendAction="send_delayed"))
    f = Window(feb(15, 18), T0, channel="email")
    assert ("02-16", "ws-a", 3, 1) in daily_needs_review(db.conn, f)  # fresh: not from the summary


def test_refreshing_again_changes_nothing_and_never_double_counts(db):
    plant(db.seed)
    first = refresh_summaries(db.backend.write, now=T0, backfill=True)
    assert stored_rows(db) == first.rows
    assert refresh_summaries(db.backend.write, now=T0 + timedelta(minutes=1)).refreshed == []
    again = refresh_summaries(db.backend.write, now=T0 + timedelta(minutes=6))  # the recent days rewritten
    assert again.refreshed == [naive(feb(17)), naive(feb(16))]
    assert stored_rows(db) == first.rows
    assert_same_as_raw(db.conn, [Window(feb(15, 18), T0), Window(feb(16, 2, 10), feb(17, 14, 59))])


def stored_rows(db) -> int:
    with db.backend.write.connect() as conn:
        return sum(conn.execute(select(func.count()).select_from(cells_table(spec.name))).scalar_one()
                   for spec in summarised_specs())


def test_two_replicas_refreshing_at_once_store_every_day_once(db):
    plant(db.seed)
    reports, errors = [], []

    def replica() -> None:
        try:
            reports.append(refresh_summaries(db.backend.write, now=T0, backfill=True))
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    written = sorted(day for report in reports for day in report.refreshed)
    assert written == [naive(feb(15)), naive(feb(16)), naive(feb(17))]  # each day by exactly one replica
    with db.backend.write.connect() as conn:
        per_day = conn.execute(select(summary_day.c.day, func.count()).group_by(summary_day.c.day)
                               .order_by(summary_day.c.day)).all()
    variants = sum(len(spec.summary.stored_variants(spec.raw)) for spec in summarised_specs())
    assert [(d, n) for d, n in per_day] == [(naive(feb(d)), variants) for d in (15, 16, 17)]
    assert stored_rows(db) == sum(r.rows for r in reports)
    assert daily_needs_review(db.conn, Window(feb(15, 18), T0))[1] == ("02-16", "ws-a", 3, 2)


def test_which_days_are_due(db):
    plant(db.seed)
    policy = RefreshPolicy(recent_days=2, recent_every=timedelta(minutes=5), older_every=timedelta(hours=24),
                           older_per_cycle=1)
    with db.backend.write.connect() as conn:
        # nothing stored: the recent days newest first, then one older day per cycle
        assert due_days(conn, T0, policy) == [naive(feb(17)), naive(feb(16)), naive(feb(15))]
    refresh_summaries(db.backend.write, now=T0, backfill=True)
    with db.backend.write.connect() as conn:
        assert due_days(conn, T0 + timedelta(minutes=4), policy) == []
        assert due_days(conn, T0 + timedelta(minutes=6), policy) == [naive(feb(17)), naive(feb(16))]
        # a day later Feb 18 is whole (and recent); Feb 15 and 16 are older days, due daily, one per
        # cycle here, the newest of the equally stale first
        assert due_days(conn, T0 + timedelta(hours=25), policy) == [naive(feb(18)), naive(feb(17)), naive(feb(16))]


def test_freshness_says_which_days_are_stored_and_when(db):
    plant(db.seed)
    assert summary_freshness(db.conn).days == 0
    refresh_summaries(db.backend.write, now=T0, backfill=True)
    fresh = summary_freshness(db.conn)
    assert (fresh.days, fresh.first_day, fresh.last_day) == (3, naive(feb(15)), naive(feb(17)))
    assert naive(T0) == fresh.newest_refresh == fresh.oldest_recent_refresh


def test_the_background_refresher_fills_the_days_and_stops(db):
    plant(db.seed)
    refresher = SummaryRefresher(db.backend.write, every=0.05, clock=lambda: T0)
    refresher.start()
    deadline = time.monotonic() + 60
    while refresher.last is None and time.monotonic() < deadline:
        time.sleep(0.05)
    refresher.stop()
    refresher.join(timeout=30)
    assert not refresher.is_alive()
    fresh = summary_freshness(db.conn)  # the first cycle back-fills every due day
    assert (fresh.first_day, fresh.last_day) == (naive(feb(15)), naive(feb(17)))
    assert ("02-16", "ws-a", 3, 2) in daily_needs_review(db.conn, Window(feb(15, 18), T0))


def test_the_command_line_refreshes_once_and_reports_a_bad_database(db, capsys):
    plant(db.seed)
    assert cli_main(["summaries", "--database-url", db.backend.url, "--backfill", "--now", "2026-02-18T12:00Z"]) == 0
    assert capsys.readouterr().err.startswith("refreshed ")
    assert summary_freshness(db.conn).first_day == naive(feb(15))
    assert cli_main(["summaries", "--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/none"]) == 3
    assert "could not be refreshed (OperationalError)" in capsys.readouterr().err


def test_an_hour_that_finishes_is_appended_to_todays_fresh_hours_and_they_are_rewritten_after_the_bound(db):
    ids = plant(db.seed)
    refresh_summaries(db.backend.write, now=T0, backfill=True)  # T0 = Feb 18 12:00: hours [00:00, 12:00)
    db.seed.draft("ws-b", when=feb(18, 12, 10), action="needs_review", confidence=0.5)
    rewritten = refresh_summaries(db.backend.write, now=feb(18, 12, 58)).open_day  # past recent_every: rewritten
    hourly = sum(len(spec.summary.stored_variants(spec.raw)) for spec in summarised_specs()
                 if spec.summary.hourly and spec.summary.in_sql)
    assert (rewritten.through, rewritten.variants, rewritten.appended) == (naive(feb(18, 12)), hourly, 0)
    with db.backend.write.begin() as conn:  # upstream sends b18 (11:59) after all
        conn.execute(update(up.ai_draft).where(up.ai_draft.c.id == ids["b18"]).values(autoSendAction="send_delayed"))
    appended = refresh_summaries(db.backend.write, now=feb(18, 13, 1)).open_day
    assert (appended.through, appended.variants, appended.appended) == (naive(feb(18, 13)), 0, hourly)
    o = summary_open_day.c
    with db.backend.write.connect() as conn:  # the marks keep when the older hours were computed
        marks = set(conn.execute(select(o.through, o.refreshedAt).where(o.day == naive(feb(18)))).all())
    assert marks == {(naive(feb(18, 13)), naive(feb(18, 12, 58)))}
    today = Window(feb(18), feb(18, 13, 30))
    # the 12:00 hour was added (the 12:10 draft counts from it); the 11:00 hour is as computed at 12:58
    assert daily_needs_review(db.conn, today) == [("02-18", "ws-b", 2, 2)]
    raw = drafts.needs_review_series.raw(db.conn, today, bucket_seconds=86400)
    assert raw[["evaluated", "needs_review"]].values.tolist() == [[2, 1]]
    assert_same_as_raw(db.conn, [Window(feb(18, 12), feb(18, 13, 30))])  # every variant's appended hour
    again = refresh_summaries(db.backend.write, now=feb(18, 13, 4)).open_day  # 6 min after 12:58: rewritten
    assert (again.variants, again.appended) == (hourly, 0)
    assert daily_needs_review(db.conn, today) == [("02-18", "ws-b", 2, 1)]
    assert_same_as_raw(db.conn, [today, Window(feb(16, 7, 30), feb(18, 13, 30))])


def test_a_cycle_stops_rewriting_when_its_budget_is_spent_and_the_next_cycles_go_on(db):
    plant(db.seed)
    first_hourly = next(spec for spec in summarised_specs() if spec.summary.hourly and spec.summary.in_sql)
    hourly = sum(len(spec.summary.stored_variants(spec.raw)) for spec in summarised_specs()
                 if spec.summary.hourly and spec.summary.in_sql)
    variants = sum(len(spec.summary.stored_variants(spec.raw)) for spec in summarised_specs())
    spent = RefreshPolicy(cycle_budget=timedelta(0))  # each cycle does its one rewrite, no more
    report = refresh_summaries(db.backend.write, now=T0, policy=spent)
    # the one rewrite: today's hours of the first hourly query's finest variant; every other open-day
    # rewrite and each of the three due days (Feb 17, 16, 15) is left for the next cycle
    assert (report.open_day.variants, report.refreshed, report.deferred) == (1, [], hourly - 1 + 3)
    assert f"{hourly - 1 + 3} rewrite(s) left for the next cycle (its 0 s budget was spent)" in report.line()
    o = summary_open_day.c
    with db.backend.write.connect() as conn:
        assert conn.execute(select(o.query)).scalars().all() == [first_hourly.name]
    second = refresh_summaries(db.backend.write, now=T0, policy=spent)
    assert (second.open_day.variants, second.deferred) == (1, hourly - 2 + 3)
    # cycles with the default budget finish the rest; nothing is written twice, everything equals raw
    rest = refresh_summaries(db.backend.write, now=T0)
    assert (rest.open_day.variants, rest.deferred) == (hourly - 2, 0)
    assert rest.refreshed == [naive(feb(d)) for d in (17, 16, 15)]
    with db.backend.write.connect() as conn:
        per_day = dict(conn.execute(select(summary_day.c.day, func.count()).group_by(summary_day.c.day)).all())
    assert per_day == {naive(feb(d)): variants for d in (15, 16, 17)}
    assert refresh_summaries(db.backend.write, now=T0 + timedelta(minutes=1)).refreshed == []
    assert_same_as_raw(db.conn, [Window(feb(15, 18), T0 + timedelta(minutes=30))])


def test_the_first_day_of_a_30_or_90_day_window_keeps_its_hours_and_a_day_reaching_it_gets_them(db):
    ids = plant(db.seed)
    policy = RefreshPolicy(hour_days=1, start_days=(3,))  # hours of the last day, and of the day 3 days back
    refresh_summaries(db.backend.write, now=T0, backfill=True, policy=policy)  # T0 = Feb 18 12:00
    h = summary_hours.c
    marked = select(h.day).where(h.query == "drafts.needs_review_series", h.variant == "bucket_seconds=10800")
    with db.backend.write.connect() as conn:
        assert sorted(conn.execute(marked).scalars().all()) == [naive(feb(15)), naive(feb(17))]
    with db.backend.write.begin() as conn:  # upstream sends a15 (Feb 15 20:00) after its day was stored
        conn.execute(update(up.ai_draft).where(up.ai_draft.c.id == ids["a15"]).values(autoSendAction="needs_review"))
    # a window starting inside Feb 15 takes the stored 20:00 hour (it still says sent), not the raw rows
    assert daily_needs_review(db.conn, Window(feb(15, 18), feb(16))) == [("02-15", "ws-a", 1, 0)]
    with db.backend.write.begin() as conn:
        conn.execute(update(up.ai_draft).where(up.ai_draft.c.id == ids["a15"]).values(autoSendAction="send_immediate"))
    # 23 hours later (before older days are due again) Feb 16 is 3 days back: rewritten with its hours,
    # while Feb 15's and Feb 17's hours are dropped
    later = refresh_summaries(db.backend.write, now=T0 + timedelta(hours=23), policy=policy)
    assert naive(feb(16)) in later.refreshed
    with db.backend.write.connect() as conn:
        assert sorted(conn.execute(marked).scalars().all()) == [naive(feb(16)), naive(feb(18))]
    assert_same_as_raw(db.conn, [Window(feb(16, 11), feb(19, 11)), Window(feb(15, 18), feb(16, 20))])
