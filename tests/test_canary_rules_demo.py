"""On the demo data, the canary's database rules trip as the data was built to, and a quiet workspace's do not."""

from datetime import timedelta

import pytest

from analysis.canary.inputs import side_totals
from analysis.canary.rules import evaluate_database_rules
from analysis.rules import RuleStatus, load_rules
from queries.canary import CanarySpec, gather


@pytest.fixture
def demo(demo_db):
    return demo_db, demo_db.story


def statuses(db, workspace, split, end):
    inputs = gather(db.conn, CanarySpec((workspace,), split, end))
    after = side_totals(inputs.side("canary_after"))
    before = side_totals(inputs.side("canary_before"))
    results = evaluate_database_rules(load_rules(), after, before)
    return {r.rule.id: r.status for r in results}, after, before


def test_canary_needs_review_rule_trips_after_rollout_and_quiet_workspace_passes(demo):
    db, story = demo
    split, end = story.rollout_at, story.rollout_at + timedelta(days=2)
    canary, after, before = statuses(db, story.canary, split, end)
    assert after.evaluated >= 150 and before.evaluated >= 150
    assert after.needs_review_rate - before.needs_review_rate > 0.10
    assert canary["needs_review_rate_increase"] is RuleStatus.TRIPPED
    assert canary["auto_send_confidence_drop"] is RuleStatus.TRIPPED
    assert canary["revision_attempted_twice"] is RuleStatus.OK  # the planted double loop is elsewhere
    quiet, q_after, q_before = statuses(db, story.quiet, split, end)
    assert abs(q_after.needs_review_rate - q_before.needs_review_rate) < 0.10
    assert quiet["needs_review_rate_increase"] is RuleStatus.OK
    assert quiet["auto_send_confidence_drop"] is RuleStatus.OK
    assert RuleStatus.TRIPPED not in quiet.values()
