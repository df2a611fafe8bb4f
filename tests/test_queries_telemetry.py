"""Telemetry hygiene queries (queries/telemetry.py): key names and counts, never values, both backends.

WINDOW is [T0 - 2h, T0) = [10:00, 12:00) UTC.
"""

from sqlalchemy import JSON, func, select

from db import upstream as up
from demo.rows import bundle_metadata
from demo.sentinels import PII_MARK
from queries import telemetry
from queries.filters import Window
from tests.seed import at

WINDOW = Window(at(hours=-2), at())
BUNDLE = bundle_metadata("draft", knowledge=(4000, 1200, 5, 4, 1, 3900))
LONG = f"{PII_MARK} " + "x" * 30          # a string well over 24 characters
EXACTLY_24 = "y" * 24                      # not longer than 24: not flagged
WIDE_20 = "ü" * 20                         # 20 characters (40 bytes): not flagged, lengths are characters


def plant(db) -> None:
    seed = db.seed
    seed.workspace("ws-a")
    seed.workspace("ws-b")
    gen = "draft.generate.email"
    seed.interaction("ws-a", when=at(-120), feature=gen, metadata={"leadContextBundle": BUNDLE})  # at start
    seed.interaction("ws-a", when=at(-100), feature=gen, metadata={"leadContextBundle": BUNDLE, "promptPreview": LONG})
    seed.interaction("ws-a", when=at(-90), feature=gen, metadata={"promptPreview": EXACTLY_24, "note": WIDE_20})
    seed.interaction("ws-a", when=at(-80), feature=gen, metadata={"bookingGate": {"decision": LONG}})  # nested
    seed.interaction("ws-a", when=at(-70), feature="ai.route_skipped",
                     metadata={"routeSkip": {"route": "draft_generation_step2", "reason": "disabled"}})
    seed.interaction("ws-a", when=at(-60), feature="auto_send.revision_loop", metadata={
        "runId": "run-0123456789-abcdefghijklmnop", "draftId": "draft-1", "stopReason": "threshold_met",
        "iterationsUsed": 2, "elapsedMs": 98765, "leadContextBundle": BUNDLE})
    seed.interaction("ws-a", when=at(-50), feature="followup.extract_timing")                   # SQL NULL
    seed.interaction("ws-a", when=at(-45), feature="followup.extract_timing", metadata=JSON.NULL)  # JSON null
    seed.interaction("ws-a", when=at(-40), feature="followup.extract_timing", metadata=[1, 2])     # not an object
    seed.interaction("ws-a", when=at(-35), feature="followup.extract_timing", metadata={})         # empty object
    seed.interaction("ws-a", when=at(0), feature=gen, metadata={"edgeKey": 1})                    # at end: out
    seed.interaction("ws-b", when=at(-30), feature="followup.booking.gate", metadata={"bookingGate": {"x": 1}})


def test_planted_nulls_are_one_sql_null_and_one_json_null(db):
    plant(db)
    meta = up.ai_interaction.c["metadata"]
    sql_nulls = db.conn.execute(select(func.count()).where(meta.is_(None))).scalar_one()
    assert sql_nulls == 1  # the JSON null row is not SQL NULL, so presence must catch both


def test_metadata_key_counts_count_rows_per_key_flag_undocumented_keys_and_long_strings(db):
    plant(db)
    frame = telemetry.metadata_key_counts(db.conn, WINDOW)
    assert list(frame.columns) == ["workspace", "feature_id", "key", "rows", "documented", "long_strings"]
    got = {(r["workspace"], r["feature_id"], r["key"]): (r["rows"], bool(r["documented"]), r["long_strings"])
           for r in frame.to_dict("records")}
    gen, loop = "draft.generate.email", "auto_send.revision_loop"
    assert got == {
        ("ws-a", gen, "leadContextBundle"): (2, True, 0),     # 10:00 (at start) and 10:20
        ("ws-a", gen, "promptPreview"): (2, False, 1),        # LONG is flagged, exactly 24 chars is not
        ("ws-a", gen, "note"): (1, False, 0),                 # 20 two-byte characters: not long
        ("ws-a", gen, "bookingGate"): (1, True, 0),           # a long string nested deeper is not top-level
        ("ws-a", "ai.route_skipped", "routeSkip"): (1, True, 0),
        ("ws-a", loop, "runId"): (1, True, 1),                # documented, yet a 31-character string
        ("ws-a", loop, "draftId"): (1, True, 0),
        ("ws-a", loop, "stopReason"): (1, True, 0),
        ("ws-a", loop, "iterationsUsed"): (1, True, 0),
        ("ws-a", loop, "elapsedMs"): (1, True, 0),
        ("ws-a", loop, "leadContextBundle"): (1, False, 0),   # not a key the loop writes
        ("ws-b", "followup.booking.gate", "bookingGate"): (1, True, 0),
        # SQL NULL, JSON null, an array and {} have no keys; the row at end is out
    }
    assert PII_MARK not in frame.to_csv(index=False)


def test_metadata_key_counts_max_len_and_workspace_filter(db):
    plant(db)
    frame = telemetry.metadata_key_counts(db.conn, WINDOW.with_workspaces(["ws-a"]), max_len=10)
    assert set(frame["workspace"]) == {"ws-a"}
    longs = {(r["feature_id"], r["key"]): r["long_strings"] for r in frame.to_dict("records") if r["long_strings"]}
    # over 10 characters: LONG and EXACTLY_24 under promptPreview, WIDE_20 under note, runId, draft-1 is 7
    assert longs == {("draft.generate.email", "promptPreview"): 2, ("draft.generate.email", "note"): 1,
                     ("auto_send.revision_loop", "runId"): 1, ("auto_send.revision_loop", "stopReason"): 1}


def test_metadata_presence_counts_sql_null_and_json_null_as_without_metadata(db):
    plant(db)
    frame = telemetry.metadata_presence(db.conn, WINDOW)
    assert list(frame.columns) == ["workspace", "feature_id", "rows", "without_metadata"]
    got = {(r["workspace"], r["feature_id"]): (r["rows"], r["without_metadata"]) for r in frame.to_dict("records")}
    assert got == {
        ("ws-a", "draft.generate.email"): (4, 0),   # the row at end is out
        ("ws-a", "ai.route_skipped"): (1, 0),
        ("ws-a", "auto_send.revision_loop"): (1, 0),
        ("ws-a", "followup.extract_timing"): (4, 2),  # SQL NULL and JSON null; the array and {} are metadata
        ("ws-b", "followup.booking.gate"): (1, 0),
    }


def test_documented_keys_follow_the_contract():
    assert telemetry.documented_keys("draft.generate.sms") == telemetry.LLM_CALL_KEYS
    assert telemetry.documented_keys("ai.route_skipped") == {"routeSkip"}
    assert "deltaConfidence" in telemetry.documented_keys("auto_send.revision_loop")
