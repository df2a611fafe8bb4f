"""The story the demo data tells, as known facts: which workspace is the canary, when it rolled out,
when the webhook queue backed up and which background function failed for an hour.

Everything is computed from `end` (the end of the generated data), so tests and pages can ask the
story instead of hard-coding times. demo/generate.py writes data that makes these facts true.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from queries.filters import as_utc

DAYS = 14
DEFAULT_SCALE = 120  # drafts per day per workspace (demo.generate)

#: (id, name, emailBisonWorkspaceId). Harbor has no EmailBison workspace (no INBOXXIA events).
WORKSPACES: tuple[tuple[str, str, str | None], ...] = (
    ("ws-acme", "Acme Outbound", "bison-4101"),
    ("ws-birch", "Birch Recruiting", "bison-4102"),
    ("ws-cobalt", "Cobalt SaaS", "bison-4103"),
    ("ws-delta", "Delta Logistics", "bison-4104"),
    ("ws-ember", "Ember Health", "bison-4105"),
    ("ws-fjord", "Fjord Finance", "bison-4106"),
    ("ws-granite", "Granite Realty", "bison-4107"),
    ("ws-harbor", "Harbor Legal", None),
)


def floor_hour(moment: datetime) -> datetime:
    return as_utc(moment).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Story:
    """Known facts about the generated data (all times aware UTC)."""

    end: datetime
    start: datetime
    days: int
    workspaces: tuple[str, ...]
    names: tuple[str, ...]
    bison_ids: tuple[str | None, ...]
    # the canary rollout
    canary: str
    rollout_at: datetime
    quiet: str  # a workspace with nothing changed all period: must pass a canary analysis
    bundle_all_along: tuple[str, ...]
    revision_all_along: str
    booking_gate: tuple[str, ...]  # bundle on + autoBookMeetings + followupBookingGateEnabled
    crm_webhooks: tuple[str, ...]  # crmWebhookEnabled: CRM events with workspaceId = Client.id
    route_skip: str  # draftGenerationStep2Enabled off: writes ai.route_skipped rows
    low_threshold: str  # its AI campaign's autoSendConfidenceThreshold is 0.85
    fallback: str  # ~5% of its bundle-expected calls lack leadContextBundle (silent fallback)
    # settings edge cases
    no_settings: str
    null_budgets: str  # leadContextBundleBudgets is the JSON literal null
    real_budgets: str
    # planted rows
    double_loop_draft_id: str  # two auto_send.revision_loop rows: breaks at-most-once
    hygiene_interaction_id: str  # metadata with an undocumented top-level key holding a long string
    # offload
    queue_workspace: str  # whose INBOXXIA burst backs the queue up
    queue_episode_start: datetime
    queue_episode_end: datetime  # arrivals outpace processing until here, then it drains (~20 min)
    failing_function: str
    failure_hour_start: datetime

    @property
    def name_of(self) -> dict[str, str]:
        return dict(zip(self.workspaces, self.names, strict=True))

    @property
    def bison_of(self) -> dict[str, str | None]:
        return dict(zip(self.workspaces, self.bison_ids, strict=True))

    @property
    def bundle_enabled_now(self) -> tuple[str, ...]:
        return (self.canary, *self.bundle_all_along)

    def bundle_on(self, workspace: str, at: datetime) -> bool:
        """Whether the lead-context bundle was effective for `workspace` at `at`."""
        if workspace == self.canary:
            return at >= self.rollout_at
        return workspace in self.bundle_all_along

    def revision_on(self, workspace: str, at: datetime) -> bool:
        if workspace == self.canary:
            return at >= self.rollout_at
        return workspace == self.revision_all_along


def story_for(end: datetime | None = None) -> Story:
    """The story of data ending at `end` (default: now, floored to the hour)."""
    end = floor_hour(end or datetime.now(UTC))
    queue_start = end - timedelta(days=2, hours=5)
    return Story(
        end=end,
        start=end - timedelta(days=DAYS),
        days=DAYS,
        workspaces=tuple(w[0] for w in WORKSPACES),
        names=tuple(w[1] for w in WORKSPACES),
        bison_ids=tuple(w[2] for w in WORKSPACES),
        canary="ws-acme",
        rollout_at=end - timedelta(days=4),
        quiet="ws-birch",
        bundle_all_along=("ws-cobalt", "ws-delta"),
        revision_all_along="ws-delta",
        booking_gate=("ws-cobalt", "ws-delta"),
        crm_webhooks=("ws-cobalt", "ws-harbor"),
        route_skip="ws-granite",
        low_threshold="ws-fjord",
        fallback="ws-cobalt",
        no_settings="ws-ember",
        null_budgets="ws-fjord",
        real_budgets="ws-cobalt",
        double_loop_draft_id="draft-double-loop",
        hygiene_interaction_id="ai-hygiene-plant",
        queue_workspace="ws-granite",
        queue_episode_start=queue_start,
        queue_episode_end=queue_start + timedelta(minutes=40),
        failing_function="cron-availability",
        failure_hour_start=end - timedelta(days=1, hours=3),
    )
