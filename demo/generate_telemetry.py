"""AIInteraction rows for the demo: one model call per `call()`, with the metadata shapes of
DATA_CONTRACT.md section 6, occasional error rows followed by `.retryN` rows, and the bundle
telemetry (with truncation rates that differ by profile).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from db import upstream as up
from demo import rows
from demo.sentinels import pii_text

if TYPE_CHECKING:
    from demo.build import Build

#: (knowledge maxTokens, maxAssetTokens) and (memory maxTokens, maxEntryTokens) per profile (section 2).
DEFAULT_BUDGETS: dict[str, tuple[tuple[int, int] | None, tuple[int, int] | None]] = {
    "draft": ((4000, 1200), (1200, 400)),
    "revision": ((3000, 1200), (800, 300)),
    "auto_send_evaluator": ((8000, 1600), (600, 300)),
    "meeting_overseer_gate": (None, (600, 300)),
    "followup_booking_gate": (None, (600, 300)),
    "followup_parse": (None, (400, 200)),
}

#: How often a profile's bundle comes out truncated: the evaluator's knowledge budget is tight.
TRUNCATION_RATE = {
    "draft": 0.03, "revision": 0.05, "auto_send_evaluator": 0.25,
    "meeting_overseer_gate": 0.08, "followup_booking_gate": 0.05, "followup_parse": 0.02,
}

#: feature -> (model, typical latency ms)
FEATURES: dict[str, tuple[str, int]] = {
    "draft.generate.email": ("gpt-5.2", 5200), "draft.generate.sms": ("gpt-5.2", 3100),
    "draft.generate.linkedin": ("gpt-5.2", 3600), "draft.verify.email.step3": ("gpt-5.2", 4100),
    "auto_send.evaluate": ("gpt-5.2", 2600), "auto_send.context_select": ("gpt-5-mini", 900),
    "auto_send.revise": ("gpt-5.2", 7400), "auto_send.revision_loop": ("internal", 0),
    "meeting.overseer.extract": ("gpt-5.2", 2100), "meeting.overseer.gate": ("gpt-5.2", 2900),
    "followup.parse_proposed_times": ("gpt-5-mini", 1300), "followup.booking.gate": ("gpt-5-mini", 1500),
    "followup.detect_meeting_accept_intent": ("gpt-5-mini", 800), "followup.extract_timing": ("gpt-5-mini", 900),
    "followup.timing_clarify": ("gpt-5-mini", 1100),
    "ai.route_skipped": ("system", 0), "memory.governance.update": ("internal", 0),
}
ERROR_RATE = 0.015


def bundle(b: Build, ws: str, profile: str) -> dict[str, Any]:
    """`leadContextBundle` telemetry for one build, with the workspace's budgets overriding defaults."""
    rng = b.rng
    knowledge_budget, memory_budget = DEFAULT_BUDGETS[profile]
    override = b.budgets.get(ws, {}).get(profile, {})
    truncated = rng.random() < TRUNCATION_RATE[profile]
    knowledge = memory = None
    if knowledge_budget is not None:
        mx, per = override.get("knowledge", {}).get("maxTokens", knowledge_budget[0]), knowledge_budget[1]
        per = override.get("knowledge", {}).get("maxAssetTokens", per)
        total = rng.randint(2, 9)
        cut = rng.randint(1, min(3, total)) if truncated else 0
        tokens = min(mx, rng.randint(total * per // 4, total * per // 2) + cut * per // 2)
        knowledge = (mx, per, total, total, cut, tokens)
    if memory_budget is not None:
        mx, per = override.get("memory", {}).get("maxTokens", memory_budget[0]), memory_budget[1]
        per = override.get("memory", {}).get("maxEntryTokens", per)
        total = rng.randint(0, 12)
        cut = rng.randint(1, 2) if truncated and knowledge is None and total > 1 else 0
        included = total - (1 if cut and total > 3 else 0)
        memory = (mx, per, total, included, cut, min(mx, included * per // 3))
    return rows.bundle_metadata(profile, knowledge=knowledge, memory=memory)


def _latency(b: Build, typical: int) -> int:
    return 0 if typical == 0 else max(50, round(b.rng.lognormvariate(0, 0.35) * typical))


def call(b: Build, ws: str, feature: str, at: datetime, metadata: dict[str, Any] | None = None, *,
         lead_id: str | None = None, prompt_key: str | None = None, can_fail: bool = True) -> dict[str, Any]:
    """One model call; now and then an error row first, and the call that follows is `.retry1` (`.retry2`)."""
    model, typical = FEATURES[feature]
    key = prompt_key or f"{feature}.v1"
    failures = 0
    if can_fail and b.rng.random() < ERROR_RATE:
        failures = 2 if b.rng.random() < 0.15 else 1
    for attempt in range(failures):
        err_at = at - timedelta(seconds=20 * (failures - attempt))
        err_key = key if attempt == 0 else f"{key}.retry{attempt}"
        _add(b, ws, feature, err_at, None, model=model, latency=_latency(b, typical), key=err_key,
             lead_id=lead_id, status="error")
    final_key = f"{key}.retry{failures}" if failures else key
    return _add(b, ws, feature, at, metadata, model=model, latency=_latency(b, typical), key=final_key,
                lead_id=lead_id, status="success")


def _add(b: Build, ws: str, feature: str, at: datetime, metadata: dict[str, Any] | None, *, model: str,
         latency: int, key: str, lead_id: str | None, status: str) -> dict[str, Any]:
    row = rows.interaction_row(b.id("ai"), client_id=ws, feature=feature, at=at, metadata=metadata,
                               status=status, latency_ms=latency, prompt_key=key, model=model, lead_id=lead_id)
    if model in ("system", "internal"):
        row.update(apiType="internal", inputTokens=0, outputTokens=0, reasoningTokens=0, totalTokens=0)
    else:
        inp = b.rng.randint(800, 6000)
        out = b.rng.randint(80, 900) if status == "success" else 0
        reasoning = b.rng.randint(0, 600) if status == "success" else 0
        row.update(inputTokens=inp, outputTokens=out, reasoningTokens=reasoning, totalTokens=inp + out + reasoning)
    return b.add(up.ai_interaction, row)


def bundled(b: Build, ws: str, profile: str, at: datetime,
            extra: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Metadata of a bundle-expected call: the bundle when it is on, minus the silent fallback."""
    meta = dict(extra or {})
    if b.story.bundle_on(ws, at) and not (ws == b.story.fallback and b.rng.random() < 0.05):
        meta["leadContextBundle"] = bundle(b, ws, profile)
    return meta or None


def route_skip(b: Build, ws: str, at: datetime, channel: str, trigger: str) -> None:
    """`ai.route_skipped`: direct metadata, bypassing the sanitizer (section 6)."""
    meta = {"routeSkip": {"route": "draft_generation_step2", "reason": "disabled_by_workspace_settings",
                          "channel": channel, "triggerMessageId": trigger}}
    call(b, ws, "ai.route_skipped", at, meta, prompt_key="ai.route_skipped", can_fail=False)


def hygiene_plant(b: Build) -> None:
    """One row whose metadata has an undocumented top-level key holding a long string (sentinel text)."""
    s = b.story
    at = s.start + timedelta(days=6, hours=10, minutes=17)
    long_text = " ".join([pii_text("prompt excerpt logged by mistake")] * 8)
    row = rows.interaction_row(s.hygiene_interaction_id, client_id="ws-harbor", feature="followup.extract_timing",
                               at=at, metadata={"promptPreview": long_text, "timingBucket": "next_week"},
                               prompt_key="followup.extract_timing.v1", model="gpt-5-mini", latency_ms=950)
    b.add(up.ai_interaction, row)


def misc_calls(b: Build, ws: str, day: int) -> None:
    """Follow-up helpers and memory-governance edits: NULL metadata rows of other features."""
    for _ in range(max(1, b.scale // 20)):
        at = b.at(day, b.rng.uniform(0, 86_400))
        feature = b.rng.choice(("followup.detect_meeting_accept_intent", "followup.extract_timing",
                                "followup.timing_clarify"))
        call(b, ws, feature, at)
    if day % 5 == 2:
        meta = {"memoryGovernance": {"maxEntries": 40}, "updatedByUserId": f"user-{ws}"}
        call(b, ws, "memory.governance.update", b.at(day, 40_000), meta, can_fail=False)
