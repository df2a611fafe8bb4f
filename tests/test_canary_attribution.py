"""Attribution and the clean control on planted data (both backends, one seeded database per module).

Four 2-hour canary windows (each with its 2-hour baseline) in one database, worked out by hand:
- W1 regression only in the canary: A 10% -> 30% needs_review, confidence mean 0.93 -> 0.85; B and C
  flat; D, another canary (a rollout change 1 h before W1's split), 10% -> 60%. With D excluded from
  the control the DiD delta is exactly +20.0 pts; had D stayed in, it would be 0.2 - 0.1667 = +3.3 pts.
- W2 a shift in every workspace: A, B, C all 10% -> 30% and 0.93 -> 0.85: DiD 0, nothing trips.
- W3 a queue episode in B only (ten CRM events piling up, never started): canary A is not FAILed
  (the rest of the platform is unhealthy: PLATFORM_INCIDENT); canary B trips its own queue rule.
- W4 too little data: 20 drafts on each side of A.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from analysis.canary.report import report
from analysis.canary.stats import Rate, diff_in_diff
from analysis.canary.verdicts import CONTROL, OWN_PAST, Overall
from analysis.rules import RuleStatus, evaluate_delta, load_rules
from queries.canary import CanarySpec, gather
from tests.backends import Backend, empty
from tests.seed import Seed, at

A, B, C, D = "ws-a", "ws-b", "ws-c", "ws-d"
HOURS = timedelta(hours=2)
S1, S2, S3, S4 = at(days=-5), at(days=-3), at(days=-1), at(hours=-12)
BEFORE, AFTER_REG, AFTER_FLAT = (0.90, 0.96), (0.82, 0.88), (0.90, 0.96)  # means 0.93, 0.85, 0.93


def _sides(seed: Seed, ws: str, split, *, before: int, after: int, n: int = 200, conf_after=AFTER_FLAT) -> None:
    seed.drafts(ws, start=split - HOURS, end=split, n=n, needs_review=before, confidences=BEFORE)
    seed.drafts(ws, start=split, end=split + HOURS, n=n, needs_review=after, confidences=conf_after)


@pytest.fixture(scope="module")
def planted(backend: Backend) -> Iterator[Backend]:
    empty(backend.write)
    seed = Seed(backend.write)
    for ws in (A, B, C, D):
        seed.workspace(ws, name=f"![t](http://127.0.0.1:9/{ws}.png)", settings={})
    # W1
    seed.audit(A, when=S1, field="leadContextBundleEnabled", old="false", new="true")
    seed.audit(D, when=S1 - timedelta(hours=1), field="autoSendRevisionEnabled", old="false", new="true")
    _sides(seed, A, S1, before=20, after=60, conf_after=AFTER_REG)
    _sides(seed, B, S1, before=20, after=20)
    _sides(seed, C, S1, before=20, after=20)
    _sides(seed, D, S1, before=20, after=120)
    # W2
    for ws in (A, B, C):
        _sides(seed, ws, S2, before=20, after=60, conf_after=AFTER_REG)
    # W3
    for ws in (A, B, C):
        _sides(seed, ws, S3, before=20, after=20)
    for k in range(10):
        seed.webhook(provider="CRM", workspace_id=B, created=S3 + timedelta(minutes=2 + 5 * k), status="PENDING")
    # W4
    _sides(seed, A, S4, before=2, after=2, n=20)
    yield backend
    empty(backend.write)


def run(backend: Backend, workspace: str, split, **spec):
    with backend.read.connect() as conn:
        inputs = gather(conn, CanarySpec((workspace,), split, split + HOURS, **spec))
    evaluation, packet = report(inputs, load_rules())
    return inputs, evaluation.verdict, packet


def rules_of(verdict):
    return {r.rule.id: r for r in verdict.rules}


def metrics_of(verdict):
    return {m.metric: m for m in verdict.metrics}


def test_a_regression_only_in_the_canary_fails_it_against_the_clean_control(planted):
    inputs, verdict, packet = run(planted, A, S1)
    assert inputs.others == (B, C)
    assert inputs.excluded == {D: "rollout change in the window (autoSendRevisionEnabled)"}
    assert verdict.overall is Overall.FAIL
    rule = rules_of(verdict)["needs_review_rate_increase"]
    assert rule.status is RuleStatus.TRIPPED and rule.against == "the clean control's change"
    assert rule.measured == pytest.approx(0.20)
    se = (0.1 * 0.9 / 200 + 0.3 * 0.7 / 200 + 2 * 0.1 * 0.9 / 400) ** 0.5
    assert rule.interval == pytest.approx((0.20 - 1.959964 * se, 0.20 + 1.959964 * se))
    confidence = rules_of(verdict)["auto_send_confidence_drop"]
    assert confidence.status is RuleStatus.TRIPPED and confidence.measured == pytest.approx(-0.08)
    metric = metrics_of(verdict)["auto_send_confidence"]
    assert metric.against == CONTROL and metric.delta == pytest.approx(-0.08) and metric.passed is False
    assert metrics_of(verdict)["needs_review_rate"].delta == pytest.approx(0.20)
    verification = next(v for k, v in packet.files.items() if k.startswith("verification")).decode()
    assert "Control: 2 workspace(s) with no rollout change in the baseline or canary window: ws-b, ws-c" in verification
    assert f"| {D} | rollout change in the window (autoSendRevisionEnabled) |" in verification


def test_another_canary_in_the_control_would_hide_the_regression(planted):
    """The exclusion matters: with D (+50 pts) in the control, as the old control had it, the DiD is
    (0.30 - 0.10) - (160/600 - 60/600) = +3.3 pts, under the 10-point limit: the rule would not trip."""
    inputs, verdict, _ = run(planted, A, S1)
    rule = load_rules().by_id("needs_review_rate_increase")
    dirty = diff_in_diff(Rate(20, 200), Rate(60, 200), Rate(60, 600), Rate(160, 600))
    assert dirty.diff == pytest.approx(0.2 - 1 / 6)
    assert evaluate_delta(rule, dirty.diff, dirty.ci, against="x").status is RuleStatus.OK
    assert D not in inputs.others and rules_of(verdict)["needs_review_rate_increase"].status is RuleStatus.TRIPPED


def test_a_shift_in_every_workspace_does_not_fail_the_canary(planted):
    _, verdict, _ = run(planted, A, S2)
    assert verdict.overall is Overall.PASS, verdict.reason
    for rule_id in ("needs_review_rate_increase", "auto_send_confidence_drop"):
        rule = rules_of(verdict)[rule_id]
        assert rule.status is RuleStatus.OK and rule.measured == pytest.approx(0.0, abs=1e-12), rule.reason
    for metric in ("needs_review_rate", "auto_send_confidence"):
        assert metrics_of(verdict)[metric].passed is True and metrics_of(verdict)[metric].against == CONTROL


def test_without_a_clean_control_the_canary_is_judged_on_its_own_past_and_says_so(planted):
    inputs, verdict, _ = run(planted, A, S2, exclude=(B, C, D))
    assert inputs.others == () and set(inputs.excluded.values()) == {"excluded by configuration"}
    rule = rules_of(verdict)["needs_review_rate_increase"]
    assert rule.against == "the canary's own past (no clean control)" and rule.measured == pytest.approx(0.20)
    assert rule.status is RuleStatus.TRIPPED and verdict.overall is Overall.FAIL
    assert metrics_of(verdict)["needs_review_rate"].against == OWN_PAST


def test_a_queue_episode_in_another_workspace_does_not_fail_the_canary(planted):
    _, verdict, _ = run(planted, A, S3)
    assert rules_of(verdict)["webhook_queue_growing"].status is RuleStatus.OK  # A's own events: none queued
    assert rules_of(verdict)["webhook_queue_growing_platform"].status is RuleStatus.TRIPPED
    assert verdict.overall is Overall.PLATFORM_INCIDENT and verdict.score is None
    _, own, _ = run(planted, B, S3)
    assert rules_of(own)["webhook_queue_growing"].status is RuleStatus.TRIPPED  # B's queue is B's problem
    assert rules_of(own)["webhook_queue_growing_platform"].status is RuleStatus.OK
    assert own.overall is Overall.FAIL


def test_too_little_data_is_insufficient_data_without_a_score(planted):
    _, verdict, packet = run(planted, A, S4)
    assert verdict.overall is Overall.INSUFFICIENT_DATA and verdict.score is None
    assert rules_of(verdict)["needs_review_rate_increase"].status is RuleStatus.NO_DATA
    verification = next(v for k, v in packet.files.items() if k.startswith("verification")).decode()
    assert "Overall **INSUFFICIENT_DATA** (score n/a)" in verification


def test_canary_page_escapes_workspace_names_that_look_like_markdown(planted, monkeypatch):
    """Client.name is upstream data: `![t](http://127.0.0.1:9/ws-b.png)` must never become an image."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from auth.roles import Role
    from tests.auth_support import APP, auth_env, sign_in

    st.cache_data.clear()
    st.cache_resource.clear()
    for key, value in auth_env(planted.url).items():
        monkeypatch.setenv(key, value)
    app = sign_in(AppTest.from_file(APP, default_timeout=120), Role.OPERATOR)
    app.switch_page("pages/canary.py")
    app.query_params.update({"ws": A, "split": S1.strftime("%Y-%m-%dT%H:%M:%SZ")})
    app.run()
    app.toggle(key="cw_canary_live").set_value(False).run()
    next(d for d in app.get("date_time_input") if d.label == "End (UTC)").set_value(
        (S1 + HOURS).replace(tzinfo=None)).run()
    assert not app.exception, app.exception
    texts = [e.value for kind in ("markdown", "caption", "warning", "info", "success") for e in getattr(app, kind)]
    control = next(t for t in texts if t.startswith("**Control: 2 workspaces**"))
    assert "\\!\\[t\\]\\(http\\:\\/\\/127\\.0\\.0\\.1\\:9\\/ws\\-b\\.png\\)" in control
    assert not any("![t](http" in t for t in texts)
    assert next(m for m in texts if m.startswith("## :")).startswith("## :red[FAIL]")
    st.cache_data.clear()
    st.cache_resource.clear()
