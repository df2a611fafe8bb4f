"""The notification bodies `canarywatch watch` posts on a change of state (pure: no I/O).

Two shapes: a Slack-compatible one (`{"text": ..., "blocks": [...]}`) and a generic JSON one. Both
carry only the workspace's id and name, the field, the verdict, rule ids with measured vs threshold,
the catalog's rollback steps and a link to the canary view: never a message, an e-mail address or an
audit reason. The workspace name is upstream text: Slack's control characters are escaped, line
breaks and other control characters dropped, and its length capped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from analysis.watch_state import StateChange
from db.catalog import rollback_steps, watch_after_rollback

NAME_LIMIT = 80
CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
HEADLINES = {
    "verdict": "verdict changed",
    "rule_tripped": "rule tripped",
    "rule_recovered": "rule recovered",
    "platform_incident_began": "platform incident began",
    "platform_incident_ended": "platform incident ended",
    "rolled_back": "rolled back automatically",
    "would_roll_back": "would roll back (dry run)",
}


def one_line(text: str, limit: int = NAME_LIMIT) -> str:
    """Upstream text on one line, at most `limit` characters."""
    flat = CONTROL.sub(" ", str(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def slack_escape(text: str) -> str:
    """Slack's own escaping (&, <, >): no link, mention or channel ping can be smuggled in a name."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def canary_link(base_url: str | None, workspace: str, split: datetime | None, field: str) -> str | None:
    """The canary view with its URL state: /canary?ws=..&split=..&field=.. (None without a base URL)."""
    if not base_url:
        return None
    params = {"ws": workspace}
    if split is not None:
        params["split"] = split.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    params["field"] = field
    return f"{base_url.rstrip('/')}/canary?{urlencode(params)}"


@dataclass(frozen=True)
class Notice:
    """Everything a message says, already reduced to codes, numbers and catalog text."""

    workspace: str
    workspace_name: str
    field: str
    split: datetime | None
    verdict: str
    changes: tuple[StateChange, ...]
    tripped: tuple[Mapping[str, Any], ...]  # {"rule", "measured", "threshold", "operator", "scope", "critical"}
    evidence_hash: str
    evaluated_at: datetime
    link: str | None
    rollback_reason: str | None = None  # set when this evaluation flipped the toggle (or would, dry run)


def tripped_rules(status: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    return tuple({"rule": rid, "measured": r.get("measured"), "threshold": r.get("threshold"),
                  "operator": r.get("operator", ""), "scope": r.get("scope"), "critical": bool(r.get("critical"))}
                 for rid, r in sorted(status.get("rules", {}).items()) if r.get("status") == "TRIPPED")


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def _change_line(change: StateChange) -> str:
    head = HEADLINES.get(change.kind, change.kind)
    if change.kind in ("rule_tripped", "rule_recovered"):
        return (f"{head}: {change.subject} (measured {_number(change.measured)}, threshold {change.operator} "
                f"{_number(change.threshold)})")
    if change.kind in ("verdict", "rolled_back", "would_roll_back"):
        return f"{head}: {change.subject}"
    return head


def steps(field: str) -> list[dict[str, Any]]:
    return [{"kind": s.kind, "name": s.name, "text": s.text} for s in rollback_steps(field)]


def generic_payload(n: Notice) -> dict[str, Any]:
    return {
        "source": "canarywatch",
        "workspace": {"id": one_line(n.workspace, 200), "name": one_line(n.workspace_name)},
        "field": n.field,
        "split": None if n.split is None else n.split.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verdict": n.verdict,
        "changes": [{"kind": c.kind, "subject": c.subject, "measured": c.measured, "threshold": c.threshold,
                     "operator": c.operator} for c in n.changes],
        "tripped_rules": [dict(r) for r in n.tripped],
        "rollback_steps": steps(n.field),
        "watch_after_rollback": watch_after_rollback(n.field),
        "automatic_rollback": n.rollback_reason,
        "evidence_hash": n.evidence_hash,
        "evaluated_at": n.evaluated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "link": n.link,
    }


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def slack_payload(n: Notice) -> dict[str, Any]:
    name = slack_escape(one_line(n.workspace_name))
    title = f"canarywatch: {n.verdict} · {name} · {n.field}"
    lines = [f"• {slack_escape(_change_line(c))}" for c in n.changes]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": one_line(f"canarywatch: {n.verdict}", 150)}},
        _mrkdwn(f"*Workspace:* {name}\n*Field:* {n.field}\n*Verdict:* {n.verdict}"),
        _mrkdwn("*What changed*\n" + "\n".join(lines)),
    ]
    if n.tripped:
        blocks.append(_mrkdwn("*Tripped rules*\n" + "\n".join(
            f"• {r['rule']}: measured {_number(r['measured'])}, threshold {r['operator']} {_number(r['threshold'])}"
            + (" (critical)" if r["critical"] else "") for r in n.tripped)))
        blocks.append(_mrkdwn("*Rollback steps*\n" + "\n".join(
            f"{i}. {slack_escape(s['text'])}" for i, s in enumerate(steps(n.field), start=1))))
    if n.rollback_reason:
        blocks.append(_mrkdwn(f"*Automatic rollback:* {slack_escape(n.rollback_reason)}"))
    if n.link:
        blocks.append(_mrkdwn(f"<{n.link}|Open the canary view>"))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"evidence {n.evidence_hash[:16]}"}]})
    return {"text": title + ": " + "; ".join(_change_line(c) for c in n.changes), "blocks": blocks}


PAYLOADS = {"slack": slack_payload, "generic": generic_payload}


def payload(kind: str, notice: Notice) -> dict[str, Any]:
    return PAYLOADS[kind](notice)


def kinds() -> Sequence[str]:
    return tuple(PAYLOADS)
