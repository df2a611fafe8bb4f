"""The Overview's watch section (AppTest, both backends): failed deliveries listed, targets masked."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from rollout.notify import Target
from services.watch import WatchConfig, run_cycle
from tests.pages_support import reset_caches
from tests.watch_support import FAST, NOW, closed_port_url, plant


def _section() -> None:
    from ui.watch_status import watch_status_section

    watch_status_section()


def test_failed_deliveries_are_listed_and_webhook_urls_never_shown(backend, monkeypatch):
    plant(backend, "regression")
    down = closed_port_url() + "/T000/B000/s3cret-token"
    config = WatchConfig(targets=(Target("slack", down),), retry=FAST)
    run_cycle(backend.read, backend.write, config, now=NOW)
    monkeypatch.setenv("DATABASE_URL", backend.url)
    monkeypatch.setenv("CANARYWATCH_SLACK_WEBHOOK_URLS", down)
    reset_caches()
    app = AppTest.from_function(_section, default_timeout=60).run()
    assert not app.exception
    [warning] = app.warning
    assert warning.value.startswith("1 notification delivery failed in the last 7 days")
    table = app.dataframe[0].value
    assert table.drop(columns="when (UTC)").to_dict("records") == [
        {"workspace": "Canary <b>*Co*</b> | <!here>", "target": "slack http://127.0.0.1/…", "attempts": 3,
         "last error": "ConnectionRefusedError"}]
    shown = " ".join(c.value for c in app.caption) + table.to_csv()
    assert "s3cret" not in shown and "slack http://127.0.0.1/…" in shown
    reset_caches()


def test_no_failure_and_no_target_say_so(backend, monkeypatch):
    plant(backend, "flat")
    monkeypatch.setenv("DATABASE_URL", backend.url)
    monkeypatch.delenv("CANARYWATCH_SLACK_WEBHOOK_URLS", raising=False)
    monkeypatch.delenv("CANARYWATCH_WEBHOOK_URLS", raising=False)
    reset_caches()
    app = AppTest.from_function(_section, default_timeout=60).run()
    assert not app.exception and not app.warning
    captions = [c.value for c in app.caption]
    assert captions[0].startswith("No webhook configured") and captions[1] == (
        "No failed notification delivery in the last 7 days.")
    reset_caches()


def _arming(role: str) -> None:
    from analysis.canary.active import ActiveCanary
    from auth.roles import Role
    from auth.session import User
    from tests.watch_support import CANARY, FIELD, SPLIT
    from ui.watch_status import arming_control

    arming_control(User("alice", "Alice", frozenset({Role(role)})), ActiveCanary(CANARY, FIELD, SPLIT, "alice"))


def test_a_super_admin_arms_from_the_page_and_it_is_audited(backend, monkeypatch):
    from sqlalchemy import select

    from db.state import audit_log
    from queries.watch import is_armed
    from tests.watch_support import CANARY, FIELD, SPLIT

    plant(backend, "flat")
    monkeypatch.setenv("DATABASE_URL", backend.url)
    reset_caches()
    operator = AppTest.from_function(_arming, args=("operator",), default_timeout=60).run()
    assert not operator.exception and not operator.button and not operator.markdown
    app = AppTest.from_function(_arming, args=("super_admin",), default_timeout=60).run()
    assert "not armed" in app.markdown[0].value
    app.text_input[0].input("guard the revision canary")
    app.button[0].click().run()
    assert not app.exception and app.success[0].value == "Automatic rollback armed."
    from analysis.watch_state import canary_key

    with backend.write.connect() as conn:
        assert is_armed(conn, canary_key(CANARY, FIELD, SPLIT))
        audited = conn.execute(select(audit_log.c.actor, audit_log.c.field, audit_log.c.newValue, audit_log.c.reason)
                               .where(audit_log.c.field.like("autoRollback.%"))).all()
    assert [tuple(a) for a in audited] == [("alice", f"autoRollback.{FIELD}", "true", "guard the revision canary")]
    reset_caches()


def _history() -> None:
    from analysis.canary.active import ActiveCanary
    from tests.watch_support import CANARY, FIELD, SPLIT
    from ui.watch_status import verdict_history_section

    verdict_history_section(ActiveCanary(CANARY, FIELD, SPLIT, "alice"))


def test_the_verdict_history_shows_each_look_and_when_rules_tripped_and_recovered(backend, monkeypatch):
    from datetime import timedelta

    from db.state import canary_evaluation
    from tests.watch_support import INTERVAL

    plant(backend, "regression")
    run_cycle(backend.read, backend.write, WatchConfig(), now=NOW)
    with backend.write.connect() as conn:  # the flat data replaces the regression; the stored look stays
        kept = [dict(r._mapping) for r in conn.execute(canary_evaluation.select())]
    plant(backend, "flat")
    with backend.write.begin() as conn:
        conn.execute(canary_evaluation.insert(), [{k: v for k, v in r.items() if k != "id"} for r in kept])
    run_cycle(backend.read, backend.write, WatchConfig(), now=NOW + timedelta(seconds=INTERVAL))
    monkeypatch.setenv("DATABASE_URL", backend.url)
    reset_caches()
    app = AppTest.from_function(_history, default_timeout=60).run()
    assert not app.exception
    assert [c.value for c in app.caption] == ["2 stored look(s); latest PASS."]
    rules = app.dataframe[0].value.to_dict("records")
    assert rules == [{"rule": "needs_review_rate_increase", "first tripped (UTC)": "2026-02-16 14:00",
                      "recovered (UTC)": "2026-02-16 14:01"},
                     {"rule": "revision_attempted_twice", "first tripped (UTC)": "2026-02-16 14:00",
                      "recovered (UTC)": "2026-02-16 14:01"}]
    reset_caches()
