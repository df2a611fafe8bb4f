"""Lead-context-bundle queries (queries/bundle.py): exact sums from a few planted calls, both backends.

WINDOW is [T0 - 2h, T0) = [10:00, 12:00) UTC; the series uses hourly buckets.
"""

import pandas as pd
from sqlalchemy import JSON

from demo.rows import bundle_metadata
from queries import bundle
from queries.filters import Window
from tests.seed import at

WINDOW = Window(at(hours=-2), at())
HOUR_10, HOUR_11 = at(hours=-2), at(hours=-1)

# knowledge = (maxTokens, maxAssetTokens, totalAssets, includedAssets, truncatedAssets, tokens)
# memory    = (maxTokens, maxEntryTokens, totalEntries, includedEntries, truncatedEntries, tokens)
CUT_ASSETS = bundle_metadata("draft", knowledge=(4000, 1200, 5, 4, 1, 3900), memory=(1200, 400, 3, 3, 0, 500))
CUT_ENTRIES = bundle_metadata("draft", knowledge=(4000, 1200, 2, 2, 0, 1000), memory=(1200, 400, 6, 4, 2, 900))
KNOWLEDGE_ONLY = bundle_metadata("draft", knowledge=(4000, 1200, 3, 3, 0, 2000))
MEMORY_ONLY = bundle_metadata("meeting_overseer_gate", memory=(600, 300, 4, 4, 0, 450))
SMALL = bundle_metadata("draft", knowledge=(4000, 1200, 1, 1, 0, 300))


def lcb(b: dict) -> dict:
    return {"leadContextBundle": b}


def plant(db) -> None:
    seed = db.seed
    seed.workspace("ws-a")
    seed.workspace("ws-b")
    seed.interaction("ws-a", when=at(-120), feature="draft.generate.email", metadata=lcb(CUT_ASSETS))  # at start
    seed.interaction("ws-a", when=at(-90), feature="draft.generate.sms", metadata=lcb(CUT_ENTRIES))
    seed.interaction("ws-a", when=at(-75), feature="draft.verify.email.step3", metadata=lcb(KNOWLEDGE_ONLY))
    seed.interaction("ws-a", when=at(-50), feature="meeting.overseer.gate", metadata=lcb(MEMORY_ONLY))
    seed.interaction("ws-a", when=at(-40), feature="meeting.overseer.gate")  # fallback: SQL NULL metadata
    seed.interaction("ws-a", when=at(-30), feature="auto_send.evaluate", status="error")  # errors: not coverage
    seed.interaction("ws-a", when=at(-20), feature="followup.booking.gate",
                     metadata={"bookingGate": {"decision": "approve", "confidence": 0.8}})  # no bundle
    seed.interaction("ws-a", when=at(-15), feature="auto_send.revise",
                     metadata={"autoSendRevision": {"stage": "revise"}})  # not a bundle feature
    seed.interaction("ws-a", when=at(-10), feature="draft.generate.email")  # SQL NULL metadata
    seed.interaction("ws-a", when=at(-5), feature="draft.generate.email", metadata={"leadContextBundle": None})
    seed.interaction("ws-a", when=at(-3), feature="draft.generate.email", metadata=JSON.NULL)  # JSON null
    seed.interaction("ws-a", when=at(0), feature="draft.generate.email", metadata=lcb(CUT_ASSETS))  # at end: out
    seed.interaction("ws-a", when=at(-121), feature="draft.generate.email", metadata=lcb(CUT_ASSETS))  # before: out
    seed.interaction("ws-b", when=at(-55), feature="draft.generate.linkedin", metadata=lcb(SMALL))


def rows_by(frame: pd.DataFrame, keys: list[str]) -> dict:
    return {tuple(r.pop(k).to_pydatetime() if k == "bucket" else r.pop(k) for k in keys): r
            for r in frame.to_dict("records")}


def test_bundle_series_sums_sections_and_flags_truncation_by_assets_or_entries(db):
    plant(db)
    frame = bundle.bundle_series(db.conn, WINDOW, bucket_seconds=3600)
    got = rows_by(frame, ["bucket", "workspace", "profile"])
    assert set(got) == {(HOUR_10, "ws-a", "draft"), (HOUR_11, "ws-a", "meeting_overseer_gate"),
                        (HOUR_11, "ws-b", "draft")}
    # 10:00 draft = CUT_ASSETS (at start) + CUT_ENTRIES + KNOWLEDGE_ONLY; the null/JSON-null rows carry no bundle
    assert got[HOUR_10, "ws-a", "draft"] == {
        "calls": 3,
        "truncated": 2,                      # CUT_ASSETS via assets, CUT_ENTRIES via entries
        "knowledge_calls": 3,
        "assets_total": 5 + 2 + 3, "assets_included": 4 + 2 + 3, "assets_truncated": 1,
        "knowledge_tokens": 3900 + 1000 + 2000, "knowledge_max_tokens": 3 * 4000,
        "memory_calls": 2,                   # KNOWLEDGE_ONLY has no memory section
        "entries_total": 3 + 6, "entries_included": 3 + 4, "entries_truncated": 2,
        "memory_tokens": 500 + 900, "memory_max_tokens": 2 * 1200,
        "total_tokens": (3900 + 500) + (1000 + 900) + 2000,
    }
    assert got[HOUR_11, "ws-a", "meeting_overseer_gate"] == {
        "calls": 1, "truncated": 0, "knowledge_calls": 0,
        "assets_total": 0, "assets_included": 0, "assets_truncated": 0, "knowledge_tokens": 0,
        "knowledge_max_tokens": 0, "memory_calls": 1, "entries_total": 4, "entries_included": 4,
        "entries_truncated": 0, "memory_tokens": 450, "memory_max_tokens": 600, "total_tokens": 450,
    }
    assert got[HOUR_11, "ws-b", "draft"]["assets_total"] == 1


def test_bundle_series_workspace_filter_and_default_buckets(db):
    plant(db)
    frame = bundle.bundle_series(db.conn, WINDOW.with_workspaces(["ws-b"]))
    # 2 h window -> 60 s buckets: the single ws-b call at 11:05 is its own minute
    assert list(zip(frame["bucket"], frame["workspace"], frame["calls"], strict=True)) == [(at(-55), "ws-b", 1)]


def test_bundle_coverage_counts_successful_expected_calls_and_those_with_a_bundle(db):
    plant(db)
    frame = bundle.bundle_coverage(db.conn, WINDOW)
    assert list(frame.columns) == ["workspace", "feature_group", "calls", "with_bundle"]
    got = {(r["workspace"], r["feature_group"]): (r["calls"], r["with_bundle"]) for r in frame.to_dict("records")}
    assert got == {
        # email (at start) + sms with bundles; SQL NULL, {"leadContextBundle": null} and JSON null without
        ("ws-a", "draft.generate"): (5, 2),
        ("ws-a", "draft.verify.email.step3"): (1, 1),
        ("ws-a", "meeting.overseer.gate"): (2, 1),   # one silent fallback
        ("ws-a", "followup.booking.gate"): (1, 0),
        ("ws-b", "draft.generate"): (1, 1),
        # auto_send.evaluate only errored; auto_send.revise is not expected to carry a bundle
    }


def test_bundle_coverage_is_empty_outside_the_window(db):
    plant(db)
    frame = bundle.bundle_coverage(db.conn, Window(at(days=-3), at(days=-2)))
    assert frame.empty
