"""The synthetic demo data set: 8 workspaces over 14 days, telling the story in demo/story.py.

Deterministic from (seed, scale, end): one `random.Random(seed)`, ids from a counter owned by the
build, and every area generated in a fixed order. Rows are collected in memory and written with one
bulk insert per table, each table in its own transaction.

Areas: this module (workspaces, settings, campaigns, leads, audit log), demo/generate_drafts.py
(drafts, messages, overseer, model calls per draft), demo/generate_booking.py (auto-book path,
appointments, follow-up tasks, jobs) and demo/generate_offload.py (webhooks, function runs).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Engine, insert

from db import upstream as up
from db.state import audit_log
from demo import rows
from demo.build import Build
from demo.story import DAYS, DEFAULT_SCALE, Story, story_for
from queries.filters import naive_utc

#: The real budgets JSON one workspace has (contract section 2 shape).
REAL_BUDGETS: dict[str, Any] = {
    "draft": {"knowledge": {"maxTokens": 3000, "maxAssetTokens": 1000},
              "memory": {"maxTokens": 1000, "maxEntryTokens": 300}},
    "auto_send_evaluator": {"knowledge": {"maxTokens": 6000, "maxAssetTokens": 1600}},
    "followup_parse": {"memory": {"maxTokens": 600, "maxEntryTokens": 200}},
}


def seed_demo(engine: Engine, *, seed: int = 7, scale: int = DEFAULT_SCALE, end: datetime | None = None) -> Story:
    """Write the demo data set into an engine whose schema exists (demo/schema.create_schema)."""
    from demo import generate_booking, generate_drafts, generate_offload

    if scale < 1:
        raise ValueError("scale must be at least 1 draft per day per workspace")
    story = story_for(end)
    b = Build(story, random.Random(seed), scale)
    _workspaces(b)
    _audit(b)
    generate_drafts.drafts(b)
    generate_booking.booking(b)
    generate_booking.tasks_and_jobs(b)
    generate_offload.webhooks(b)
    generate_offload.function_runs(b)
    write(engine, b)
    return story


# -- workspaces ------------------------------------------------------------------------------------


def _settings_for(s: Story, ws: str) -> dict[str, Any] | None:
    if ws == s.no_settings:
        return None
    values: dict[str, Any] = {}
    if ws in s.bundle_enabled_now:
        values["leadContextBundleEnabled"] = True
    if ws in (s.canary, s.revision_all_along):
        values.update(autoSendRevisionEnabled=True, autoSendRevisionMaxIterations=3)
    if ws in s.booking_gate:
        values.update(followupBookingGateEnabled=True, autoBookMeetings=True)
    if ws == "ws-harbor":
        values["autoBookMeetings"] = True  # auto-books without the gate (the bundle is off there)
    if ws in s.crm_webhooks:
        values["crmWebhookEnabled"] = True
    if ws == s.route_skip:
        values["draftGenerationStep2Enabled"] = False
    if ws == s.null_budgets:
        values["leadContextBundleBudgets"] = JSON.NULL  # "Clear" stores the JSON literal null
    if ws == s.real_budgets:
        values["leadContextBundleBudgets"] = REAL_BUDGETS
    return values


def _workspaces(b: Build) -> None:
    s = b.story
    created = s.start - timedelta(days=60)
    for ws, name, bison in zip(s.workspaces, s.names, s.bison_ids, strict=True):
        b.add(up.client, rows.client_row(ws, name=name, at=created, bison=bison))
        settings = _settings_for(s, ws)
        if settings is not None:
            b.add(up.workspace_settings, rows.settings_row(ws, at=created, **settings))
        for role, user in (("ADMIN", f"user-{ws}"), ("SETTER", f"user-{ws}-setter")):
            b.add(up.client_member, {"id": f"member-{ws}-{role.lower()}", "clientId": ws, "userId": user,
                                     "role": role, "createdAt": naive_utc(created)})
        budgets = settings.get("leadContextBundleBudgets") if settings else None
        b.budgets[ws] = budgets if isinstance(budgets, dict) else {}
        threshold = 0.85 if ws == s.low_threshold else 0.9
        b.thresholds[ws] = threshold
        ai_campaign = f"camp-{ws}-ai"
        setter_campaign = f"camp-{ws}-setter"
        b.add(up.email_campaign, rows.campaign_row(ai_campaign, ws, at=created, threshold=threshold,
                                                   name=f"{name} AI outbound"))
        b.add(up.email_campaign, rows.campaign_row(setter_campaign, ws, at=created, mode="SETTER_MANAGED",
                                                   name=f"{name} setter managed"))
        pools: dict[str, list[dict[str, Any]]] = {"ai": [], "setter": []}
        n_leads = max(12, b.scale * DAYS // 4)
        for i in range(n_leads):
            kind = "setter" if i % 10 == 0 else "ai"
            campaign = setter_campaign if kind == "setter" else ai_campaign
            lead_at = created + timedelta(minutes=b.rng.randrange(60 * 24 * 60))
            pools[kind].append(b.add(up.lead, rows.lead_row(b.id("lead"), ws, at=lead_at, campaign_id=campaign)))
        b.leads[ws] = pools


def _audit(b: Build) -> None:
    """canarywatch's own record of the rollouts: the canary's two toggles, and older changes."""
    s = b.story
    reason = "Canary: lead context bundle + auto-send revision loop"
    for fld in ("leadContextBundleEnabled", "autoSendRevisionEnabled"):
        b.add(audit_log, rows.audit_row(at=s.rollout_at, workspace_id=s.canary, field=fld, old="false",
                                        new="true", actor="demo-seed", reason=reason))
    older = s.start - timedelta(days=6)
    for ws in s.bundle_all_along:
        b.add(audit_log, rows.audit_row(at=older, workspace_id=ws, field="leadContextBundleEnabled", old="false",
                                        new="true", actor="demo-seed", reason="Early adopter"))
    b.add(audit_log, rows.audit_row(at=older + timedelta(hours=2), workspace_id=s.revision_all_along,
                                    field="autoSendRevisionEnabled", old="false", new="true",
                                    actor="demo-seed", reason="Early adopter: revision loop"))
    b.add(audit_log, rows.audit_row(at=s.start + timedelta(days=3, hours=15), workspace_id=s.null_budgets,
                                    field="leadContextBundleBudgets", old=json.dumps(REAL_BUDGETS), new="null",
                                    actor="demo-seed", reason="Budgets cleared back to defaults"))


# -- writing ---------------------------------------------------------------------------------------


def write(engine: Engine, b: Build) -> dict[str, int]:
    """Bulk-insert the collected rows, one transaction per table; returns rows written per table."""
    counts: dict[str, int] = {}
    for table in [*up.upstream_metadata.sorted_tables, audit_log]:
        batch = b.rows.get(table.name, [])
        if not batch:
            continue
        with engine.begin() as conn:
            for group in _same_keys(batch):
                conn.execute(insert(table), group)
        counts[table.name] = len(batch)
    return counts


def _same_keys(batch: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split rows into runs with identical columns (an executemany needs one column set)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in batch:
        groups.setdefault(tuple(row), []).append(row)
    return list(groups.values())
