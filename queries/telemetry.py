"""Telemetry hygiene: which top-level keys AIInteraction.metadata holds (DATA_CONTRACT.md section 6).

The rollout plans require the metadata to hold statistics only. These queries return key names and
counts, never values: a long string under a key is counted, not shown. Windowed on
`AIInteraction.createdAt`; AIInteraction has no channel column, so the channel filter does not apply.
"""

from __future__ import annotations

import re

import pandas as pd
from sqlalchemy import Connection, case, func, or_, select, true

from db import upstream as up
from queries.dialect import JSON_ENTRY_COLUMNS, json_entries, json_has
from queries.filters import Window
from queries.frame import query, read_frame
from queries.summary_spec import BOOL, COUNT, TEXT, Summary

ai = up.ai_interaction
meta = ai.c["metadata"]

#: The four keys upstream's sanitizer keeps on LLM-call metadata.
LLM_CALL_KEYS = frozenset({"leadContextBundle", "followupParse", "bookingGate", "autoSendRevision"})
#: Features that write their metadata directly, bypassing the sanitizer, and the keys they write.
DIRECT_KEYS: dict[str, frozenset[str]] = {
    "ai.route_skipped": frozenset({"routeSkip"}),
    "auto_send.revision_loop": frozenset({
        "runId", "draftId", "stopReason", "iterationsUsed", "threshold", "startConfidence", "endConfidence",
        "deltaConfidence", "cacheHits", "elapsedMs", "channel",
    }),
}


#: keys are upstream data too: one that looks like personal data is never shown (or stored in summaries)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[\d\s().\-/]{7,}")
REDACTED_EMAIL, REDACTED_PHONE = "<redacted e-mail key>", "<redacted phone key>"


def redact_key(key: object) -> object:
    """A metadata key as it may be shown: an e-mail address or a phone number becomes a placeholder."""
    if not isinstance(key, str):
        return key
    if _EMAIL.search(key):
        return REDACTED_EMAIL
    if _PHONE.fullmatch(key.strip()) and sum(ch.isdigit() for ch in key) >= 7:
        return REDACTED_PHONE
    return key


def documented_keys(feature_id: str) -> frozenset[str]:
    """The top-level metadata keys the contract documents for a featureId."""
    return DIRECT_KEYS.get(feature_id, LLM_CALL_KEYS)


@query("Top-level AIInteraction.metadata keys per featureId: rows holding each key, whether the key is "
       "documented, and rows where it holds a long string (names and counts only), created in the window.",
       summary=Summary(
           {"workspace": TEXT, "feature_id": TEXT, "key": TEXT, "rows": COUNT, "documented": BOOL,
            "long_strings": COUNT},
           ai.c.createdAt, ignores_channel=True, in_sql=False))  # keys are redacted in Python before storing
def metadata_key_counts(conn: Connection, f: Window, *, max_len: int = 24) -> pd.DataFrame:
    """`long_strings` counts rows whose value under the key is a string longer than `max_len` characters."""
    entries = json_entries(meta).table_valued(*JSON_ENTRY_COLUMNS)
    long_string = (entries.c.type == "text") & (func.length(entries.c.value) > int(max_len))
    stmt = (
        select(
            ai.c.clientId.label("workspace"),
            ai.c.featureId.label("feature_id"),
            entries.c.key.label("key"),
            func.count().label("rows"),
            func.coalesce(func.sum(case((long_string, 1), else_=0)), 0).label("long_strings"),
        )
        .select_from(ai.join(entries, true()))
        .where(*f.clauses(time=ai.c.createdAt, workspace=ai.c.clientId))
        .group_by(ai.c.clientId, ai.c.featureId, entries.c.key)
        .order_by(ai.c.clientId, ai.c.featureId, entries.c.key)
    )
    frame = read_frame(conn, stmt)
    if len(frame):
        # redacted right after SQL, before anything (page, summary store, export) sees a key; keys that
        # collapse into one placeholder are summed (a row holding two e-mail keys counts twice)
        # (grouped by every column but the counts: the refresh's hour slot, when it adds one, stays)
        frame["key"] = frame["key"].map(redact_key)
        by = [name for name in frame.columns if name not in ("rows", "long_strings")]
        frame = frame.groupby(by, as_index=False, sort=True)[["rows", "long_strings"]].sum()
    documented = [key in documented_keys(feature) for feature, key in zip(frame["feature_id"], frame["key"],
                                                                          strict=True)]
    frame.insert(4, "documented", pd.Series(documented, index=frame.index, dtype=bool))
    return frame


@query("AIInteraction rows per featureId and how many have no metadata (SQL NULL or JSON null), "
       "created in the window.",
       summary=Summary(
           {"workspace": TEXT, "feature_id": TEXT, "rows": COUNT, "without_metadata": COUNT},
           ai.c.createdAt, ignores_channel=True))
def metadata_presence(conn: Connection, f: Window) -> pd.DataFrame:
    missing = or_(meta.is_(None), json_has(meta) == 0)
    stmt = (
        select(
            ai.c.clientId.label("workspace"),
            ai.c.featureId.label("feature_id"),
            func.count().label("rows"),
            func.coalesce(func.sum(case((missing, 1), else_=0)), 0).label("without_metadata"),
        )
        .where(*f.clauses(time=ai.c.createdAt, workspace=ai.c.clientId))
        .group_by("workspace", "feature_id")
        .order_by("workspace", "feature_id")
    )
    return read_frame(conn, stmt)
