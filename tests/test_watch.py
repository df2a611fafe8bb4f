"""`canarywatch watch` on planted canaries (both backends), a real webhook receiver on 127.0.0.1.

The scenarios and their expected verdicts are worked out in tests/watch_support.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from analysis.watch_state import WATCH_ACTOR, canary_key, slot_start
from db import upstream as up
from db.state import audit_log, canary_evaluation, notification_delivery
from demo.sentinels import PII_EMAIL, PII_MARK
from rollout.arming import set_armed
from rollout.service import WriteRefused
from services.watch import run, run_cycle
from tests.backends import Backend
from tests.watch_support import (
    ADMIN,
    CANARY,
    FIELD,
    INTERVAL,
    NOW,
    SPLIT,
    closed_port_url,
    config_for,
    plant,
    receiver,
)

ROOT = Path(__file__).resolve().parent.parent
KEY = canary_key(CANARY, FIELD, SPLIT)


def rows(backend: Backend, table) -> list[dict]:
    with backend.write.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]


def toggle_now(backend: Backend) -> bool:
    with backend.write.connect() as conn:
        return bool(conn.execute(select(up.workspace_settings.c[FIELD])
                                 .where(up.workspace_settings.c.clientId == CANARY)).scalar_one())


def settings_rows(backend: Backend) -> dict[str, dict]:
    return {r["clientId"]: r for r in rows(backend, up.workspace_settings)}


def watch_flips(backend: Backend) -> list[dict]:
    return [r for r in rows(backend, audit_log) if r["actor"] == WATCH_ACTOR]


def test_a_regression_makes_one_fail_notification_and_when_armed_one_audited_toggle_off(backend):
    plant(backend, "regression")
    armed = set_armed(backend.write, ADMIN, CANARY, FIELD, armed=True, reason="guard the canary", now=NOW)
    assert armed.changed and armed.key == KEY
    before = settings_rows(backend)
    with receiver() as r:
        [outcome] = run_cycle(backend.read, backend.write, config_for(r.url), now=NOW)
        assert outcome.verdict == "FAIL" and outcome.rolled_back
        again = run_cycle(backend.read, backend.write, config_for(r.url), now=NOW + timedelta(seconds=INTERVAL))
        assert again == []  # the toggle is off: no longer an active canary, nothing flipped back
        assert [p["path"] for p in r.posts] == ["/slack", "/generic"]
        generic = r.bodies("/generic")[0]
    assert generic["verdict"] == "FAIL" and generic["field"] == FIELD
    assert generic["workspace"] == {"id": CANARY, "name": "Canary <b>*Co*</b> | <!here>"}
    assert [(c["kind"], c["subject"]) for c in generic["changes"]] == [
        ("verdict", "none->FAIL"), ("rule_tripped", "needs_review_rate_increase"),
        ("rule_tripped", "revision_attempted_twice"), ("rolled_back", FIELD)]
    assert {t["rule"]: (t["measured"], t["operator"], t["threshold"]) for t in generic["tripped_rules"]} == {
        "needs_review_rate_increase": (0.2, ">", 0.1), "revision_attempted_twice": (2.0, ">", 1.0)}
    assert [s["name"] for s in generic["rollback_steps"]] == ["AUTO_SEND_REVISION_DISABLED", FIELD, None]
    assert generic["link"] == ("https://canarywatch.example/canary?ws=ws-canary&split=2026-02-16T12%3A00%3A00Z"
                               f"&field={FIELD}")
    assert not toggle_now(backend)
    after = settings_rows(backend)  # nothing else flipped: no other field, no other workspace
    assert {ws: {k: v for k, v in row.items() if k != "updatedAt"} for ws, row in after.items()} == {
        ws: {k: (False if (ws, k) == (CANARY, FIELD) else v) for k, v in row.items() if k != "updatedAt"}
        for ws, row in before.items()}
    [flip] = watch_flips(backend)
    assert (flip["workspaceId"], flip["field"], flip["oldValue"], flip["newValue"]) == (CANARY, FIELD, "true", "false")
    evidence = rows(backend, canary_evaluation)[0]["evidenceHash"]
    assert flip["reason"] == (f"automatic rollback by {WATCH_ACTOR}: critical rule revision_attempted_twice tripped "
                              f"(measured 2, threshold > 1); evidence {evidence[:16]}")
    assert generic["automatic_rollback"] == flip["reason"]
    arming = [r for r in rows(backend, audit_log) if r["field"] == f"autoRollback.{FIELD}"]
    assert [(a["actor"], a["oldValue"], a["newValue"]) for a in arming] == [("alice", "false", "true")]


def test_slack_payload_escapes_the_workspace_name_and_carries_the_steps(backend):
    plant(backend, "regression")
    with receiver() as r:
        run_cycle(backend.read, backend.write, config_for(r.url), now=NOW)
        slack = r.bodies("/slack")[0]
    assert slack["text"].startswith("canarywatch: FAIL · Canary &lt;b&gt;*Co*&lt;/b&gt; | &lt;!here&gt; · ")
    text = json.dumps(slack["blocks"])
    assert "<!here>" not in text and "&lt;!here&gt;" in text
    assert "1. Set AUTO_SEND_REVISION_DISABLED=1" in text
    assert "revision_attempted_twice: measured 2, threshold > 1 (critical)" in text
    assert toggle_now(backend)  # not armed: notified, nothing flipped
    assert watch_flips(backend) == []


def test_a_recovery_makes_one_recovery_notification(backend):
    plant(backend, "regression")
    with receiver() as r:
        run_cycle(backend.read, backend.write, config_for(r.url), now=NOW)
    plant(backend, "flat")  # the same canary, now healthy; the FAIL look stays stored
    with backend.write.begin() as conn:
        conn.execute(canary_evaluation.insert(), [{k: v for k, v in stored.items() if k != "id"} for stored in [
            {"id": 0, "canaryKey": KEY, "slotStart": (slot_start(NOW, INTERVAL) - timedelta(seconds=INTERVAL))
             .replace(tzinfo=None), "evaluatedAt": NOW.replace(tzinfo=None), "workspaceId": CANARY, "field": FIELD,
             "split": SPLIT.replace(tzinfo=None), "verdict": "FAIL", "evidenceHash": "0" * 64,
             "status": json.dumps({"verdict": "FAIL", "platform": "OK", "rules": {
                 "needs_review_rate_increase": {"status": "TRIPPED", "scope": "workspace", "critical": False,
                                                "measured": 0.2, "threshold": 0.1, "operator": ">"}}})}]])
    with receiver() as r:
        [outcome] = run_cycle(backend.read, backend.write, config_for(r.url), now=NOW)
        assert outcome.verdict == "PASS"
        run_cycle(backend.read, backend.write, config_for(r.url), now=NOW + timedelta(seconds=INTERVAL))
        generic = r.bodies("/generic")
    assert len(generic) == 1 and len(r.bodies("/slack")) == 1
    assert [(c["kind"], c["subject"]) for c in generic[0]["changes"]] == [
        ("verdict", "FAIL->PASS"), ("rule_recovered", "needs_review_rate_increase")]
    assert generic[0]["tripped_rules"] == [] and generic[0]["verdict"] == "PASS"
    assert [e["verdict"] for e in rows(backend, canary_evaluation)] == ["FAIL", "PASS", "PASS"]


@pytest.mark.parametrize("scenario, verdict, posts", [("thin", "INSUFFICIENT_DATA", 0),
                                                      ("incident", "PLATFORM_INCIDENT", 2)])
def test_a_thin_canary_and_a_platform_incident_are_never_rolled_back(backend, scenario, verdict, posts):
    plant(backend, scenario)
    set_armed(backend.write, ADMIN, CANARY, FIELD, armed=True, reason="guard the canary", now=NOW)
    with receiver() as r:
        [outcome] = run_cycle(backend.read, backend.write, config_for(r.url), now=NOW)
        assert len(r.posts) == posts
    assert outcome.verdict == verdict and not outcome.rolled_back
    assert toggle_now(backend) and watch_flips(backend) == []
    if posts:
        generic = r.bodies("/generic")[0]
        assert [(c["kind"], c["subject"]) for c in generic["changes"]] == [
            ("verdict", "none->PLATFORM_INCIDENT"), ("rule_tripped", "webhook_queue_growing_platform"),
            ("platform_incident_began", "platform")]
        assert generic["automatic_rollback"] is None


def test_two_watchers_at_once_store_one_evaluation_and_send_one_notification(backend):
    plant(backend, "regression")
    set_armed(backend.write, ADMIN, CANARY, FIELD, armed=True, reason="guard the canary", now=NOW)
    with receiver() as r:
        config = config_for(r.url)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def one() -> None:
            try:
                barrier.wait()
                run(backend.read, backend.write, config, once=True, clock=lambda: NOW)
            except BaseException as exc:  # noqa: BLE001 - surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert [p["path"] for p in r.posts] == ["/slack", "/generic"]
    assert len(rows(backend, canary_evaluation)) == 1
    assert len(rows(backend, notification_delivery)) == 2
    assert len(watch_flips(backend)) == 1


def test_two_watch_processes_at_once_store_one_evaluation_and_send_one_notification(backend):
    plant(backend, "regression")
    with receiver() as r:
        env = {**os.environ, "CANARYWATCH_WEBHOOK_URLS": f"{r.url}/generic", "CANARYWATCH_NOTIFY_BACKOFF": "0.01"}
        env.pop("CANARYWATCH_SLACK_WEBHOOK_URLS", None)
        command = [sys.executable, str(ROOT / "canarywatch_cli.py"), "watch", "--once", "--database-url", backend.url,
                   "--now", NOW.isoformat()]
        procs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
        results = [p.communicate(timeout=120) for p in procs]
        codes = sorted(p.returncode for p in procs)
        assert len(r.bodies("/generic")) == 1, results
    # the one that stored judged FAIL (exit 1); the other found the slot taken or locked (exit 0)
    assert codes == [0, 1], results
    assert len(rows(backend, canary_evaluation)) == 1 and len(rows(backend, notification_delivery)) == 1


def test_a_receiver_that_fails_is_retried_and_the_success_recorded(backend):
    plant(backend, "regression")
    with receiver(fail_first=2) as r:
        run_cycle(backend.read, backend.write, config_for(r.url), now=NOW)
        assert [(p["path"], p["status"]) for p in r.posts] == [("/slack", 500), ("/slack", 500), ("/slack", 200),
                                                                ("/generic", 200)]
    deliveries = {d["target"].split(":")[0]: d for d in rows(backend, notification_delivery)}
    assert (deliveries["slack"]["state"], deliveries["slack"]["attempts"], deliveries["slack"]["lastError"]) == (
        "sent", 3, None)
    assert (deliveries["generic"]["state"], deliveries["generic"]["attempts"]) == ("sent", 1)


def test_a_receiver_that_is_down_is_retried_and_recorded_for_the_overview(backend):
    from queries.filters import Window
    from queries.watch import delivery_failures

    plant(backend, "regression")
    down = closed_port_url().rsplit("/", 1)[0]
    run_cycle(backend.read, backend.write, config_for(down), now=NOW)
    refused = ("failed", 3, "ConnectionRefusedError")
    assert [(d["state"], d["attempts"], d["lastError"]) for d in rows(backend, notification_delivery)] == [
        refused, refused]
    with backend.read.connect() as conn:
        shown = delivery_failures(conn, Window(NOW - timedelta(days=400), NOW + timedelta(days=400)))
    assert len(shown) == 2 and set(shown["last_error"]) == {"ConnectionRefusedError"}
    assert set(shown["workspace"]) == {CANARY}
    assert down not in shown.to_csv()  # a target is named by kind and hash, never by its URL


def test_a_failed_delivery_is_sent_once_by_a_later_cycle(backend):
    plant(backend, "regression")
    with receiver(fail_first=6) as r:  # every post of the first cycle fails (3 per target)
        config = config_for(r.url)
        run_cycle(backend.read, backend.write, config, now=NOW)
        assert [d["state"] for d in rows(backend, notification_delivery)] == ["failed", "failed"]
        assert {d["lastError"] for d in rows(backend, notification_delivery)} == {"HTTP 500"}
        for k in (1, 2):  # the canary looks the same: no new change, only the redelivery
            run_cycle(backend.read, backend.write, config, now=NOW + timedelta(seconds=k * INTERVAL))
        assert [p["status"] for p in r.posts] == [500] * 6 + [200, 200]
        assert len(r.bodies("/generic")) == 1 and len(r.bodies("/slack")) == 1
    assert [(d["state"], d["attempts"], d["lastError"]) for d in rows(backend, notification_delivery)] == [
        ("sent", 4, None), ("sent", 4, None)]


def test_no_personal_data_in_payloads_stored_status_or_deliveries(backend):
    from tests.test_personal_data import plant_everything

    seed = plant(backend, "regression")
    plant_everything(type("DB", (), {"seed": seed})())  # sentinel rows in every free-text column
    with receiver() as r:
        run_cycle(backend.read, backend.write, config_for(r.url), now=NOW)
        sent = json.dumps(r.posts)
    assert len(r.posts) == 2
    stored = json.dumps([rows(backend, canary_evaluation), rows(backend, notification_delivery)], default=str)
    for text in (sent, stored):
        assert PII_MARK not in text and PII_EMAIL not in text


def test_dry_run_stores_posts_and_flips_nothing(backend, caplog):
    plant(backend, "regression")
    set_armed(backend.write, ADMIN, CANARY, FIELD, armed=True, reason="guard the canary", now=NOW)
    with receiver() as r, caplog.at_level("INFO", logger="canarywatch.watch"):
        [outcome] = run_cycle(backend.read, backend.write, config_for(r.url, dry_run=True), now=NOW)
        assert r.posts == []
    assert outcome.verdict == "FAIL" and not outcome.rolled_back
    assert rows(backend, canary_evaluation) == [] and toggle_now(backend) and watch_flips(backend) == []
    assert f"dry run: would turn {FIELD} off in workspace {CANARY}: automatic rollback by" in caplog.text


def test_only_a_super_admin_arms_and_only_an_active_canary(backend):
    from auth.roles import Role
    from auth.session import User

    plant(backend, "flat")
    with pytest.raises(WriteRefused, match="only a super_admin"):
        set_armed(backend.write, User("olga", "Olga", frozenset({Role.OPERATOR})), CANARY, FIELD, armed=True,
                  reason="x", now=NOW)
    with pytest.raises(WriteRefused, match="not an active canary"):
        set_armed(backend.write, ADMIN, CANARY, "leadContextBundleEnabled", armed=True, reason="x", now=NOW)
    assert set_armed(backend.write, ADMIN, CANARY, FIELD, armed=True, reason="x", now=NOW).changed
    assert not set_armed(backend.write, ADMIN, CANARY, FIELD, armed=True, reason="x", now=NOW).changed
    assert set_armed(backend.write, ADMIN, CANARY, FIELD, armed=False, reason="y", now=NOW).changed
    audited = [(a["oldValue"], a["newValue"]) for a in rows(backend, audit_log)
               if a["field"] == f"autoRollback.{FIELD}"]
    assert audited == [("false", "true"), ("true", "false")]


def test_a_canary_that_cannot_be_evaluated_is_skipped_and_logged_without_its_message(backend, monkeypatch, caplog):
    import services.watch as watch_module

    plant(backend, "regression")
    real = watch_module.evaluate_canary

    def broken(read, canary, end, rules):
        if canary.workspace == CANARY:
            raise ValueError(f"{PII_MARK} in a message that must not be logged")
        return real(read, canary, end, rules)

    monkeypatch.setattr(watch_module, "evaluate_canary", broken)
    with receiver() as r, caplog.at_level("INFO", logger="canarywatch.watch"):
        [outcome] = run_cycle(backend.read, backend.write, config_for(r.url), now=NOW)
        assert r.posts == []
    assert outcome.skipped == "error: ValueError" and rows(backend, canary_evaluation) == []
    assert f"{CANARY} {FIELD} could not be evaluated (ValueError): skipped this cycle" in caplog.text
    assert PII_MARK not in caplog.text
