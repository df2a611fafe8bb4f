"""Rows upstream edits after their day was stored (issue 11 point 5), on SQLite and PostgreSQL: the
refresh sees the edit by the row's updatedAt (Prisma's @updatedAt) and re-aggregates that day at the
next cycle, so the summary-backed figure equals the raw one again.

Fixture (T0 = 2026-02-18 12:00 UTC): ws-a has on Feb 10 (an older day: not among the two recent ones)
two needs_review drafts and one send_immediate; on Feb 17 one send_immediate. A back-fill at T0 stores
Feb 10 .. Feb 17. At T0 + 10 min upstream sends one Feb 10 needs_review draft after all
(autoSendAction send_delayed, status sent, disposition AUTO_SENT, updatedAt T0 + 10 min).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from db import upstream as up
from queries import drafts
from queries.filters import Window
from summaries.reading import SummaryReader
from summaries.refresh import RefreshPolicy, due_days, refresh_summaries
from tests.seed import T0
from tests.summary_support import assert_same_as_raw

WINDOW = Window(datetime(2026, 2, 9, 18, tzinfo=UTC), T0)


def feb(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 2, day, hour, tzinfo=UTC)


def naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def plant(seed) -> str:
    seed.workspace("ws-a", settings={})
    edited = seed.draft("ws-a", when=feb(10, 9), action="needs_review", confidence=0.5)
    seed.draft("ws-a", when=feb(10, 11), action="needs_review", confidence=0.6)
    seed.draft("ws-a", when=feb(10, 15), action="send_immediate", confidence=0.95)
    seed.draft("ws-a", when=feb(17, 8), action="send_immediate", confidence=0.92)
    return edited


def feb10_needs_review(conn) -> tuple[int, int]:
    frame = drafts.needs_review_series(SummaryReader(conn), WINDOW, bucket_seconds=86400)
    row = frame[frame["bucket"].dt.day == 10].iloc[0]
    return int(row["evaluated"]), int(row["needs_review"])


def test_an_edited_row_of_a_stored_day_is_re_aggregated_at_the_next_cycle(db):
    edited = plant(db.seed)
    refresh_summaries(db.backend.write, now=T0, backfill=True)
    assert feb10_needs_review(db.conn) == (3, 2)
    edit_at = T0 + timedelta(minutes=10)
    with db.backend.write.begin() as conn:
        conn.execute(update(up.ai_draft).where(up.ai_draft.c.id == edited).values(
            autoSendAction="send_delayed", status="sent", updatedAt=naive(edit_at)))
    assert feb10_needs_review(db.conn) == (3, 2)  # stored: stale until the refresh sees the edit
    policy = RefreshPolicy()
    with db.backend.write.connect() as conn:
        assert due_days(conn, T0 + timedelta(minutes=4), policy) == [naive(feb(10))]  # before recent days are due
    report = refresh_summaries(db.backend.write, now=T0 + timedelta(minutes=11))
    assert report.refreshed == [naive(feb(17)), naive(feb(16)), naive(feb(10))]
    assert feb10_needs_review(db.conn) == (3, 1)
    assert_same_as_raw(db.conn, [WINDOW, Window(feb(10, 10), feb(12, 3))])
    # within the edit margin (2 min: clock skew, open transactions) the day is read once more, then not
    assert naive(feb(10)) in refresh_summaries(db.backend.write, now=T0 + timedelta(minutes=12)).refreshed
    assert naive(feb(10)) not in refresh_summaries(db.backend.write, now=T0 + timedelta(minutes=20)).refreshed


def test_an_edit_stamped_just_before_the_day_was_stored_is_still_seen(db):
    """A row committed after the refresh read its day but stamped a moment before (an open transaction,
    or the upstream app's clock behind ours) is caught by the edit margin."""
    edited = plant(db.seed)
    refresh_summaries(db.backend.write, now=T0, backfill=True)
    with db.backend.write.begin() as conn:
        conn.execute(update(up.ai_draft).where(up.ai_draft.c.id == edited).values(
            autoSendAction="send_delayed", updatedAt=naive(T0 - timedelta(seconds=30))))
    report = refresh_summaries(db.backend.write, now=T0 + timedelta(minutes=1))
    assert report.refreshed == [naive(feb(10))]
    assert feb10_needs_review(db.conn) == (3, 1)
