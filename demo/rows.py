"""Row builders for upstream tables: small functions with upstream's defaults filled in.

Shared by the demo generator and the test fixtures so both plant the same shapes. Personal-data
columns always get sentinel values (demo/sentinels.py). Times are naive UTC, as upstream stores them.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Double, Integer, Table

from db.upstream import FREE_TEXT_COLUMNS, READ_TABLES, Jsonb, TextArray
from demo.sentinels import PII_EMAIL, pii_text
from queries.filters import naive_utc

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):07d}"


def bundle_metadata(
    profile: str,
    *,
    knowledge: tuple[int, int, int, int, int, int] | None = None,
    memory: tuple[int, int, int, int, int, int] | None = None,
) -> dict[str, Any]:
    """`leadContextBundle` telemetry (contract section 6).

    knowledge = (maxTokens, maxAssetTokens, totalAssets, includedAssets, truncatedAssets, tokens);
    memory = (maxTokens, maxEntryTokens, totalEntries, includedEntries, truncatedEntries, tokens).
    """
    out: dict[str, Any] = {"version": "lead_context_bundle.v1", "profile": profile}
    total = 0
    if knowledge is not None:
        mx, mxa, tot, inc, trunc, tok = knowledge
        out["knowledge"] = {
            "maxTokens": mx, "maxAssetTokens": mxa, "totalAssets": tot,
            "includedAssets": inc, "truncatedAssets": trunc, "totalTokensEstimated": tok,
        }
        total += tok
    if memory is not None:
        mx, mxe, tot, inc, trunc, tok = memory
        out["memory"] = {
            "maxTokens": mx, "maxEntryTokens": mxe, "totalEntries": tot,
            "includedEntries": inc, "truncatedEntries": trunc, "totalTokensEstimated": tok,
        }
        total += tok
    out["totals"] = {"tokensEstimated": total}
    return out


def client_row(id: str, *, name: str, at: datetime, bison: str | None = None) -> dict[str, Any]:
    at = naive_utc(at)
    return {"id": id, "name": name, "userId": f"user-{id}", "emailBisonWorkspaceId": bison,
            "createdAt": at, "updatedAt": at}


def settings_row(client_id: str, *, at: datetime, **values: Any) -> dict[str, Any]:
    """A WorkspaceSettings row; columns not given take the database defaults."""
    at = naive_utc(at)
    return {"id": f"settings-{client_id}", "clientId": client_id, "createdAt": at, "updatedAt": at, **values}


def campaign_row(id: str, client_id: str, *, at: datetime, threshold: float = 0.9,
                 mode: str = "AI_AUTO_SEND", name: str | None = None) -> dict[str, Any]:
    at = naive_utc(at)
    return {"id": id, "clientId": client_id, "name": name or f"Campaign {id}", "responseMode": mode,
            "autoSendConfidenceThreshold": threshold, "createdAt": at, "updatedAt": at}


def lead_row(id: str, client_id: str, *, at: datetime, campaign_id: str | None = None,
             appointment_source: str | None = None) -> dict[str, Any]:
    at = naive_utc(at)
    return {"id": id, "clientId": client_id, "emailCampaignId": campaign_id, "email": PII_EMAIL,
            "firstName": pii_text("first name"), "appointmentSource": appointment_source,
            "createdAt": at, "updatedAt": at}


def message_row(id: str, lead_id: str, *, at: datetime, channel: str = "email") -> dict[str, Any]:
    at = naive_utc(at)
    return {"id": id, "leadId": lead_id, "channel": channel, "direction": "inbound",
            "body": pii_text("inbound message body"), "sentAt": at, "createdAt": at}


def draft_row(
    id: str,
    lead_id: str,
    *,
    created_at: datetime,
    evaluated_at: datetime | None = None,
    action: str | None = None,
    confidence: float | None = None,
    threshold: float | None = None,
    channel: str = "email",
    status: str = "pending",
    disposition: str | None = None,
    reason: str | None = None,
    trigger_message_id: str | None = None,
    slack_notified: bool = False,
    revision_attempted_at: datetime | None = None,
    original_confidence: float | None = None,
    revision_confidence: float | None = None,
    revision_applied: bool = False,
    selector_used: bool | None = None,
    iterations: int = 0,
) -> dict[str, Any]:
    created = naive_utc(created_at)
    return {
        "id": id, "leadId": lead_id, "triggerMessageId": trigger_message_id or f"msg-{id}",
        "content": pii_text("draft reply text"), "channel": channel, "status": status,
        "responseDisposition": disposition,
        "autoSendEvaluatedAt": naive_utc(evaluated_at) if evaluated_at else None,
        "autoSendConfidence": confidence, "autoSendThreshold": threshold,
        "autoSendReason": reason if reason is not None else (pii_text("evaluator reasoning") if action else None),
        "autoSendAction": action, "autoSendSlackNotified": slack_notified,
        "autoSendRevisionAttemptedAt": naive_utc(revision_attempted_at) if revision_attempted_at else None,
        "autoSendOriginalConfidence": original_confidence,
        "autoSendRevisionConfidence": revision_confidence,
        "autoSendRevisionApplied": revision_applied, "autoSendRevisionSelectorUsed": selector_used,
        "autoSendRevisionIterations": iterations, "createdAt": created, "updatedAt": created,
    }


def overseer_row(
    id: str, *, client_id: str, lead_id: str, message_id: str, stage: str, at: datetime,
    decision: str | None = None, confidence: float | None = None, extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A MeetingOverseerDecision row whose payload carries the free-text keys upstream writes."""
    at = naive_utc(at)
    payload: dict[str, Any] = {"confidence": confidence}
    if stage == "gate":
        payload.update(decision=decision, final_draft=pii_text("gate final draft"), issues=["tone"],
                       rationale=pii_text("gate rationale"))
        prompt, model = "meeting.overseer.gate.v1", "gpt-5.2"
    elif stage == "booking_gate":
        payload.update(decision=decision, issues=[], clarification_message=pii_text("clarification"),
                       rationale=pii_text("booking rationale"), scenario="accept_offered", retry_count=0,
                       matched_slot_utc="2026-02-18T15:00:00Z", parse_confidence=confidence)
        prompt, model = "followup.booking.gate.v1", "gpt-5-mini"
    else:
        payload.update(is_scheduling_related=True, intent_to_book=True, intent="accept_offer",
                       evidence=[pii_text("lead quote")], qualification_status="qualified",
                       qualification_evidence=[pii_text("qualification quote")])
        prompt, model = "meeting.overseer.extract.v2", "gpt-5.2"
    payload.update(extra or {})
    return {"id": id, "messageId": message_id, "leadId": lead_id, "clientId": client_id, "stage": stage,
            "promptKey": prompt, "model": model, "confidence": confidence, "payload": payload,
            "createdAt": at, "updatedAt": at}


def interaction_row(
    id: str, *, client_id: str, feature: str, at: datetime, metadata: dict[str, Any] | None = None,
    status: str = "success", latency_ms: int | None = 800, prompt_key: str | None = None,
    model: str = "gpt-5.2", lead_id: str | None = None,
) -> dict[str, Any]:
    from sqlalchemy import null

    return {
        "id": id, "clientId": client_id, "leadId": lead_id, "source": f"lib:{feature}", "featureId": feature,
        "promptKey": prompt_key or f"{feature}.v1", "model": model, "apiType": "responses",
        "inputTokens": 1200, "outputTokens": 300, "reasoningTokens": 100, "totalTokens": 1600,
        "latencyMs": latency_ms, "status": status,
        "errorMessage": pii_text("provider error text") if status == "error" else None,
        "metadata": metadata if metadata is not None else null(), "createdAt": naive_utc(at),
    }


def appointment_row(id: str, lead_id: str, *, at: datetime, source: str = "AUTO_BOOK",
                    status: str = "CONFIRMED", provider: str = "GHL",
                    start_at: datetime | None = None) -> dict[str, Any]:
    at = naive_utc(at)
    return {"id": id, "leadId": lead_id, "provider": provider, "status": status, "source": source,
            "startAt": naive_utc(start_at) if start_at else at, "createdAt": at, "updatedAt": at}


def task_row(id: str, lead_id: str, *, at: datetime, campaign_name: str | None,
             type: str = "email", status: str = "pending") -> dict[str, Any]:
    at = naive_utc(at)
    return {"id": id, "leadId": lead_id, "type": type, "status": status, "dueDate": at,
            "campaignName": campaign_name, "createdAt": at, "updatedAt": at}


def webhook_row(
    id: str, *, provider: str, workspace_id: str | None, created_at: datetime, status: str = "SUCCEEDED",
    started_at: datetime | None = None, finished_at: datetime | None = None,
    run_at: datetime | None = None, attempts: int = 1, event_type: str | None = None,
) -> dict[str, Any]:
    created = naive_utc(created_at)
    return {
        "id": id, "provider": provider,
        "eventType": event_type or ("EMAIL_SENT" if provider == "INBOXXIA" else "crm_row_updated"),
        "dedupeKey": f"dedupe-{id}", "status": status, "runAt": naive_utc(run_at) if run_at else created,
        "attempts": attempts, "maxAttempts": 8, "lockedAt": None,
        "startedAt": naive_utc(started_at) if started_at else None,
        "finishedAt": naive_utc(finished_at) if finished_at else None,
        "lastError": pii_text("webhook error") if status == "FAILED" or attempts > 1 else None,
        "workspaceId": workspace_id, "leadEmail": PII_EMAIL, "senderEmail": PII_EMAIL,
        "raw": {"from": PII_EMAIL, "body": pii_text("webhook raw body")},
        "createdAt": created, "updatedAt": created,
    }


def function_run_row(id: str, *, function: str, started_at: datetime, status: str = "SUCCEEDED",
                     attempt: int = 0, duration_ms: int | None = 1500) -> dict[str, Any]:
    started = naive_utc(started_at)
    from datetime import timedelta

    finished = started + timedelta(milliseconds=duration_ms) if duration_ms is not None else None
    return {
        "id": id, "runKey": f"{function}:{id}:{attempt}", "functionName": function, "status": status,
        "attempt": attempt, "runId": id, "source": "inngest", "clientId": None, "dispatchKey": None,
        "startedAt": started, "finishedAt": finished if status != "RUNNING" else None,
        "durationMs": duration_ms if status != "RUNNING" else None,
        "lastError": pii_text("function error") if status == "FAILED" else None, "createdAt": started,
    }


def job_row(id: str, client_id: str, *, run_at: datetime, type: str = "AI_AUTO_SEND_DELAYED",
            status: str = "SUCCEEDED", finished_at: datetime | None = None) -> dict[str, Any]:
    run = naive_utc(run_at)
    return {"id": id, "type": type, "status": status, "clientId": client_id, "runAt": run,
            "finishedAt": naive_utc(finished_at) if finished_at else None,
            "lastError": pii_text("job error") if status == "FAILED" else None,
            "createdAt": run, "updatedAt": run}


def audit_row(*, at: datetime, workspace_id: str, field: str, old: str | None, new: str | None,
              actor: str = "demo-seed", reason: str = "demo rollout") -> dict[str, Any]:
    return {"changedAt": naive_utc(at), "actor": actor, "workspaceId": workspace_id, "field": field,
            "oldValue": old, "newValue": new, "reason": reason}


def _unique_columns(table: Table) -> set[str]:
    return {c.name for index in table.indexes if index.unique for c in index.columns}


def _sentinel(table: Table, column: str, row: dict[str, Any], unique: set[str]) -> Any:
    """A personal-data sentinel shaped for the column's type (unique per row where upstream indexes it)."""
    col_type = table.c[column].type
    if col_type is TextArray:
        return [PII_EMAIL]
    if col_type is Jsonb:
        return {"text": pii_text(f"{table.name}.{column}"), "email": PII_EMAIL}
    value = pii_text(f"{table.name}.{column}")
    return f"{value} {row.get('id', '')}" if column in unique else value


def _required_value(table: Table, column: str, row: dict[str, Any]) -> Any:
    """A harmless code for a NOT NULL column without a database default that a builder left out."""
    if column == "updatedAt":
        return row.get("createdAt")
    col_type = table.c[column].type
    if isinstance(col_type, Integer):
        return 0
    if isinstance(col_type, Double):
        return 0.0
    if isinstance(col_type, Boolean):
        return False
    return f"{column}-{row.get('id', '')}"


def complete(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """`row` with every free-text column it leaves out planted with a sentinel and every NOT NULL
    column without a default filled, so seeds write whole upstream rows (db/upstream.py)."""
    if table.name not in READ_TABLES and table.name not in FREE_TEXT_COLUMNS:
        return row  # canarywatch's own tables
    unique = _unique_columns(table)
    for column in FREE_TEXT_COLUMNS.get(table.name, ()):
        if column not in row:
            row[column] = _sentinel(table, column, row, unique)
    for column in table.c:
        if (column.name not in row and not column.nullable and column.server_default is None
                and not column.primary_key):
            row[column.name] = _required_value(table, column.name, row)
    return row
