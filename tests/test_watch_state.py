"""The pure side of `canarywatch watch`: state changes, the rollback decision, slots, payload text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analysis.watch_messages import Notice, canary_link, generic_payload, one_line, slack_escape, slack_payload
from analysis.watch_state import (
    StateChange,
    canary_key,
    change_key,
    changes,
    lock_key,
    rollback_decision,
    slot_start,
)
from db.config import ConfigError, load_settings
from rollout.notify import Target, targets
from services.watch import backoff, config_from


def status(verdict: str, platform: str = "OK", **rules: tuple[str, str, bool]) -> dict:
    """rules: id=(status, scope, critical), measured 2 vs threshold 1."""
    return {"verdict": verdict, "platform": platform,
            "rules": {rid: {"status": s, "scope": scope, "critical": critical, "measured": 2.0, "threshold": 1.0,
                            "operator": ">"} for rid, (s, scope, critical) in rules.items()}}


def kinds(found: list[StateChange]) -> list[str]:
    return [c.key for c in found]


def test_a_first_look_announces_only_trouble():
    assert kinds(changes(None, status("PASS", r=("OK", "workspace", False)))) == []
    assert kinds(changes(None, status("INSUFFICIENT_DATA"))) == []
    assert kinds(changes(None, status("FAIL", r=("TRIPPED", "workspace", True)))) == ["verdict:none->FAIL",
                                                                                     "rule_tripped:r"]


def test_changes_come_from_the_previous_and_the_new_status_only():
    fail = status("FAIL", r=("TRIPPED", "workspace", True), q=("OK", "workspace", False))
    assert kinds(changes(fail, fail)) == []  # still failing: no second message
    worse = status("FAIL", r=("TRIPPED", "workspace", True), q=("TRIPPED", "workspace", False))
    assert kinds(changes(fail, worse)) == ["rule_tripped:q"]
    healed = status("PASS", r=("OK", "workspace", True), q=("OK", "workspace", False))
    assert kinds(changes(worse, healed)) == ["verdict:FAIL->PASS", "rule_recovered:q", "rule_recovered:r"]
    no_data = status("INSUFFICIENT_DATA", r=("NO_DATA", "workspace", True))
    assert kinds(changes(fail, no_data)) == ["verdict:FAIL->INSUFFICIENT_DATA"]  # NO_DATA is not a recovery


def test_a_platform_incident_begins_and_ends():
    calm = status("PASS")
    storm = status("PLATFORM_INCIDENT", "INCIDENT", p=("TRIPPED", "platform", True))
    assert kinds(changes(calm, storm)) == ["verdict:PASS->PLATFORM_INCIDENT", "rule_tripped:p",
                                           "platform_incident_began:platform"]
    calm_again = status("PASS", p=("OK", "platform", True))
    assert kinds(changes(storm, calm_again)) == ["verdict:PLATFORM_INCIDENT->PASS", "rule_recovered:p",
                                                 "platform_incident_ended:platform"]


@pytest.mark.parametrize("current, expected", [
    (status("FAIL", r=("TRIPPED", "workspace", True)), "r"),
    (status("FAIL", r=("TRIPPED", "workspace", False)), None),  # not critical
    (status("FAIL", r=("TRIPPED", "platform", True)), None),  # platform-scoped
    (status("PLATFORM_INCIDENT", "INCIDENT", r=("TRIPPED", "workspace", True), p=("TRIPPED", "platform", True)), None),
    (status("INSUFFICIENT_DATA", r=("NO_DATA", "workspace", True)), None),
    (status("MARGINAL", r=("TRIPPED", "workspace", True)), None),
])
def test_only_a_fail_from_a_critical_workspace_rule_rolls_back(current, expected):
    decision = rollback_decision(current)
    assert (decision.rule if decision else None) == expected


def test_the_rollback_reason_names_rule_measured_threshold_and_evidence():
    decision = rollback_decision(status("FAIL", revision_attempted_twice=("TRIPPED", "workspace", True)))
    assert decision.reason("ab" * 32) == ("automatic rollback by canarywatch-watch: critical rule "
                                          "revision_attempted_twice tripped (measured 2, threshold > 1); evidence "
                                          "abababababababab")


def test_slots_keys_and_locks_agree_across_replicas():
    at = datetime(2026, 2, 18, 12, 0, 59, 999000, tzinfo=UTC)
    assert slot_start(at, 60) == datetime(2026, 2, 18, 12, 0, tzinfo=UTC)
    assert slot_start(at, 300) == datetime(2026, 2, 18, 12, 0, tzinfo=UTC)
    assert slot_start(datetime(2026, 2, 18, 12, 1, tzinfo=UTC), 60) == datetime(2026, 2, 18, 12, 1, tzinfo=UTC)
    key = canary_key("ws", "f", datetime(2026, 2, 18, 3, 30, tzinfo=UTC))
    assert key == "ws|f|2026-02-18T03:30:00.000000Z" and canary_key("ws", "f", None) == "ws|f|unrecorded"
    lock = lock_key(key, slot_start(at, 60))
    assert lock == lock_key(key, slot_start(at, 60)) and -2 ** 63 <= lock < 2 ** 63
    assert lock != lock_key(key, datetime(2026, 2, 18, 12, 1, tzinfo=UTC))
    assert change_key(slot_start(at, 60), [StateChange("verdict", "PASS->FAIL")]) == \
        "2026-02-18T12:00:00Z|verdict:PASS->FAIL"


def test_database_backoff_doubles_up_to_the_cap():
    assert [backoff(n, 10) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_untrusted_names_cannot_break_out_of_a_message():
    assert slack_escape("<!channel> & <http://x|y>") == "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
    assert one_line("a\nb\r\u2028c" + "x" * 100) == "a b c" + "x" * 74 + "…"
    link = canary_link("https://cw.example/", "ws&x=1|>", datetime(2026, 2, 18, 3, 30, tzinfo=UTC), "f")
    assert link == "https://cw.example/canary?ws=ws%26x%3D1%7C%3E&split=2026-02-18T03%3A30%3A00Z&field=f"
    assert canary_link(None, "ws", None, "f") is None
    notice = Notice("ws", "Bad\n<!here>", "autoSendRevisionEnabled", None, "FAIL",
                    (StateChange("verdict", "none->FAIL"),), (), "0" * 64, datetime(2026, 2, 18, tzinfo=UTC), None)
    assert "<!here>" not in str(slack_payload(notice)) and "\n<!here>" not in str(generic_payload(notice))
    assert generic_payload(notice)["workspace"]["name"] == "Bad <!here>"  # JSON consumers escape for themselves


def test_watch_settings_are_typed_and_webhook_urls_stay_secret():
    settings = load_settings({"CANARYWATCH_WEBHOOK_URLS": "https://hooks.example/a?token=s3cret, http://127.0.0.1:9/b",
                              "CANARYWATCH_SLACK_WEBHOOK_URLS": "https://hooks.slack.com/services/T/B/s3cret",
                              "CANARYWATCH_WATCH_INTERVAL": "30", "CANARYWATCH_BASE_URL": "https://cw.example"})
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.webhook_urls)
    config = config_from(settings, dry_run=True)
    assert config.interval_seconds == 30 and config.base_url == "https://cw.example" and config.dry_run
    assert [t.kind for t in config.targets] == ["slack", "generic", "generic"]
    assert config.targets[1].masked == "https://hooks.example/…" and "s3cret" not in config.targets[1].id
    assert config_from(settings, interval=5).interval_seconds == 5
    with pytest.raises(ConfigError) as bad:
        load_settings({"CANARYWATCH_WEBHOOK_URLS": "file:///etc/s3cret", "CANARYWATCH_WATCH_INTERVAL": "0"})
    assert "s3cret" not in str(bad.value)
    assert "CANARYWATCH_WEBHOOK_URLS: must be comma-separated http:// or https:// URLs" in str(bad.value)
    assert "CANARYWATCH_WATCH_INTERVAL" in str(bad.value)
    assert targets(None, " ") == () and Target("slack", "https://h/x").id.startswith("slack:")


def test_rule_timeline_keeps_the_first_trip_and_the_recovery_after_the_last_trip():
    from analysis.watch_state import RuleSpan, rule_timeline

    t = [datetime(2026, 2, 18, 12, m, tzinfo=UTC) for m in range(5)]
    looks = [status("PASS", r=("OK", "workspace", True)), status("FAIL", r=("TRIPPED", "workspace", True)),
             status("PASS", r=("OK", "workspace", True)), status("FAIL", r=("TRIPPED", "workspace", True),
                                                                 q=("TRIPPED", "workspace", False)),
             status("FAIL", r=("OK", "workspace", True), q=("TRIPPED", "workspace", False))]
    assert rule_timeline(list(zip(t, looks, strict=True))) == [RuleSpan("r", t[1], t[4]), RuleSpan("q", t[3], None)]
