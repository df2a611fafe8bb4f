"""On the demo data, the queue episode and the failing function trip their rules in their windows only."""

from datetime import timedelta

from analysis.canary_report import report
from analysis.rules import RuleStatus, load_rules
from queries.canary import CanarySpec, gather


def rule_status(demo_db, start, end, rule_id):
    inputs = gather(demo_db.conn, CanarySpec((demo_db.story.quiet,), start, end))
    evaluation, _ = report(inputs, load_rules())
    return {r.rule.id: r.status for r in evaluation.verdict.rules}[rule_id]


def test_queue_episode_trips_the_growth_rule_only_around_it(demo_db):
    story = demo_db.story
    start, end = story.queue_episode_start, story.queue_episode_end
    assert rule_status(demo_db, start - timedelta(minutes=30), end + timedelta(minutes=30),
                       "webhook_queue_growing") is RuleStatus.TRIPPED
    assert rule_status(demo_db, start - timedelta(hours=6), start - timedelta(hours=1),
                       "webhook_queue_growing") is RuleStatus.OK
    assert rule_status(demo_db, end + timedelta(hours=1), end + timedelta(hours=6),
                       "webhook_queue_growing") is RuleStatus.OK


def test_failing_function_hour_trips_the_failure_ratio_rule_only_then(demo_db):
    story = demo_db.story
    hour = story.failure_hour_start
    assert rule_status(demo_db, hour - timedelta(hours=2), hour + timedelta(hours=3),
                       "function_failure_ratio") is RuleStatus.TRIPPED
    assert rule_status(demo_db, hour - timedelta(hours=12), hour - timedelta(hours=1),
                       "function_failure_ratio") is RuleStatus.OK
    assert rule_status(demo_db, hour + timedelta(hours=1), hour + timedelta(hours=12),
                       "function_failure_ratio") is RuleStatus.OK
