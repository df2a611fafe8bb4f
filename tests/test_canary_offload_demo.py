"""On the demo data, the queue episode and the failing function trip their rules in their windows only,
and attribution holds: the episode is ws-granite's, so it trips granite's workspace queue rule, the
platform's queue rule for everyone, and never FAILs another canary (PLATFORM_INCIDENT instead)."""

from datetime import timedelta

from analysis.canary.report import report
from analysis.canary.verdicts import Overall
from analysis.rules import RuleStatus, load_rules
from queries.canary import CanarySpec, gather


def evaluation(demo_db, start, end, workspace=None):
    inputs = gather(demo_db.conn, CanarySpec((workspace or demo_db.story.quiet,), start, end))
    return report(inputs, load_rules())[0]


def rule_status(demo_db, start, end, rule_id, workspace=None):
    return {r.rule.id: r.status for r in evaluation(demo_db, start, end, workspace).verdict.rules}[rule_id]


def test_queue_episode_is_the_platform_and_its_workspace_not_another_canary(demo_db):
    story = demo_db.story
    start, end = story.queue_episode_start - timedelta(minutes=30), story.queue_episode_end + timedelta(minutes=30)
    quiet = evaluation(demo_db, start, end).verdict
    statuses = {r.rule.id: r.status for r in quiet.rules}
    assert statuses["webhook_queue_growing"] is not RuleStatus.TRIPPED  # the quiet workspace's own queue
    assert statuses["webhook_queue_growing_platform"] is RuleStatus.TRIPPED
    assert quiet.overall is Overall.PLATFORM_INCIDENT and quiet.score is None
    assert quiet.headline == "PLATFORM_INCIDENT: canary not judged"
    assert quiet.platform_status == "INCIDENT"
    assert rule_status(demo_db, start, end, "webhook_queue_growing", story.queue_workspace) is RuleStatus.TRIPPED


def test_queue_episode_trips_the_platform_growth_rule_only_around_it(demo_db):
    story = demo_db.story
    start, end = story.queue_episode_start, story.queue_episode_end
    rule = "webhook_queue_growing_platform"
    assert rule_status(demo_db, start - timedelta(hours=6), start - timedelta(hours=1), rule) is RuleStatus.OK
    assert rule_status(demo_db, end + timedelta(hours=1), end + timedelta(hours=6), rule) is RuleStatus.OK


def test_failing_function_hour_trips_the_failure_ratio_rule_only_then(demo_db):
    story = demo_db.story
    hour = story.failure_hour_start
    assert rule_status(demo_db, hour - timedelta(hours=2), hour + timedelta(hours=3),
                       "function_failure_ratio") is RuleStatus.TRIPPED
    assert rule_status(demo_db, hour - timedelta(hours=12), hour - timedelta(hours=1),
                       "function_failure_ratio") is RuleStatus.OK
    assert rule_status(demo_db, hour + timedelta(hours=1), hour + timedelta(hours=12),
                       "function_failure_ratio") is RuleStatus.OK
