"""Lead context bundle telemetry: AIInteraction.metadata.leadContextBundle (DATA_CONTRACT.md section 6).

The bundle stats are written only when the bundle was built; a call that should carry them but
does not is the only trace of upstream's silent fallback (`bundle_coverage`). Windowed on
`AIInteraction.createdAt` (pruned upstream after 30 days); AIInteraction has no channel column.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import ColumnElement, Connection, case, func, or_, select

from db import upstream as up
from queries.dialect import json_has, json_number, json_text, time_bucket
from queries.filters import Window, default_bucket_seconds
from queries.frame import query, read_frame
from queries.summary_spec import COUNT, SERIES, TEXT, TIME, Summary

ai = up.ai_interaction
meta = ai.c["metadata"]
BUNDLE = "leadContextBundle"

#: featureIds that should carry bundle stats when the bundle is effective (besides draft.generate.*).
BUNDLE_FEATURES = (
    "draft.verify.email.step3",
    "meeting.overseer.gate",
    "auto_send.evaluate",
    "followup.parse_proposed_times",
    "followup.booking.gate",
)
DRAFT_GENERATE = "draft.generate"

#: output column -> (section, key) summed over bundle rows
_SUMS: dict[str, tuple[str, str]] = {
    "assets_total": ("knowledge", "totalAssets"),
    "assets_included": ("knowledge", "includedAssets"),
    "assets_truncated": ("knowledge", "truncatedAssets"),
    "knowledge_tokens": ("knowledge", "totalTokensEstimated"),
    "knowledge_max_tokens": ("knowledge", "maxTokens"),
    "entries_total": ("memory", "totalEntries"),
    "entries_included": ("memory", "includedEntries"),
    "entries_truncated": ("memory", "truncatedEntries"),
    "memory_tokens": ("memory", "totalTokensEstimated"),
    "memory_max_tokens": ("memory", "maxTokens"),
    "total_tokens": ("totals", "tokensEstimated"),
}
_ORDER = ("calls", "truncated", "knowledge_calls", "assets_total", "assets_included", "assets_truncated",
          "knowledge_tokens", "knowledge_max_tokens", "memory_calls", "entries_total", "entries_included",
          "entries_truncated", "memory_tokens", "memory_max_tokens", "total_tokens")


def _number(section: str, key: str) -> ColumnElement[float]:
    return json_number(meta, BUNDLE, section, key)


def _sum(expr: ColumnElement) -> ColumnElement:
    return func.coalesce(func.sum(expr), 0)


def _measures() -> dict[str, ColumnElement]:
    truncated = or_(func.coalesce(_number("knowledge", "truncatedAssets"), 0) > 0,
                    func.coalesce(_number("memory", "truncatedEntries"), 0) > 0)
    out: dict[str, ColumnElement] = {
        "calls": func.count(),
        "truncated": _sum(case((truncated, 1), else_=0)),
        "knowledge_calls": _sum(json_has(meta, BUNDLE, "knowledge")),
        "memory_calls": _sum(json_has(meta, BUNDLE, "memory")),
    }
    out.update({name: _sum(_number(*path)) for name, path in _SUMS.items()})
    return {name: out[name] for name in _ORDER}


@query("Model calls with lead-context-bundle stats (AIInteraction.metadata.leadContextBundle) per profile "
       "and time bucket of createdAt: truncated calls and summed assets, entries and token estimates.",
       summary=Summary(
           {"bucket": TIME, "workspace": TEXT, "profile": TEXT, **dict.fromkeys(_ORDER, COUNT)},
           ai.c.createdAt, variants=SERIES, ignores_channel=True))
def bundle_series(conn: Connection, f: Window, *, bucket_seconds: int | None = None) -> pd.DataFrame:
    """Sums only: truncation rate = truncated / calls, mean tokens = knowledge_tokens / knowledge_calls."""
    seconds = bucket_seconds or default_bucket_seconds(f)
    profile = func.coalesce(json_text(meta, BUNDLE, "profile"), "unknown")
    stmt = (
        select(
            time_bucket(ai.c.createdAt, seconds).label("bucket"),
            ai.c.clientId.label("workspace"),
            profile.label("profile"),
            *(expr.label(name) for name, expr in _measures().items()),
        )
        .where(*f.clauses(time=ai.c.createdAt, workspace=ai.c.clientId), json_has(meta, BUNDLE) == 1)
        .group_by("bucket", "workspace", "profile")
        .order_by("bucket", "workspace", "profile")
    )
    return _ints(read_frame(conn, stmt), _ORDER)


@query("Successful model calls that should carry bundle stats (draft.generate.*, draft.verify.email.step3, "
       "meeting.overseer.gate, auto_send.evaluate, followup.parse_proposed_times, followup.booking.gate) "
       "and how many do (AIInteraction.metadata.leadContextBundle), created in the window.",
       summary=Summary(
           {"workspace": TEXT, "feature_group": TEXT, "calls": COUNT, "with_bundle": COUNT},
           ai.c.createdAt, ignores_channel=True))
def bundle_coverage(conn: Connection, f: Window) -> pd.DataFrame:
    """Counts only: whether the bundle is effective for a workspace (toggle AND NOT kill switch) is
    decided elsewhere, and only there is `calls - with_bundle` a count of silent fallbacks."""
    generate = ai.c.featureId.like(f"{DRAFT_GENERATE}.%")
    group = case((generate, DRAFT_GENERATE), else_=ai.c.featureId)
    stmt = (
        select(
            ai.c.clientId.label("workspace"),
            group.label("feature_group"),
            func.count().label("calls"),
            _sum(json_has(meta, BUNDLE)).label("with_bundle"),
        )
        .where(
            *f.clauses(time=ai.c.createdAt, workspace=ai.c.clientId),
            ai.c.status == "success",
            or_(generate, ai.c.featureId.in_(BUNDLE_FEATURES)),
        )
        .group_by("workspace", "feature_group")
        .order_by("workspace", "feature_group")
    )
    return _ints(read_frame(conn, stmt), ("calls", "with_bundle"))


def _ints(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The contract says every bundle stat is an int; PostgreSQL sums JSON numbers as doubles."""
    for name in columns:
        frame[name] = frame[name].astype("int64")
    return frame
