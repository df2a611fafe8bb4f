"""What `canarywatch watch` stores, what changed since the last look, and whether to roll back (pure).

A stored status is JSON of codes and numbers only (verdict names, rule ids, statuses, measured values,
thresholds): never upstream text, so nothing personal can reach the state tables or a notification
through it. The state changes are computed from the previous stored status and the new one alone, so
every replica (and a restarted one) reaches the same answer.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from analysis.canary.verdicts import CanaryVerdict
from analysis.rules import RuleStatus

#: The actor of every automatic flip (audit log), and the prefix of the audited arming "field".
WATCH_ACTOR = "canarywatch-watch"
ARMING_FIELD_PREFIX = "autoRollback."
UNRECORDED = "unrecorded"


def canary_key(workspace: str, field: str, since: datetime | None) -> str:
    """The identity of one canary: a re-enable later is a new canary (new split)."""
    split = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if since is not None else UNRECORDED
    return f"{workspace}|{field}|{split}"


def slot_start(now: datetime, interval_seconds: float) -> datetime:
    """The start of the interval slot `now` falls in (UTC, aligned to the epoch): every replica agrees."""
    seconds = now.astimezone(UTC).timestamp()
    step = max(float(interval_seconds), 1.0)
    return datetime.fromtimestamp(math.floor(seconds / step) * step, tz=UTC)


def lock_key(key: str, slot: datetime) -> int:
    """A signed 64-bit PostgreSQL advisory-lock key for (canary, slot)."""
    digest = hashlib.sha256(f"watch|{key}|{slot.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return round(number, 10) if math.isfinite(number) else None  # 0.19999999999999998 is stored as 0.2


def status_of(verdict: CanaryVerdict) -> dict[str, Any]:
    """The stored status: the verdict, each rule's status with measured vs threshold, each metric's verdict."""
    rules = {r.rule.id: {"status": r.status.value, "scope": r.rule.scope, "critical": bool(r.rule.critical),
                         "measured": _number(r.measured), "threshold": _number(r.threshold),
                         "operator": r.rule.operator}
             for r in verdict.rules}
    metrics = {m.metric: {"verdict": m.verdict.value, "passed": m.passed, "delta": _number(m.delta),
                          "critical": bool(m.critical)}
               for m in verdict.metrics}
    return {"verdict": verdict.overall.value, "score": _number(verdict.score), "platform": verdict.platform_status,
            "rules": rules, "metrics": metrics}


@dataclass(frozen=True)
class StateChange:
    kind: str  # verdict | rule_tripped | rule_recovered | platform_incident_began/ended | rolled_back
    subject: str  # "PASS->FAIL", a rule id, or the field rolled back
    measured: float | None = None
    threshold: float | None = None
    operator: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"


def _tripped(status: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    if not status:
        return {}
    return {rid: r for rid, r in status.get("rules", {}).items() if r.get("status") == RuleStatus.TRIPPED.value}


def changes(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[StateChange]:
    """What changed from the previous stored status (None: first look, read as "nothing wrong yet")."""
    out: list[StateChange] = []
    before = previous.get("verdict") if previous else None
    now = current.get("verdict")
    if before != now and (previous is not None or now in ("FAIL", "PLATFORM_INCIDENT")):
        out.append(StateChange("verdict", f"{before or 'none'}->{now}"))
    was, tripped = _tripped(previous), _tripped(current)
    for rid in sorted(set(tripped) - set(was)):
        rule = tripped[rid]
        out.append(StateChange("rule_tripped", rid, rule.get("measured"), rule.get("threshold"),
                               rule.get("operator", "")))
    rules_now = current.get("rules", {})
    for rid in sorted(set(was) - set(tripped)):
        if rules_now.get(rid, {}).get("status") == RuleStatus.OK.value:  # NO_DATA is not a recovery
            rule = rules_now[rid]
            out.append(StateChange("rule_recovered", rid, rule.get("measured"), rule.get("threshold"),
                                   rule.get("operator", "")))
    incident_before = bool(previous) and previous.get("platform") == "INCIDENT"
    incident_now = current.get("platform") == "INCIDENT"
    if incident_now and not incident_before:
        out.append(StateChange("platform_incident_began", "platform"))
    if incident_before and not incident_now:
        out.append(StateChange("platform_incident_ended", "platform"))
    return out


def change_key(slot: datetime, found: list[StateChange]) -> str:
    """One key per notified evaluation: its slot and the changes it carries."""
    return f"{slot.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}|" + ",".join(c.key for c in found)


@dataclass(frozen=True)
class RollbackDecision:
    rule: str
    measured: float | None
    threshold: float | None
    operator: str

    def reason(self, evidence_hash: str) -> str:
        measured = "n/a" if self.measured is None else f"{self.measured:g}"
        threshold = "n/a" if self.threshold is None else f"{self.threshold:g}"
        return (f"automatic rollback by {WATCH_ACTOR}: critical rule {self.rule} tripped (measured {measured}, "
                f"threshold {self.operator} {threshold}); evidence {evidence_hash[:16]}")


def rollback_decision(current: Mapping[str, Any]) -> RollbackDecision | None:
    """Roll back only when the verdict is FAIL because a critical workspace-scoped rule tripped:
    never on INSUFFICIENT_DATA, MARGINAL or a platform incident (the verdict is then not FAIL), never
    on a platform-scoped rule, never on a non-critical one."""
    if current.get("verdict") != "FAIL":
        return None
    for rid, rule in sorted(_tripped(current).items()):
        if rule.get("scope") == "workspace" and rule.get("critical"):
            return RollbackDecision(rid, rule.get("measured"), rule.get("threshold"), rule.get("operator", ""))
    return None


@dataclass(frozen=True)
class RuleSpan:
    """One rule's first trip since the split and the first look after it that was OK again."""

    rule: str
    first_tripped: datetime
    recovered: datetime | None  # None: still tripped (or no OK look since)


def rule_timeline(history: list[tuple[datetime, Mapping[str, Any]]]) -> list[RuleSpan]:
    """From the stored looks (oldest first), when each rule first tripped and when it recovered after that."""
    tripped: dict[str, datetime] = {}
    recovered: dict[str, datetime | None] = {}
    for at, status in history:
        for rid, rule in status.get("rules", {}).items():
            state = rule.get("status")
            if state == RuleStatus.TRIPPED.value and rid not in tripped:
                tripped[rid], recovered[rid] = at, None
            elif state == RuleStatus.TRIPPED.value:
                recovered[rid] = None  # tripped again: not recovered (the first trip stays)
            elif state == RuleStatus.OK.value and rid in tripped and recovered[rid] is None:
                recovered[rid] = at
    return sorted((RuleSpan(rid, at, recovered[rid]) for rid, at in tripped.items()),
                  key=lambda s: (s.first_tripped, s.rule))
