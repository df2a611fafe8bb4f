"""Effective rollout state: a toggle only takes effect where no kill switch overrides it.

Pure rules from DATA_CONTRACT.md section 2, so the overview, the toggle page and the canary view
all say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from db.catalog import TOGGLES

#: the toggle columns a kill switch overrides (db/catalog.py)
OVERRIDES: dict[str, str] = {t.field: t.kill_switch for t in TOGGLES if t.kill_switch}


@dataclass(frozen=True)
class Effective:
    toggle: str
    stored: bool
    effective: bool
    why: str  # one line: what decided the effective state


def effective_state(settings: Mapping[str, bool], engaged: Mapping[str, bool]) -> dict[str, Effective]:
    """Per toggle: its stored value and whether it is in effect given the engaged kill switches.

    `settings` holds the workspace's toggle values (defaults applied), `engaged` the kill switches by
    env name. The booking gate runs only if the bundle is effective AND autoBookMeetings AND its own
    column; the revision loop also stops under AUTO_SEND_DISABLED, since no auto-send decision is
    recorded then.
    """
    out: dict[str, Effective] = {}
    for toggle, switch in OVERRIDES.items():
        stored = bool(settings.get(toggle, False))
        if stored and engaged.get(switch, False):
            out[toggle] = Effective(toggle, stored, False, f"overridden by {switch}")
        else:
            out[toggle] = Effective(toggle, stored, stored, "on" if stored else "off in WorkspaceSettings")
    revision = out["autoSendRevisionEnabled"]
    if revision.effective and engaged.get("AUTO_SEND_DISABLED", False):
        out["autoSendRevisionEnabled"] = Effective(revision.toggle, True, False, "auto-send off (AUTO_SEND_DISABLED)")
    gate_stored = bool(settings.get("followupBookingGateEnabled", False))
    if not gate_stored:
        gate = Effective("followupBookingGateEnabled", False, False, "off in WorkspaceSettings")
    elif not out["leadContextBundleEnabled"].effective:
        gate = Effective("followupBookingGateEnabled", True, False, "needs the lead-context bundle in effect")
    elif not settings.get("autoBookMeetings", False):
        gate = Effective("followupBookingGateEnabled", True, False, "needs autoBookMeetings on")
    else:
        gate = Effective("followupBookingGateEnabled", True, True, "on")
    out["followupBookingGateEnabled"] = gate
    for toggle in ("meetingOverseerEnabled", "autoBookMeetings", "draftGenerationEnabled"):
        stored = bool(settings.get(toggle, False))
        out[toggle] = Effective(toggle, stored, stored, "on" if stored else "off in WorkspaceSettings")
    return out


#: what overrides or gates each toggle, for the table's column help (db/catalog.py)
GATED_BY: dict[str, str] = {t.field: t.gated_by for t in TOGGLES if t.gated_by}
#: the toggle table's columns that say which workspace a row is (kept in view while the toggles scroll)
IDENTITY_COLUMNS = ("workspace", "name")


def toggle_label(eff: Effective) -> str:
    """"off", "on · in effect", or "on · NOT in effect (why)"."""
    if not eff.stored:
        return "off"
    return "on · in effect" if eff.effective else f"on · NOT in effect ({eff.why})"


def toggle_table(settings_rows: list[Mapping[str, object]], engaged: Mapping[str, bool]) -> list[dict[str, object]]:
    """One display row per workspace: each toggle as stored, whether it is in effect, and why not."""
    rows = []
    for row in settings_rows:
        state = effective_state({k: bool(v) for k, v in row.items() if isinstance(v, bool)}, engaged)
        out: dict[str, object] = {"workspace": row["workspace"], "name": row.get("name"),
                                  "settings row": "yes" if row.get("has_settings_row") else "no (defaults)"}
        for toggle, eff in state.items():
            out[toggle] = toggle_label(eff)
        rows.append(out)
    return rows
