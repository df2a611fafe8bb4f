"""The rollout catalog: every toggle canarywatch can flip, the kill switches that override them, the
rollback levers of each change and what to watch after pulling it back (DATA_CONTRACT.md section 2).

Declared once here and used by the toggle page, the effective-state logic (analysis/effective.py), the
env reader (rollout/killswitch.py), the canary rollback guidance and `canarywatch doctor`. Pure data:
no I/O, no imports beyond the standard library, so every layer may read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def only_one(value: str) -> bool:
    """Upstream reads AUTO_SEND_DISABLED and AUTO_SEND_REVISION_DISABLED as engaged only for "1"."""
    return value.strip() == "1"


def one_true_yes(value: str) -> bool:
    """Upstream reads LEAD_CONTEXT_BUNDLE_DISABLED as engaged for 1/true/yes (any case)."""
    return value.strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class KillSwitch:
    """A global env switch of the upstream deployment; engaged, it overrides toggles everywhere."""

    name: str
    engaged_when: Callable[[str], bool]
    accepts: str  # the values upstream reads as engaged, for messages
    overrides: tuple[str, ...]  # toggle fields it switches off everywhere
    effect: str


@dataclass(frozen=True)
class Toggle:
    """A boolean WorkspaceSettings column canarywatch may flip for one workspace."""

    field: str
    default: bool  # upstream's column default (what a workspace without a settings row behaves like)
    editor: str  # who edits it upstream
    rollout: bool  # a behaviour change rolled out by canary (the canary page watches these)
    kill_switch: str | None = None  # the env switch that overrides it, if any
    gated_by: str = ""  # one line: what else must hold for it to take effect
    watch: str = ""  # what to watch after turning it off, from the rollout plans


KILL_SWITCHES: tuple[KillSwitch, ...] = (
    KillSwitch("AUTO_SEND_DISABLED", only_one, "1", ("autoSendRevisionEnabled",),
               "no auto-send decision is recorded on new drafts (the revision loop stops too)"),
    KillSwitch("AUTO_SEND_REVISION_DISABLED", only_one, "1", ("autoSendRevisionEnabled",),
               "the auto-send revision loop stops in every workspace"),
    KillSwitch("LEAD_CONTEXT_BUNDLE_DISABLED", one_true_yes, "1, true or yes",
               ("leadContextBundleEnabled", "followupBookingGateEnabled"),
               "every prompt goes back to the context it had before the bundle (and the booking gate stops)"),
)

TOGGLES: tuple[Toggle, ...] = (
    Toggle("leadContextBundleEnabled", False, "super admin", True, "LEAD_CONTEXT_BUNDLE_DISABLED",
           "overridden by the kill switch LEAD_CONTEXT_BUNDLE_DISABLED (1/true/yes)",
           "the bundle truncation rate returns to its baseline"),
    Toggle("followupBookingGateEnabled", False, "super admin", True, None,
           "runs only if the bundle is in effect AND autoBookMeetings AND this toggle",
           "the auto-booking error rate does not increase"),
    Toggle("autoSendRevisionEnabled", False, "super admin", True, "AUTO_SEND_REVISION_DISABLED",
           "overridden by AUTO_SEND_REVISION_DISABLED=1, and stops under AUTO_SEND_DISABLED=1",
           "the needs_review rate returns to its baseline"),
    Toggle("meetingOverseerEnabled", True, "workspace admin", False, None,
           "workspace-admin switch; also gates the auto-book path", "gate revise rate back to baseline"),
    Toggle("draftGenerationEnabled", True, "workspace admin", False, None,
           "workspace-admin switch; off writes an ai.route_skipped row"),
    Toggle("draftGenerationStep2Enabled", True, "workspace admin", False),
    Toggle("draftVerificationStep3Enabled", True, "workspace admin", False),
    Toggle("aiRouteBookingProcessEnabled", True, "workspace admin", False),
    Toggle("autoBookMeetings", False, "workspace admin", False, None,
           "workspace-admin switch; needed for the booking gate"),
)

#: The jsonb budgets column edited beside the toggles (analysis/budgets.py validates it).
BUDGETS_FIELD = "leadContextBundleBudgets"
#: Other bool settings a rollback rule may name (read, never flipped by canarywatch).
OTHER_BOOL_SETTINGS = ("autoSendSkipHumanReview", "highQuotaEnabled", "crmWebhookEnabled")

TOGGLE_BY_FIELD: dict[str, Toggle] = {t.field: t for t in TOGGLES}
SWITCH_BY_NAME: dict[str, KillSwitch] = {k.name: k for k in KILL_SWITCHES}
TOGGLE_FIELDS: tuple[str, ...] = tuple(t.field for t in TOGGLES)
ROLLOUT_FIELDS: tuple[str, ...] = tuple(t.field for t in TOGGLES if t.rollout)
TOGGLE_DEFAULTS: dict[str, bool] = {t.field: t.default for t in TOGGLES} | {"autoSendSkipHumanReview": False}
KILL_SWITCH_NAMES: tuple[str, ...] = tuple(k.name for k in KILL_SWITCHES)


@dataclass(frozen=True)
class RollbackStep:
    kind: str  # "env" | "toggle" | "policy" | "note"
    name: str | None
    text: str


def rollback_steps(field: str) -> tuple[RollbackStep, ...]:
    """How to pull back a change of `field`, fastest lever first: its kill switch (all workspaces),
    then the workspace toggle, then the policy note. A field without a catalog entry gets the toggle."""
    toggle = TOGGLE_BY_FIELD.get(field)
    steps: list[RollbackStep] = []
    if toggle is not None and toggle.kill_switch:
        switch = SWITCH_BY_NAME[toggle.kill_switch]
        steps.append(RollbackStep("env", switch.name, f"Set {switch.name}=1 in upstream's environment and redeploy "
                                                      f"(all workspaces): {switch.effect}."))
    steps.append(RollbackStep("toggle", field, f"Turn {field} off for the canary workspace."))
    if field == "followupBookingGateEnabled":
        steps.append(RollbackStep("toggle", "autoBookMeetings",
                                  "If bookings still misfire, turn autoBookMeetings off for the workspace."))
    steps.append(RollbackStep("policy", None, "Hold the rollout: widen to no further workspace until the cause "
                                              "is understood, and record it in the change's reason."))
    return tuple(steps)


def watch_after_rollback(field: str) -> str:
    toggle = TOGGLE_BY_FIELD.get(field)
    return toggle.watch if toggle is not None and toggle.watch else "the tripped signal returns to its baseline"
