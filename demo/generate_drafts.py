"""Drafts and everything around one draft: the inbound message, the overseer rows, the model calls,
the revision loop, the delayed-send job (DATA_CONTRACT.md sections 4-6).

The action mix is set by quota per day (error diffusion), not by coin flips, so rates stay level
at any scale: a quiet workspace's needs_review rate does not wander, and the canary's shift after
`rollout_at` is the only one in the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from db import upstream as up
from demo import generate_telemetry as tel
from demo import rows
from demo.sentinels import pii_text
from demo.story import DAYS

if TYPE_CHECKING:
    from demo.build import Build

KINDS = ("unevaluated", "null_skip", "coded_skip", "error", "lo", "hi")
NULL_SKIP_REASONS = ("missing_draft_content", "external_scheduler_link_manual_only", "call_requested_phone_missing",
                     "call_requested_phone_on_file", "call_requested_sentiment")
CODED_SKIP_REASONS = ("outside_schedule:business_hours", "post_ai_invariant_failed:unbalanced_links",
                      "delayed_send_not_scheduled:quota")
CHANNELS = (("email", 0.6), ("sms", 0.25), ("linkedin", 0.15))
GATE_CASES = {"approve": ("Approve", "APPROVE"), "revise": ("REVISE", "Revise")}
STOP_REASONS_UNAPPLIED = ("no_improvement", "hard_block", "timeout", "exhausted", "error")


@dataclass(frozen=True)
class Shape:
    """How sure the evaluator is: the share below threshold and two beta shapes for above/below."""

    p_lo: float
    hi: tuple[float, float]  # beta over [threshold, 0.995)
    lo: tuple[float, float]  # beta over [0, threshold) as a fraction of the threshold


SHAPES = {
    "ws-acme": Shape(0.15, (2.0, 2.2), (7.0, 2.0)),
    "ws-birch": Shape(0.14, (2.1, 2.0), (7.5, 2.0)),
    "ws-cobalt": Shape(0.17, (1.9, 2.2), (7.0, 2.2)),
    "ws-delta": Shape(0.19, (2.0, 2.0), (7.0, 2.0)),
    "ws-ember": Shape(0.12, (2.3, 2.0), (8.0, 2.0)),
    "ws-fjord": Shape(0.10, (2.0, 2.4), (7.0, 2.0)),
    "ws-granite": Shape(0.16, (2.0, 2.1), (7.0, 2.1)),
    "ws-harbor": Shape(0.13, (2.2, 2.1), (7.5, 2.0)),
}
CANARY_AFTER = Shape(0.30, (1.6, 2.5), (6.0, 2.45))  # the change makes the evaluator less sure
FIXED_SHARES = {"unevaluated": 0.05, "null_skip": 0.025, "coded_skip": 0.01, "error": 0.006}


def drafts(b: Build) -> None:
    s = b.story
    for ws in s.workspaces:
        carry = dict.fromkeys(KINDS, 0.0)
        for day in range(DAYS):
            day_start = b.at(day, 0)
            shape = CANARY_AFTER if ws == s.canary and day_start >= s.rollout_at else SHAPES[ws]
            kinds = _quota(b.day_count(b.scale), {**FIXED_SHARES, "lo": shape.p_lo}, carry)
            b.rng.shuffle(kinds)
            for kind, sec in zip(kinds, sorted(b.rng.uniform(60, 86_100) for _ in kinds), strict=True):
                _draft(b, ws, kind, b.at(day, sec), shape)
            tel.misc_calls(b, ws, day)
    _double_loop(b)
    tel.hygiene_plant(b)


def _quota(n: int, shares: dict[str, float], carry: dict[str, float]) -> list[str]:
    """n kinds with the given shares (the rest "hi"), carrying rounding over to the next day."""
    out: list[str] = []
    for kind, share in shares.items():
        want = n * share + carry[kind]
        count = min(math.floor(want + 0.5), n - len(out))
        carry[kind] = want - count
        out += [kind] * count
    return out + ["hi"] * (n - len(out))


def _confidence(b: Build, ws: str, shape: Shape, below: bool) -> float:
    thr = b.thresholds[ws]
    if below:
        return min(round(thr * b.rng.betavariate(*shape.lo), 3), round(thr - 0.001, 3))
    return max(round(thr + (0.995 - thr) * b.rng.betavariate(*shape.hi), 3), thr)


def _channel(b: Build) -> str:
    return b.rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]


def _draft(b: Build, ws: str, kind: str, created: datetime, shape: Shape, *, draft_id: str | None = None,
           channel: str | None = None, loops: int = 1) -> None:
    s = b.story
    channel = channel or _channel(b)
    lead = b.rng.choice(b.leads[ws]["setter" if kind == "unevaluated" else "ai"])
    did = draft_id or b.id("draft")
    trigger, message_id = _trigger(b, ws, lead["id"], created, channel, kind)
    _generation_calls(b, ws, lead["id"], created, channel, trigger, message_id)
    thr = b.thresholds[ws]
    fields: dict[str, Any] = {}
    evaluated = created + timedelta(seconds=30)
    conf: float | None = None
    if kind == "unevaluated":
        action = None
    elif kind == "null_skip":
        action, fields["reason"] = "skip", b.rng.choice(NULL_SKIP_REASONS)
        evaluated = created + timedelta(seconds=5)
    else:
        conf = _confidence(b, ws, shape, below=kind == "lo")
        tel.call(b, ws, "auto_send.evaluate", evaluated, tel.bundled(b, ws, "auto_send_evaluator", evaluated),
                 lead_id=lead["id"], prompt_key="auto_send.evaluate.v3")
        if kind == "coded_skip":
            action, fields["reason"] = "skip", b.rng.choice(CODED_SKIP_REASONS)
        elif kind == "error":
            action, fields["reason"] = "error", pii_text("send error")
        else:
            if kind == "lo" and s.revision_on(ws, created):
                conf, evaluated = _revise(b, ws, did, lead["id"], channel, conf, evaluated, fields, loops)
            action = _send_action(b) if conf >= thr else "needs_review"
    fields.update(_outcome(b, ws, did, action, evaluated))
    b.add(up.ai_draft, rows.draft_row(
        did, lead["id"], created_at=created, evaluated_at=evaluated if action else None, action=action,
        confidence=conf, threshold=thr if action else None, channel=channel, trigger_message_id=trigger, **fields))


def _trigger(b: Build, ws: str, lead_id: str, created: datetime, channel: str, kind: str) -> tuple[str, str | None]:
    """The inbound message the draft answers, or (4%) the follow-up task that triggered it."""
    if kind != "unevaluated" and b.rng.random() < 0.04:
        tid = b.id("task")
        b.add(up.follow_up_task, rows.task_row(tid, lead_id, at=created - timedelta(minutes=1),
                                               campaign_name="Scheduled follow-up (auto)", type=channel,
                                               status="completed"))
        return f"followup_task:{tid}", None
    mid = b.id("msg")
    msg_at = created - timedelta(seconds=b.rng.uniform(30, 600))
    b.add(up.message, rows.message_row(mid, lead_id, at=msg_at, channel=channel))
    if b.rng.random() < 0.25:
        job_type = f"{channel.upper()}_INBOUND_POST_PROCESS"
        failed = b.rng.random() < 0.01
        b.add(up.background_job, rows.job_row(b.id("job"), ws, run_at=msg_at + timedelta(seconds=2), type=job_type,
                                              status="FAILED" if failed else "SUCCEEDED",
                                              finished_at=msg_at + timedelta(seconds=b.rng.uniform(3, 40))))
    return mid, mid


def _generation_calls(b: Build, ws: str, lead_id: str, created: datetime, channel: str, trigger: str,
                      message_id: str | None) -> None:
    at = created - timedelta(seconds=15)
    if ws == b.story.route_skip:
        tel.route_skip(b, ws, at - timedelta(seconds=1), channel, trigger)
    tel.call(b, ws, f"draft.generate.{channel}", at, tel.bundled(b, ws, "draft", at), lead_id=lead_id,
             prompt_key=f"draft.generate.{channel}.v4")
    if channel == "email":
        verify = created - timedelta(seconds=5)
        tel.call(b, ws, "draft.verify.email.step3", verify, tel.bundled(b, ws, "draft", verify), lead_id=lead_id)
    if message_id is not None and b.rng.random() < 0.35:
        _overseer(b, ws, lead_id, message_id, created)


def _overseer(b: Build, ws: str, lead_id: str, message_id: str, created: datetime) -> None:
    """Extract then gate on the draft path: gate says approve or revise (~25%), in any case."""
    extract_at, gate_at = created - timedelta(seconds=25), created - timedelta(seconds=8)
    overseer_extract(b, ws, lead_id, message_id, extract_at)
    decision = "revise" if b.rng.random() < 0.25 else "approve"
    if b.rng.random() < 0.04:
        decision = b.rng.choice(GATE_CASES[decision])
    conf = round(b.rng.betavariate(8, 1.6), 3)
    b.add(up.meeting_overseer_decision, rows.overseer_row(
        b.id("mod"), client_id=ws, lead_id=lead_id, message_id=message_id, stage="gate", at=gate_at,
        decision=decision, confidence=conf, extra={"issues": ["tone"] if decision.lower() == "revise" else []}))
    tel.call(b, ws, "meeting.overseer.gate", gate_at, tel.bundled(b, ws, "meeting_overseer_gate", gate_at),
             lead_id=lead_id, prompt_key="meeting.overseer.gate.v1")


def overseer_extract(b: Build, ws: str, lead_id: str, message_id: str, at: datetime) -> None:
    conf = round(b.rng.betavariate(9, 2), 3)
    extra = {"intent": b.rng.choice(("accept_offer", "request_times", "propose_time", "reschedule", "other")),
             "intent_confidence": conf, "qualification_confidence": round(b.rng.uniform(0.5, 0.99), 2),
             "decision_contract_status": "ok", "decision_contract_v1": {"shouldBookNow": "yes",
                                                                         "responseMode": "booking_only"}}
    b.add(up.meeting_overseer_decision, rows.overseer_row(
        b.id("mod"), client_id=ws, lead_id=lead_id, message_id=message_id, stage="extract", at=at,
        confidence=conf, extra=extra))
    tel.call(b, ws, "meeting.overseer.extract", at, lead_id=lead_id, prompt_key="meeting.overseer.extract.v2")


def _revise(b: Build, ws: str, draft_id: str, lead_id: str, channel: str, original: float, at: datetime,
            fields: dict[str, Any], loops: int) -> tuple[float, datetime]:
    """The revision loop on a below-threshold draft; returns the final confidence and evaluation time."""
    thr = b.thresholds[ws]
    attempted = at + timedelta(seconds=2)
    applied = b.rng.random() < 0.4
    selector = b.rng.random() < 0.7
    iterations = b.rng.randint(1, 3) if channel == "email" and applied else 0
    rounds = max(iterations, 1 if channel != "email" else b.rng.randint(1, 3))
    select_meta = {"autoSendRevision": {"stage": "context_select", "chunksConsidered": b.rng.randint(4, 30),
                                        "candidatesSent": b.rng.randint(1, 6), "mpPackPresent": b.rng.random() < 0.6,
                                        "insightsPackPresent": b.rng.random() < 0.4}}
    tel.call(b, ws, "auto_send.context_select", attempted + timedelta(seconds=1), select_meta, lead_id=lead_id)
    for i in range(1, rounds + 1):
        revise_at = attempted + timedelta(seconds=12 * i)
        meta = {"autoSendRevision": {
            "stage": "revise", "selectorUsed": selector, "originalConfidence": original, "threshold": thr,
            "iteration": i, "model": "gpt-5.2", "reasoningEffort": "high", "contextPackUsed": selector,
            "contextPackChars": b.rng.randint(800, 6000), "hardRequirementsCount": b.rng.randint(0, 4),
            "hardForbiddenCount": b.rng.randint(0, 3), "offeredSlotsCount": b.rng.randint(0, 3)}}
        tel.call(b, ws, "auto_send.revise", revise_at, meta, lead_id=lead_id, prompt_key="auto_send.revise.v2")
        again = revise_at + timedelta(seconds=5)  # each loop re-evaluation logs auto_send.evaluate again
        tel.call(b, ws, "auto_send.evaluate", again, tel.bundled(b, ws, "auto_send_evaluator", again),
                 lead_id=lead_id, prompt_key="auto_send.evaluate.v3")
    delta = b.rng.uniform(0.03, 0.16) if applied else b.rng.uniform(-0.04, 0.02)
    revised = round(min(0.995, max(0.01, original + delta)), 3)
    final = revised if applied else original
    if channel == "email":
        stop = ("threshold_met" if final >= thr else "exhausted") if applied else b.rng.choice(STOP_REASONS_UNAPPLIED)
        for n in range(loops):
            flat = {"runId": f"run-{draft_id}-{n}", "draftId": draft_id, "stopReason": stop, "iterationsUsed": rounds,
                    "threshold": thr, "startConfidence": original, "endConfidence": revised,
                    "deltaConfidence": round(revised - original, 3), "cacheHits": b.rng.randint(0, 2),
                    "elapsedMs": rounds * b.rng.randint(6000, 12000), "channel": channel}
            loop_at = attempted + timedelta(seconds=12 * rounds + 8 + 40 * n)
            tel.call(b, ws, "auto_send.revision_loop", loop_at, flat, lead_id=lead_id,
                     prompt_key="auto_send.revision_loop", can_fail=False)
    fields.update(revision_attempted_at=attempted, original_confidence=original, revision_confidence=revised,
                  revision_applied=applied, selector_used=selector, iterations=iterations)
    return final, attempted + timedelta(seconds=12 * rounds + 10)


def _send_action(b: Build) -> str:
    return "send_immediate" if b.rng.random() < 0.55 else "send_delayed"


def _outcome(b: Build, ws: str, draft_id: str, action: str | None, evaluated: datetime) -> dict[str, Any]:
    """Status and disposition: sends are AUTO_SENT, needs_review ones are approved, edited or left open."""
    r = b.rng.random()
    recent = evaluated > b.story.end - timedelta(hours=3)
    if action == "send_immediate":
        return {"status": "approved", "disposition": "AUTO_SENT"}
    if action == "send_delayed":
        run_at = evaluated + timedelta(seconds=b.rng.uniform(180, 420))
        done = run_at < b.story.end
        job = rows.job_row(b.id("job"), ws, run_at=run_at, status="SUCCEEDED" if done else "PENDING",
                           finished_at=run_at + timedelta(seconds=3) if done else None)
        queued = evaluated.replace(tzinfo=None)
        b.add(up.background_job, job | {"draftId": draft_id, "createdAt": queued, "updatedAt": queued})
        return {"status": "approved", "disposition": "AUTO_SENT"} if done else {"status": "pending"}
    if action == "needs_review":
        slack = b.rng.random() < 0.85
        if recent or r < 0.13:
            return {"status": "pending", "slack_notified": slack}
        if r < 0.25:
            return {"status": "rejected", "slack_notified": slack}
        return {"status": "approved", "slack_notified": slack, "disposition": "APPROVED" if r < 0.62 else "EDITED"}
    if r < 0.3:  # a setter handled it by hand
        return {"status": "approved", "disposition": "APPROVED" if r < 0.2 else "EDITED"}
    return {"status": "pending" if r < 0.8 else "rejected"}


def _double_loop(b: Build) -> None:
    """The planted at-most-once violation: one draft with two revision_loop rows, long before rollout."""
    s = b.story
    ws = s.revision_all_along
    created = s.start + timedelta(days=2, hours=14, minutes=7)
    _draft(b, ws, "lo", created, SHAPES[ws], draft_id=s.double_loop_draft_id, channel="email", loops=2)
