"""The per-dialect constructs give the same answers on SQLite and PostgreSQL, edges included."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import literal, select

from db import upstream as up
from queries.dialect import bucket_scale, json_has, json_number, json_text, time_bucket, value_bucket
from queries.filters import FilterError, Window
from queries.frame import read_frame
from tests.seed import at


@pytest.mark.parametrize(
    ("value", "width", "bucket"),
    [(0.29, 0.01, 29), (0.57, 0.01, 57), (0.58, 0.01, 58), (0.9, 0.01, 90), (0.899999, 0.01, 89),
     (0.0, 0.01, 0), (1.0, 0.01, 100), (0.15, 0.05, 3), (0.1499, 0.05, 2), (0.35, 0.05, 7), (0.95, 0.05, 19)],
)
def test_value_bucket_floors_after_rounding_to_stored_precision(db, value, width, bucket):
    got = db.conn.execute(select(value_bucket(literal(value), bucket_scale(width)))).scalar_one()
    assert got == bucket


def test_bucket_scale_rejects_widths_that_do_not_divide_one():
    assert bucket_scale(0.05) == 20
    with pytest.raises(ValueError):
        bucket_scale(0.03)


def test_time_bucket_is_utc_floor_of_epoch_seconds(db):
    db.seed.workspace("ws-a")
    db.seed.draft("ws-a", when=datetime(2026, 2, 18, 3, 59, 59, 999000, tzinfo=UTC), action="skip")
    db.seed.draft("ws-a", when=datetime(2026, 2, 18, 4, 0, 0, tzinfo=UTC), action="skip")
    stmt = select(time_bucket(up.ai_draft.c.autoSendEvaluatedAt, 3600).label("b")).order_by("b")
    frame = read_frame(db.conn, stmt)
    assert list(frame["b"]) == [datetime(2026, 2, 18, 3, tzinfo=UTC), datetime(2026, 2, 18, 4, tzinfo=UTC)]


def test_json_constructs_ignore_missing_null_and_wrong_types(db):
    db.seed.workspace("ws-a")
    meta = {"a": {"n": 3, "s": "x", "f": 0.25, "z": None}, "t": "7"}
    db.seed.interaction("ws-a", when=at(), feature="f", metadata=meta)
    col = up.ai_interaction.c["metadata"]
    row = db.conn.execute(select(
        json_number(col, "a", "n"), json_number(col, "a", "f"), json_number(col, "t"),
        json_number(col, "a", "missing"), json_text(col, "a", "s"), json_text(col, "a", "n"),
        json_has(col, "a"), json_has(col, "a", "z"), json_has(col, "nope"),
    )).one()
    assert tuple(row) == (3, 0.25, None, None, "x", None, 1, 0, 0)


def test_window_is_half_open_and_rejects_bad_input():
    w = Window(at(), at(minutes=60))
    assert w.previous() == Window(at(minutes=-60), at())
    with pytest.raises(FilterError):
        Window(at(), at())
    with pytest.raises(FilterError):
        Window(at(), at(minutes=1), channel="fax")
