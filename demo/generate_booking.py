"""Follow-up auto-book (DATA_CONTRACT.md section 8), appointments, follow-up tasks and background jobs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from db import upstream as up
from demo import generate_telemetry as tel
from demo import rows
from demo.generate_drafts import overseer_extract
from demo.story import DAYS

if TYPE_CHECKING:
    from demo.build import Build

AUTO_BOOKERS_WITHOUT_GATE = ("ws-harbor",)
GATE_DECISIONS = (("approve", 0.62), ("needs_clarification", 0.26), ("deny", 0.12))
ISSUES = ["ambiguous_time", "timezone_unclear", "slot_unavailable"]
SCENARIOS = ("accept_offered", "proposed_time_match", "day_only")
TASK_NAMES = (
    "Scheduled follow-up (auto)", "Scheduled follow-up (manual)",
    "Follow-up timing clarification (auto) #1", "Follow-up timing clarification (auto) #2",
    "Follow-up timing clarification (manual) #1", "Follow-up future-window deferral notice (auto)",
    "Follow-up future-window recontact (auto)", "Follow-up future-window recontact (manual)",
    "call_requested", "lead_scheduler_link", "phone_enrichment", None,
)


def booking(b: Build) -> None:
    s = b.story
    for ws in s.workspaces:
        for day in range(DAYS):
            if ws in s.booking_gate or ws in AUTO_BOOKERS_WITHOUT_GATE:
                for _ in range(b.day_count(max(1, b.scale / 12))):
                    _auto_book_attempt(b, ws, b.at(day, b.rng.uniform(300, 86_000)))
            for _ in range(b.day_count(max(1, b.scale / 25))):
                _synced_appointment(b, ws, b.at(day, b.rng.uniform(0, 86_000)))


def _auto_book_attempt(b: Build, ws: str, at: datetime) -> None:
    """An inbound reply on the follow-up path: extract, parse proposed times, the gate, maybe a booking."""
    lead = b.rng.choice(b.leads[ws]["ai"])
    mid = b.id("msg")
    b.add(up.message, rows.message_row(mid, lead["id"], at=at))
    overseer_extract(b, ws, lead["id"], mid, at + timedelta(seconds=4))
    parse_conf = round(b.rng.betavariate(9, 1.8), 2)
    parse_at = at + timedelta(seconds=8)
    followup = {"followupParse": {"confidence": parse_conf, "proposedTimesCount": b.rng.randint(0, 3),
                                  "needsTimezoneClarification": b.rng.random() < 0.1}}
    tel.call(b, ws, "followup.parse_proposed_times", parse_at, tel.bundled(b, ws, "followup_parse", parse_at, followup),
             lead_id=lead["id"], prompt_key="followup.parse_proposed_times.v2")
    gated = ws in b.story.booking_gate and b.story.bundle_on(ws, at)
    if gated:
        decision = _gate(b, ws, lead["id"], mid, at + timedelta(seconds=12), parse_conf)
        booked = decision == "approve"
    else:
        booked = b.rng.random() < 0.6
    if booked:
        start = at + timedelta(days=b.rng.randint(1, 6), hours=b.rng.randint(0, 6))
        b.add(up.appointment, rows.appointment_row(b.id("appt"), lead["id"], at=at + timedelta(seconds=20),
                                                   source="AUTO_BOOK", start_at=start.replace(minute=0)))
        _mark_lead(lead, "auto_book", at + timedelta(seconds=20))


def _gate(b: Build, ws: str, lead_id: str, message_id: str, at: datetime, parse_conf: float) -> str:
    decision = b.rng.choices([d for d, _ in GATE_DECISIONS], weights=[w for _, w in GATE_DECISIONS])[0]
    conf = round(b.rng.betavariate(7, 2), 3)
    retry = 1 if b.rng.random() < 0.1 else 0
    scenario = b.rng.choice(SCENARIOS)
    issues = [] if decision == "approve" else b.rng.sample(ISSUES, k=b.rng.randint(1, 2))
    extra = {"scenario": scenario, "retry_count": retry, "parse_confidence": parse_conf, "issues": issues,
             "matched_slot_utc": (at + timedelta(days=2)).strftime("%Y-%m-%dT%H:00:00Z")}
    b.add(up.meeting_overseer_decision, rows.overseer_row(
        b.id("mod"), client_id=ws, lead_id=lead_id, message_id=message_id, stage="booking_gate", at=at,
        decision=decision, confidence=conf, extra=extra))
    meta = {"bookingGate": {"scenario": scenario, "retryCount": retry, "decision": decision, "confidence": conf,
                            "issuesCount": len(issues)}}
    tel.call(b, ws, "followup.booking.gate", at, tel.bundled(b, ws, "followup_booking_gate", at, meta),
             lead_id=lead_id, prompt_key="followup.booking.gate.v1")
    return decision


def _synced_appointment(b: Build, ws: str, at: datetime) -> None:
    """A booking that arrived from the calendar provider (webhook) or the reconcile cron."""
    lead = b.rng.choice(b.leads[ws]["ai"] + b.leads[ws]["setter"])
    source = "WEBHOOK" if b.rng.random() < 0.75 else "RECONCILE_CRON"
    status = b.rng.choices(("CONFIRMED", "CANCELED", "RESCHEDULED", "SHOWED", "NO_SHOW"), (60, 10, 10, 15, 5))[0]
    b.add(up.appointment, rows.appointment_row(b.id("appt"), lead["id"], at=at, source=source, status=status,
                                               provider=b.rng.choice(("GHL", "CALENDLY")),
                                               start_at=(at + timedelta(days=b.rng.randint(1, 5))).replace(minute=30)))
    _mark_lead(lead, source.lower(), at)


def _mark_lead(lead: dict[str, Any], source: str, at: datetime) -> None:
    lead["appointmentSource"] = source
    lead["appointmentBookedAt"] = at.replace(tzinfo=None)


def tasks_and_jobs(b: Build) -> None:
    s = b.story
    for ws in s.workspaces:
        for day in range(DAYS):
            for _ in range(b.day_count(max(1, b.scale / 15))):
                _task(b, ws, b.at(day, b.rng.uniform(0, 86_000)))
            for _ in range(b.day_count(max(1, b.scale / 10))):
                _job(b, ws, b.at(day, b.rng.uniform(0, 86_000)), "LEAD_SCORING_POST_PROCESS")
            _job(b, ws, b.at(day, 3_600 * 3), "CONVERSATION_SYNC")
        for minutes in (25, 12, 4):  # still queued at the end of the data
            run_at = s.end - timedelta(minutes=minutes)
            b.add(up.background_job, rows.job_row(b.id("job"), ws, run_at=run_at, type="LEAD_SCORING_POST_PROCESS",
                                                  status="PENDING"))


def _task(b: Build, ws: str, at: datetime) -> None:
    name = b.rng.choice(TASK_NAMES)
    kind = "call" if name == "call_requested" else b.rng.choice(("email", "sms", "linkedin"))
    due = at + timedelta(hours=b.rng.uniform(1, 72))
    if due >= b.story.end:
        status = "pending"
    else:
        status = b.rng.choices(("completed", "skipped", "cancelled", "pending"), (60, 10, 5, 25))[0]
    row = rows.task_row(b.id("task"), b.rng.choice(b.leads[ws]["ai"])["id"], at=at, campaign_name=name, type=kind,
                        status=status)
    row["dueDate"] = due.replace(tzinfo=None)
    b.add(up.follow_up_task, row)


def _job(b: Build, ws: str, run_at: datetime, job_type: str) -> None:
    failed = b.rng.random() < 0.01
    b.add(up.background_job, rows.job_row(b.id("job"), ws, run_at=run_at, type=job_type,
                                          status="FAILED" if failed else "SUCCEEDED",
                                          finished_at=run_at + timedelta(seconds=b.rng.uniform(1, 90))))
