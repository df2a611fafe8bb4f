"""The naive way, for comparison only: select the raw rows of the window into pandas, aggregate there.

One raw SELECT per table a page reads (codes, numbers, timestamps and the metadata JSON; never a
personal-data column: the overseer decision code is extracted in SQL because the payload holds draft
text), then pandas group-bys that produce the same kind of frames the page's queries return. This is
the generous variant of "naive": each table is fetched once per page, not once per chart.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlalchemy import Connection, func, or_, select

from db import upstream as up
from queries.dialect import json_text
from queries.filters import Window, default_bucket_seconds, naive_utc
from queries.frame import read_frame

D, L, AI, MOD = up.ai_draft, up.lead, up.ai_interaction, up.meeting_overseer_decision
W, FR, JOB = up.webhook_event, up.background_function_run, up.background_job
APPT, TASK = up.appointment, up.follow_up_task
Frames = dict[str, pd.DataFrame]


def _fetch(conn: Connection, stmt) -> pd.DataFrame:
    return read_frame(conn, stmt)


def _ws(f: Window, col):
    return [col.in_(f.workspaces)] if f.workspaces else []


def _bucket(frame: pd.DataFrame, col: str, f: Window) -> pd.Series:
    return frame[col].dt.floor(f"{default_bucket_seconds(f)}s")


def _drafts(conn: Connection, f: Window, time_col) -> pd.DataFrame:
    stmt = (select(L.c.clientId.label("workspace"), L.c.emailCampaignId.label("campaign"), D.c.channel,
                   D.c.status, D.c.responseDisposition, D.c.autoSendEvaluatedAt, D.c.autoSendConfidence,
                   D.c.autoSendThreshold, D.c.autoSendAction, D.c.autoSendRevisionAttemptedAt,
                   D.c.autoSendOriginalConfidence, D.c.autoSendRevisionConfidence, D.c.autoSendRevisionApplied,
                   D.c.autoSendRevisionIterations)
            .select_from(D.join(L, L.c.id == D.c.leadId))
            .where(time_col >= naive_utc(f.start), time_col < naive_utc(f.end), *_ws(f, L.c.clientId)))
    return _fetch(conn, stmt)


def _interactions(conn: Connection, f: Window, *features: str, with_meta: bool = True) -> pd.DataFrame:
    cols = [AI.c.clientId.label("workspace"), AI.c.featureId, AI.c.promptKey, AI.c.status, AI.c.latencyMs,
            AI.c.createdAt]
    stmt = select(*cols, *([AI.c["metadata"]] if with_meta else [])).where(
        AI.c.createdAt >= naive_utc(f.start), AI.c.createdAt < naive_utc(f.end), *_ws(f, AI.c.clientId))
    if features:
        stmt = stmt.where(AI.c.featureId.in_(features))
    return _fetch(conn, stmt)


def confidence(conn: Connection, f: Window) -> tuple[Frames, Frames]:
    raw = _drafts(conn, f, D.c.autoSendEvaluatedAt)
    ev = raw[raw["autoSendAction"].notna()].copy()
    ev["bucket"] = _bucket(ev, "autoSendEvaluatedAt", f)
    ev["cbucket"] = (ev["autoSendConfidence"] / 0.05).apply(lambda v: v // 1 if v == v else v)
    nr = ev[ev["autoSendAction"] == "needs_review"]
    out = {
        "histogram": ev.dropna(subset=["autoSendConfidence"]).groupby(["workspace", "cbucket"]).size().reset_index(),
        "thresholds": ev.groupby(["workspace", "autoSendThreshold"]).size().reset_index(),
        "action_mix": ev.groupby(["bucket", "workspace", "autoSendAction"]).size().reset_index(),
        "needs_review": ev.assign(nr=ev["autoSendAction"] == "needs_review")
        .groupby(["bucket", "workspace"]).agg(evaluated=("nr", "size"), needs_review=("nr", "sum")).reset_index(),
        "outcomes": nr.groupby(["workspace", nr["responseDisposition"].fillna(nr["status"])]).size().reset_index(),
        "channels": ev.groupby(["workspace", "channel"]).agg(
            evaluated=("autoSendAction", "size"), scored=("autoSendConfidence", "count"),
            confidence_sum=("autoSendConfidence", "sum")).reset_index(),
    }
    return {"drafts": raw}, out


def revision(conn: Connection, f: Window) -> tuple[Frames, Frames]:
    raw = _drafts(conn, f, D.c.autoSendRevisionAttemptedAt)
    raw["bucket"] = _bucket(raw, "autoSendRevisionAttemptedAt", f)
    calls = _interactions(conn, f, "auto_send.revise", "auto_send.revision_loop", with_meta=False)
    calls["bucket"] = _bucket(calls, "createdAt", f)
    revise = calls[calls["featureId"] == "auto_send.revise"]
    out = {
        "series": raw.groupby(["bucket", "workspace", "channel"]).agg(
            attempted=("autoSendRevisionApplied", "size"), applied=("autoSendRevisionApplied", "sum"),
            original_sum=("autoSendOriginalConfidence", "sum"), revised_sum=("autoSendRevisionConfidence", "sum"),
        ).reset_index(),
        "pairs": raw.groupby([(raw["autoSendOriginalConfidence"] / 0.05) // 1,
                              (raw["autoSendRevisionConfidence"] / 0.05) // 1]).size().reset_index(),
        "iterations": raw[raw["autoSendRevisionApplied"]].groupby(["channel", "autoSendRevisionIterations"])
        .size().reset_index(),
        "campaigns": raw.groupby("campaign").agg(attempted=("autoSendRevisionApplied", "size"),
                                                 applied=("autoSendRevisionApplied", "sum")).reset_index(),
        "latency": revise.groupby(["workspace", revise["latencyMs"] // 50, "status"]).size().reset_index(),
        "errors": revise.groupby(["bucket", "workspace", "status"]).size().reset_index(),
        "loops": calls[calls["featureId"] == "auto_send.revision_loop"].groupby("workspace").size().reset_index(),
    }
    return {"drafts": raw, "calls": calls}, out


def overseer(conn: Connection, f: Window) -> tuple[Frames, Frames]:
    stmt = select(MOD.c.clientId.label("workspace"), MOD.c.stage, MOD.c.confidence, MOD.c.createdAt,
                  func.lower(json_text(MOD.c.payload, "decision")).label("decision")).where(
        MOD.c.createdAt >= naive_utc(f.start), MOD.c.createdAt < naive_utc(f.end), *_ws(f, MOD.c.clientId))
    raw = _fetch(conn, stmt)
    raw["bucket"] = _bucket(raw, "createdAt", f)
    gate = raw[raw["stage"] == "gate"]
    out = {
        "gate_series": gate.groupby(["bucket", "workspace", "decision"]).size().reset_index(),
        "gate_hist": gate.groupby(["workspace", "decision", (gate["confidence"] / 0.1) // 1]).size().reset_index(),
        "booking_series": raw[raw["stage"] == "booking_gate"].groupby(["bucket", "workspace", "decision"])
        .size().reset_index(),
        "stages": raw.groupby(["workspace", "stage"]).agg(decisions=("stage", "size"), scored=("confidence", "count"),
                                                          confidence_sum=("confidence", "sum")).reset_index(),
    }
    return {"decisions": raw}, out


def _bundle_columns(raw: pd.DataFrame) -> pd.DataFrame:
    bundles = [m.get("leadContextBundle") if isinstance(m, dict) else None for m in raw["metadata"]]
    flat = pd.json_normalize([b or {} for b in bundles])
    flat.index = raw.index
    return flat


def bundle(conn: Connection, f: Window) -> tuple[Frames, Frames]:
    raw = _interactions(conn, f)
    flat = _bundle_columns(raw)
    raw["bucket"] = _bucket(raw, "createdAt", f)
    has = flat["version"].notna() if "version" in flat else pd.Series(False, index=raw.index)
    numeric = flat.select_dtypes("number")
    truncated = (numeric.filter(like="truncated").fillna(0) > 0).any(axis=1)
    rows = pd.concat([raw[["bucket", "workspace"]], flat.get("profile"), numeric], axis=1)[has]
    out = {"series": rows.assign(truncated=truncated[has]).groupby(["bucket", "workspace", "profile"]).sum(),
           "coverage": raw.assign(with_bundle=has).groupby(["workspace", "featureId"])["with_bundle"]
           .agg(["size", "sum"])}
    return {"calls": raw}, out


def booking(conn: Connection, f: Window) -> tuple[Frames, Frames]:
    start, end = naive_utc(f.start), naive_utc(f.end)
    appts = _fetch(conn, select(L.c.clientId.label("workspace"), APPT.c.status, APPT.c.source, APPT.c.createdAt)
                   .select_from(APPT.join(L, L.c.id == APPT.c.leadId))
                   .where(APPT.c.createdAt >= start, APPT.c.createdAt < end, *_ws(f, L.c.clientId)))
    tasks = _fetch(conn, select(L.c.clientId.label("workspace"), TASK.c.status, TASK.c.campaignName, TASK.c.createdAt)
                   .select_from(TASK.join(L, L.c.id == TASK.c.leadId))
                   .where(TASK.c.createdAt >= start, TASK.c.createdAt < end, *_ws(f, L.c.clientId)))
    calls = _interactions(conn, f, "followup.booking.gate", "followup.parse_proposed_times")
    gate = pd.json_normalize([m.get("bookingGate") or {} if isinstance(m, dict) else {} for m in calls["metadata"]])
    gate.index = calls.index
    appts["bucket"] = _bucket(appts, "createdAt", f)
    out = {"auto_book": appts[appts["source"] == "AUTO_BOOK"].groupby(["bucket", "workspace", "status"]).size(),
           "sources": appts.groupby(["workspace", "source"]).size(),
           "gate": calls.assign(decision=gate.get("decision")).groupby(["workspace", "featureId", "status"],
                                                                        dropna=False).size(),
           "tasks": tasks.groupby(["workspace", tasks["campaignName"].str.lower().str[:20], "status"]).size()}
    return {"appointments": appts, "tasks": tasks, "calls": calls}, {k: v.reset_index() for k, v in out.items()}


def offload(conn: Connection, f: Window) -> tuple[Frames, Frames]:
    start, end = naive_utc(f.start), naive_utc(f.end)
    events = _fetch(conn, select(W.c.provider, W.c.workspaceId, W.c.status, W.c.attempts, W.c.runAt, W.c.createdAt,
                                 W.c.startedAt, W.c.finishedAt)
                    .where(or_(W.c.createdAt < end), or_(W.c.finishedAt.is_(None), W.c.finishedAt >= start)))
    runs = _fetch(conn, select(FR.c.functionName, FR.c.status, FR.c.createdAt)
                  .where(FR.c.createdAt >= start, FR.c.createdAt < end))
    jobs = _fetch(conn, select(JOB.c.clientId.label("workspace"), JOB.c.type, JOB.c.status, JOB.c.runAt)
                  .where(JOB.c.runAt >= start, JOB.c.runAt < end, *_ws(f, JOB.c.clientId)))
    clients = _fetch(conn, select(up.client.c.id, up.client.c.emailBisonWorkspaceId))
    by_eb = dict(zip(clients["emailBisonWorkspaceId"], clients["id"], strict=True))
    events["workspace"] = [by_eb.get(w) if p == "INBOXXIA" else w for p, w in zip(events["provider"],
                                                                                   events["workspaceId"], strict=True)]
    if f.workspaces:
        events = events[events["workspace"].isin(f.workspaces)]
    flows = []
    for kind, col in (("created", "createdAt"), ("started", "startedAt"), ("finished", "finishedAt")):
        inside = events[(events[col] >= f.start) & (events[col] < f.end)]
        flows.append(inside.groupby([inside[col].dt.floor(f"{default_bucket_seconds(f)}s"), "workspace",
                                     "provider"]).size().rename(kind))
    open_at_start = events["finishedAt"].isna() | (events["finishedAt"] >= f.start)
    backlog = events[(events["createdAt"] < f.start) & open_at_start]
    runs["bucket"] = _bucket(runs, "createdAt", f)
    out = {"flow": pd.concat(flows, axis=1).fillna(0).reset_index(),
           "backlog": backlog.groupby(["workspace", "provider"]).size().reset_index(),
           "runs": runs.groupby(["bucket", "functionName", "status"]).size().reset_index(),
           "jobs": jobs.groupby(["workspace", "type", "status"]).size().reset_index()}
    return {"events": events, "runs": runs, "jobs": jobs}, out


def telemetry(conn: Connection, f: Window) -> tuple[Frames, Frames]:
    raw = _interactions(conn, f)
    keys = [(w, feat, k, isinstance(v, str) and len(v) > 24) for w, feat, m in
            zip(raw["workspace"], raw["featureId"], raw["metadata"], strict=True)
            if isinstance(m, dict) for k, v in m.items()]
    frame = pd.DataFrame(keys, columns=["workspace", "feature_id", "key", "long_string"])
    by_key = frame.groupby(["workspace", "feature_id", "key"])
    out = {"keys": by_key.agg(rows=("key", "size"), long_strings=("long_string", "sum")).reset_index(),
           "presence": raw.assign(missing=[not isinstance(m, dict) or not m for m in raw["metadata"]])
           .groupby(["workspace", "featureId"])["missing"].agg(["size", "sum"]).reset_index()}
    return {"calls": raw}, out


NAIVE: dict[str, Callable[[Connection, Window], tuple[Frames, Frames]]] = {
    "confidence": confidence, "revision": revision, "overseer": overseer, "bundle": bundle,
    "booking": booking, "offload": offload, "telemetry": telemetry,
}

#: the tables whose rows each page's naive way pulls (for the row estimate that guards memory)
NAIVE_TABLES = {
    "confidence": ("AIDraft",), "revision": ("AIDraft",), "overseer": ("MeetingOverseerDecision",),
    "bundle": ("AIInteraction",), "booking": ("Appointment", "FollowUpTask"),
    "offload": ("WebhookEvent", "BackgroundFunctionRun", "BackgroundJob"), "telemetry": ("AIInteraction",),
}
