"""Enum labels upstream added after us are counted under their own name, never a crash.

On PostgreSQL the label is added to the real enum type (ALTER TYPE ... ADD VALUE, as upstream's
`prisma db push` does); SQLite stores enums as text, so any label goes in as it is.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from analysis.labels import fixed_categories, unknown_labels
from db import upstream as up
from queries import booking, drafts, offload
from queries.filters import Window
from tests.seed import at

NEW_JOB_TYPE = "PDF_EXPORT_POST_PROCESS"
NEW_APPOINTMENT_STATUS = "PENDING_CONFIRMATION"
NEW_DISPOSITION = "AUTO_SENT_AFTER_EDIT"
WINDOW = Window(at(hours=-6), at(hours=1))


def add_label(db, enum_name: str, label: str) -> None:
    if db.name != "postgresql":
        return
    with db.backend.write.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"ALTER TYPE \"{enum_name}\" ADD VALUE IF NOT EXISTS '{label}'"))


@pytest.fixture
def planted(db):
    add_label(db, "BackgroundJobType", NEW_JOB_TYPE)
    add_label(db, "AppointmentStatus", NEW_APPOINTMENT_STATUS)
    add_label(db, "AIDraftResponseDisposition", NEW_DISPOSITION)
    db.seed.workspace("ws-a")
    when = at(hours=-1)
    db.seed.job("ws-a", run_at=when, type=NEW_JOB_TYPE, status="FAILED")
    db.seed.job("ws-a", run_at=when, type=NEW_JOB_TYPE, status="FAILED")
    db.seed.job("ws-a", run_at=when, type="AI_AUTO_SEND_DELAYED", status="SUCCEEDED")
    db.seed.appointment("ws-a", when=when, source="AUTO_BOOK", status=NEW_APPOINTMENT_STATUS)
    db.seed.appointment("ws-a", when=when, source="AUTO_BOOK", status="CONFIRMED")
    db.seed.draft("ws-a", when=when, action="needs_review", confidence=0.5, disposition=NEW_DISPOSITION)
    db.seed.draft("ws-a", when=when, action="needs_review", confidence=0.5, disposition="APPROVED")
    return db


def test_an_unknown_job_type_is_counted_under_its_own_name(planted):
    frame = offload.background_job_status(planted.conn, WINDOW)
    counts = {(r.type, r.status): r.jobs for r in frame.itertuples()}
    assert counts == {(NEW_JOB_TYPE, "FAILED"): 2, ("AI_AUTO_SEND_DELAYED", "SUCCEEDED"): 1}
    assert unknown_labels(frame["type"], up.background_job.c.type.type.labels) == [NEW_JOB_TYPE]


def test_an_unknown_appointment_status_is_counted_under_its_own_name(planted):
    frame = booking.auto_book_series(planted.conn, WINDOW)
    assert frame.groupby("status")["bookings"].sum().to_dict() == {"CONFIRMED": 1, NEW_APPOINTMENT_STATUS: 1}


def test_an_unknown_disposition_is_its_own_outcome_not_open(planted):
    frame = drafts.needs_review_outcomes(planted.conn, WINDOW)
    assert dict(zip(frame["outcome"], frame["drafts"], strict=True)) == {"approved": 1, NEW_DISPOSITION.lower(): 1}


def test_fixed_categories_fold_the_unknown_into_other():
    series = pd.Series(["PENDING", NEW_JOB_TYPE, None, "FAILED"])
    assert fixed_categories(series, ("PENDING", "FAILED")).tolist()[:2] == ["PENDING", "other"]
    assert fixed_categories(series, ("PENDING", "FAILED")).tolist()[3] == "FAILED"
