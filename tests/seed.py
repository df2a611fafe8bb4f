"""A small fixture builder: readable helpers that plant upstream rows, one call per row.

Each test plants the handful of rows its expected numbers are worked out from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, insert

from db import upstream as up
from db.state import audit_log
from demo import rows

T0 = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)  # a fixed "now" for fixtures


def at(minutes: float = 0, *, hours: float = 0, days: float = 0) -> datetime:
    """A moment relative to T0."""
    return T0 + timedelta(minutes=minutes, hours=hours, days=days)


class Seed:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._campaigns: dict[tuple[str, float], str] = {}
        self._leads: dict[str, str] = {}

    def _insert(self, table: Table, row: dict[str, Any]) -> dict[str, Any]:
        with self.engine.begin() as conn:
            conn.execute(insert(table).values(**rows.complete(table, row)))
        return row

    # -- workspaces ------------------------------------------------------------------------------
    def workspace(self, id: str, *, name: str | None = None, bison: str | None = None,
                  settings: dict[str, Any] | None = None) -> str:
        """A Client; with `settings` (even {}) also its WorkspaceSettings row."""
        self._insert(up.client, rows.client_row(id, name=name or id.upper(), at=at(days=-30), bison=bison))
        if settings is not None:
            self._insert(up.workspace_settings, rows.settings_row(id, at=at(days=-30), **settings))
        return id

    def campaign(self, ws: str, *, threshold: float = 0.9, mode: str = "AI_AUTO_SEND") -> str:
        key = (ws, threshold)
        if key not in self._campaigns:
            cid = rows.new_id("camp")
            self._insert(up.email_campaign, rows.campaign_row(cid, ws, at=at(days=-30), threshold=threshold, mode=mode))
            self._campaigns[key] = cid
        return self._campaigns[key]

    def lead(self, ws: str, *, campaign: str | None = None, appointment_source: str | None = None) -> str:
        lid = rows.new_id("lead")
        self._insert(up.lead, rows.lead_row(lid, ws, at=at(days=-30), campaign_id=campaign or self.campaign(ws),
                                            appointment_source=appointment_source))
        return lid

    def _shared_lead(self, ws: str) -> str:
        if ws not in self._leads:
            self._leads[ws] = self.lead(ws)
        return self._leads[ws]

    # -- drafts ----------------------------------------------------------------------------------
    def draft(self, ws: str, *, when: datetime, action: str | None, confidence: float | None = None,
              threshold: float | None = 0.9, lead: str | None = None, **kw: Any) -> str:
        did = rows.new_id("draft")
        self._insert(up.ai_draft, rows.draft_row(
            did, lead or self._shared_lead(ws), created_at=when, evaluated_at=when if action else None,
            action=action, confidence=confidence, threshold=threshold if action else None, **kw))
        return did

    # -- overseer and model calls ----------------------------------------------------------------
    def overseer(self, ws: str, *, when: datetime, stage: str, decision: str | None = None,
                 confidence: float | None = None, extra: dict[str, Any] | None = None) -> str:
        oid = rows.new_id("mod")
        lead_id = self._shared_lead(ws)
        msg = rows.new_id("msg")
        self._insert(up.message, rows.message_row(msg, lead_id, at=when))
        self._insert(up.meeting_overseer_decision, rows.overseer_row(
            oid, client_id=ws, lead_id=lead_id, message_id=msg, stage=stage, at=when,
            decision=decision, confidence=confidence, extra=extra))
        return oid

    def interaction(self, ws: str, *, when: datetime, feature: str, metadata: dict[str, Any] | None = None,
                    **kw: Any) -> str:
        iid = rows.new_id("ai")
        self._insert(up.ai_interaction, rows.interaction_row(iid, client_id=ws, feature=feature, at=when,
                                                             metadata=metadata, **kw))
        return iid

    # -- booking ---------------------------------------------------------------------------------
    def appointment(self, ws: str, *, when: datetime, **kw: Any) -> str:
        aid = rows.new_id("appt")
        self._insert(up.appointment, rows.appointment_row(aid, self._shared_lead(ws), at=when, **kw))
        return aid

    def task(self, ws: str, *, when: datetime, campaign_name: str | None, **kw: Any) -> str:
        tid = rows.new_id("task")
        self._insert(up.follow_up_task, rows.task_row(tid, self._shared_lead(ws), at=when,
                                                      campaign_name=campaign_name, **kw))
        return tid

    # -- offload ---------------------------------------------------------------------------------
    def webhook(self, *, provider: str, workspace_id: str | None, created: datetime, **kw: Any) -> str:
        wid = rows.new_id("wh")
        self._insert(up.webhook_event, rows.webhook_row(wid, provider=provider, workspace_id=workspace_id,
                                                        created_at=created, **kw))
        return wid

    def function_run(self, *, function: str, started: datetime, **kw: Any) -> str:
        rid = rows.new_id("fn")
        self._insert(up.background_function_run, rows.function_run_row(rid, function=function,
                                                                        started_at=started, **kw))
        return rid

    def job(self, ws: str, *, run_at: datetime, **kw: Any) -> str:
        jid = rows.new_id("job")
        self._insert(up.background_job, rows.job_row(jid, ws, run_at=run_at, **kw))
        return jid

    # -- canarywatch's own state -----------------------------------------------------------------
    def audit(self, ws: str, *, when: datetime, field: str, old: str | None, new: str | None,
              actor: str = "alice", reason: str = "canary") -> None:
        self._insert(audit_log, rows.audit_row(at=when, workspace_id=ws, field=field, old=old, new=new,
                                               actor=actor, reason=reason))

    # -- many rows at once (added for the canary attribution tests) ----------------------------------
    def drafts(self, ws: str, *, start: datetime, end: datetime, n: int, needs_review: int,
               confidences: tuple[float, ...] = (0.93,)) -> None:
        """`n` evaluated drafts spread evenly over [start, end), one transaction: the first
        `needs_review` are needs_review, the rest send_immediate; confidences cycle through the tuple."""
        lead = self._shared_lead(ws)
        step = (end - start) / n
        batch = [rows.draft_row(rows.new_id("draft"), lead, created_at=start + step * i, evaluated_at=start + step * i,
                                action="needs_review" if i < needs_review else "send_immediate",
                                confidence=confidences[i % len(confidences)], threshold=0.9)
                 for i in range(n)]
        with self.engine.begin() as conn:
            conn.execute(insert(up.ai_draft), batch)
