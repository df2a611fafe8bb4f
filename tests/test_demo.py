"""The demo data set: deterministic, tells the story demo/story.py promises, holds the contract's
edge cases; and the embedded default database is built once, reused while fresh, rebuilt when stale.

Data tests run on both backends; they seed a small scale once per backend and reuse it while the
database still holds exactly that seed (other modules' tests clear the database before theirs).
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import ColumnElement, Connection, FromClause, func, select

from db import upstream as up
from db.state import audit_log
from demo.__main__ import main as demo_main
from demo.embedded import demo_info, ensure_demo_database, stored_demo_info
from demo.generate import seed_demo
from demo.generate_drafts import NULL_SKIP_REASONS
from demo.schema import clear_all
from demo.sentinels import PII_EMAIL, PII_MARK
from demo.story import Story, floor_hour, story_for
from queries.dialect import json_has, json_text
from queries.filters import as_utc, naive_utc
from tests.seed import T0

SCALE = 12
STORY = story_for(T0)
_seeded: dict[str, dict[str, int]] = {}  # backend -> table counts of the seed it holds


def _counts(conn: Connection) -> dict[str, int]:
    tables = [*up.upstream_metadata.sorted_tables, audit_log]
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}


@pytest.fixture
def demo(backend) -> Connection:
    """The backend holding the demo at SCALE ending at T0; a read-only connection to it."""
    with backend.read.connect() as conn:
        held = _counts(conn)
    if _seeded.get(backend.name) != held:
        clear_all(backend.write)
        seed_demo(backend.write, scale=SCALE, end=T0)
        with backend.read.connect() as conn:
            _seeded[backend.name] = _counts(conn)
    with backend.read.connect() as conn:
        yield conn


def _fingerprint(conn: Connection) -> tuple:
    sums = (
        select(func.sum(up.ai_draft.c.autoSendConfidence)).scalar_subquery(),
        select(func.sum(up.ai_draft.c.autoSendRevisionConfidence)).scalar_subquery(),
        select(func.sum(up.ai_interaction.c.latencyMs)).scalar_subquery(),
        select(func.sum(up.meeting_overseer_decision.c.confidence)).scalar_subquery(),
        select(func.max(up.ai_draft.c.id)).scalar_subquery(),
        select(func.min(up.webhook_event.c.startedAt)).scalar_subquery(),
    )
    row = conn.execute(select(*sums)).one()
    counts = _counts(conn)
    conn.rollback()  # end the read transaction: its locks would block the TRUNCATE that follows
    return counts, tuple(round(v, 6) if isinstance(v, float) else v for v in row)


def _ws_drafts(ws: str, *where: ColumnElement[bool]) -> tuple[FromClause, list[ColumnElement[bool]]]:
    return (up.ai_draft.join(up.lead, up.lead.c.id == up.ai_draft.c.leadId), [up.lead.c.clientId == ws, *where])


def _needs_review_rate(conn: Connection, ws: str, after: bool) -> float:
    """needs_review / evaluated drafts, before or after the rollout."""
    t = up.ai_draft.c.autoSendEvaluatedAt
    side = t >= naive_utc(STORY.rollout_at) if after else t < naive_utc(STORY.rollout_at)
    joined, where = _ws_drafts(ws, side, up.ai_draft.c.autoSendAction.is_not(None))
    evaluated = conn.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
    review = conn.execute(select(func.count()).select_from(joined).where(
        *where, up.ai_draft.c.autoSendAction == "needs_review")).scalar_one()
    return review / evaluated


def _mean_confidence(conn: Connection, ws: str, after: bool) -> float:
    t = up.ai_draft.c.autoSendEvaluatedAt
    side = t >= naive_utc(STORY.rollout_at) if after else t < naive_utc(STORY.rollout_at)
    joined, where = _ws_drafts(ws, side)
    return conn.execute(select(func.avg(up.ai_draft.c.autoSendConfidence)).select_from(joined).where(*where)).scalar()


# -- determinism -----------------------------------------------------------------------------------


def test_same_seed_scale_and_end_give_identical_data_and_another_seed_differs(db):
    seed_demo(db.backend.write, seed=7, scale=SCALE, end=T0)
    first = _fingerprint(db.conn)
    clear_all(db.backend.write)
    seed_demo(db.backend.write, seed=7, scale=SCALE, end=T0)
    assert _fingerprint(db.conn) == first
    clear_all(db.backend.write)
    seed_demo(db.backend.write, seed=8, scale=SCALE, end=T0)
    assert _fingerprint(db.conn)[1][0] != first[1][0]  # the sum of confidences moves with the seed


# -- the story -------------------------------------------------------------------------------------


def test_canary_needs_review_rate_after_rollout_is_at_least_1_6x_before(demo):
    before, after = (_needs_review_rate(demo, STORY.canary, after=a) for a in (False, True))
    assert after >= 1.6 * before


def test_quiet_workspace_needs_review_rate_moves_less_than_a_third(demo):
    before, after = (_needs_review_rate(demo, STORY.quiet, after=a) for a in (False, True))
    assert abs(after - before) < before / 3


def test_canary_confidence_drops_while_its_volume_stays_level(demo):
    drop = _mean_confidence(demo, STORY.canary, after=True) - _mean_confidence(demo, STORY.canary, after=False)
    assert -0.09 < drop < -0.03
    quiet_drop = _mean_confidence(demo, STORY.quiet, after=True) - _mean_confidence(demo, STORY.quiet, after=False)
    assert abs(quiet_drop) < 0.02
    created = up.ai_draft.c.createdAt
    joined, where = _ws_drafts(STORY.canary)
    per_side = [demo.execute(select(func.count()).select_from(joined).where(*where, cond)).scalar_one()
                for cond in (created < naive_utc(STORY.rollout_at), created >= naive_utc(STORY.rollout_at))]
    post_days = (STORY.end - STORY.rollout_at).days  # 4 of the 14 days
    per_day_before, per_day_after = per_side[0] / (STORY.days - post_days), per_side[1] / post_days
    assert abs(per_day_after - per_day_before) < 0.1 * per_day_before


def test_failure_hour_is_the_only_function_hour_at_or_over_ten_percent(demo):
    runs = up.background_function_run.c
    hours: Counter = Counter()
    failed: Counter = Counter()
    for name, started, status in demo.execute(select(runs.functionName, runs.startedAt, runs.status)):
        key = (name, floor_hour(as_utc(started)))
        hours[key] += 1
        failed[key] += status == "FAILED"
    bad = (STORY.failing_function, STORY.failure_hour_start)
    assert failed[bad] / hours[bad] > 0.10
    assert all(failed[k] / hours[k] < 0.10 for k in hours if k != bad)
    assert sum(failed.values()) > 0  # failures happen at other times too, just never 10% of an hour


def _queue_depth(conn: Connection, t) -> int:
    w = up.webhook_event.c
    t = naive_utc(t)
    return conn.execute(select(func.count()).where(
        w.createdAt < t, (w.startedAt.is_(None)) | (w.startedAt >= t))).scalar_one()


def test_webhook_queue_grows_for_forty_minutes_then_drains(demo):
    start = STORY.queue_episode_start
    depths = [_queue_depth(demo, start + timedelta(minutes=m)) for m in range(0, 41, 10)]
    assert depths == sorted(depths) and len(set(depths)) == len(depths)  # strictly growing
    assert depths[-1] > 100
    assert _queue_depth(demo, STORY.queue_episode_end + timedelta(minutes=25)) <= 2
    assert _queue_depth(demo, STORY.end) >= 3  # a handful still pending at the end


def test_revision_runs_only_in_the_canary_after_rollout_and_the_early_adopter(demo):
    attempted = up.ai_draft.c.autoSendRevisionAttemptedAt
    joined = up.ai_draft.join(up.lead, up.lead.c.id == up.ai_draft.c.leadId)
    rows = demo.execute(select(up.lead.c.clientId, func.min(attempted), func.count()).select_from(joined)
                        .where(attempted.is_not(None)).group_by(up.lead.c.clientId)).all()
    by_ws = {ws: (as_utc(first), n) for ws, first, n in rows}
    assert set(by_ws) == {STORY.canary, STORY.revision_all_along}
    assert by_ws[STORY.canary][0] >= STORY.rollout_at
    assert by_ws[STORY.revision_all_along][0] < STORY.rollout_at


def test_exactly_one_draft_has_two_revision_loop_rows_before_rollout(demo):
    ai = up.ai_interaction.c
    draft = json_text(ai.metadata, "draftId").label("draft")
    doubled = demo.execute(select(draft, ai.clientId, func.min(ai.createdAt)).where(
        ai.featureId == "auto_send.revision_loop").group_by(draft, ai.clientId).having(func.count() > 1)).all()
    assert [(d, ws) for d, ws, _ in doubled] == [(STORY.double_loop_draft_id, STORY.revision_all_along)]
    assert as_utc(doubled[0][2]) < STORY.rollout_at


def test_bundle_telemetry_appears_only_where_and_when_the_bundle_is_on(demo):
    ai = up.ai_interaction.c
    rows = demo.execute(select(ai.clientId, func.min(ai.createdAt)).where(
        json_has(ai.metadata, "leadContextBundle") == 1).group_by(ai.clientId)).all()
    first = {ws: as_utc(t) for ws, t in rows}
    assert set(first) == set(STORY.bundle_enabled_now)
    assert first[STORY.canary] >= STORY.rollout_at


def test_audit_log_records_the_canary_rollout_at_rollout_at(demo):
    a = audit_log.c
    rows = demo.execute(select(a.field, a.oldValue, a.newValue, a.changedAt, a.actor).where(
        a.workspaceId == STORY.canary).order_by(a.field)).all()
    assert [(f, o, n, as_utc(t), who) for f, o, n, t, who in rows] == [
        ("autoSendRevisionEnabled", "false", "true", STORY.rollout_at, "demo-seed"),
        ("leadContextBundleEnabled", "false", "true", STORY.rollout_at, "demo-seed"),
    ]
    assert demo.execute(select(func.count()).where(a.workspaceId != STORY.canary)).scalar_one() >= 2


# -- the contract's edge cases -----------------------------------------------------------------------


def test_settings_edge_cases_missing_row_and_json_null_budgets(demo):
    ws = up.workspace_settings.c
    clients = set(demo.execute(select(ws.clientId)).scalars())
    assert STORY.no_settings not in clients and len(clients) == len(STORY.workspaces) - 1
    # JSON null is not SQL NULL: the row passes IS NOT NULL, and its value reads back as None
    assert demo.execute(select(ws.leadContextBundleBudgets).where(
        ws.clientId == STORY.null_budgets, ws.leadContextBundleBudgets.is_not(None))).all() == [(None,)]
    budgets = demo.execute(select(ws.leadContextBundleBudgets).where(ws.clientId == STORY.real_budgets)).scalar_one()
    assert budgets["auto_send_evaluator"]["knowledge"]["maxTokens"] == 6000


def test_null_confidence_skips_carry_the_contract_reason_codes(demo):
    d = up.ai_draft.c
    reasons = set(demo.execute(select(d.autoSendReason).where(
        d.autoSendAction == "skip", d.autoSendConfidence.is_(None))).scalars())
    assert reasons and reasons <= set(NULL_SKIP_REASONS)
    trigger_tasks = demo.execute(select(func.count()).where(d.triggerMessageId.like("followup_task:%"))).scalar_one()
    assert trigger_tasks > 0
    dispositions = set(demo.execute(select(d.responseDisposition).where(d.autoSendAction == "needs_review")).scalars())
    assert dispositions == {"APPROVED", "EDITED", None}


def test_overseer_has_all_stages_and_mixed_case_gate_decisions(demo):
    o = up.meeting_overseer_decision.c
    decision = json_text(o.payload, "decision")
    stages = set(demo.execute(select(o.stage).distinct()).scalars())
    gate = set(demo.execute(select(decision).where(o.stage == "gate").distinct()).scalars())
    booking = set(demo.execute(select(decision).where(o.stage == "booking_gate").distinct()).scalars())
    assert stages == {"extract", "gate", "booking_gate"}
    assert {"approve", "revise"} < gate and {d.lower() for d in gate} == {"approve", "revise"}
    assert booking == {"approve", "needs_clarification", "deny"}


def test_interactions_include_retries_errors_null_metadata_and_every_metadata_shape(demo):
    ai = up.ai_interaction.c
    count = lambda *where: demo.execute(select(func.count()).where(*where)).scalar_one()  # noqa: E731
    assert count(ai.promptKey.like("%.retry1")) > 0 and count(ai.promptKey.like("%.retry2")) > 0
    assert count(ai.status == "error") > 0 and count(ai.metadata.is_(None)) > 0
    for key in ("leadContextBundle", "followupParse", "bookingGate", "autoSendRevision", "routeSkip", "stopReason"):
        assert count(json_has(ai.metadata, key) == 1) > 0, key
    for stage in ("context_select", "revise"):
        assert count(json_text(ai.metadata, "autoSendRevision", "stage") == stage) > 0
    hygiene = demo.execute(select(ai.featureId).where(json_has(ai.metadata, "promptPreview") == 1)).all()
    assert len(hygiene) == 1


def test_webhook_workspace_id_means_bison_id_for_inboxxia_and_client_id_for_crm(demo):
    w, c = up.webhook_event.c, up.client.c
    by_bison = demo.execute(select(w.provider, func.count()).select_from(
        up.webhook_event.join(up.client, c.emailBisonWorkspaceId == w.workspaceId)).group_by(w.provider)).all()
    by_id = demo.execute(select(w.provider, func.count()).select_from(
        up.webhook_event.join(up.client, c.id == w.workspaceId)).group_by(w.provider)).all()
    assert [p for p, _ in by_bison] == ["INBOXXIA"] and [p for p, _ in by_id] == ["CRM"]
    statuses = set(demo.execute(select(w.status).distinct()).scalars())
    assert {"SUCCEEDED", "FAILED", "PENDING"} <= statuses
    assert demo.execute(select(func.count()).where(w.attempts > 1)).scalar_one() > 0


def test_booking_rows_exist_with_auto_book_and_synced_sources(demo):
    a, ld = up.appointment.c, up.lead.c
    sources = set(demo.execute(select(a.source).distinct()).scalars())
    assert {"AUTO_BOOK", "WEBHOOK", "RECONCILE_CRON"} <= sources
    assert demo.execute(select(func.count()).where(ld.appointmentSource == "auto_book")).scalar_one() > 0
    names = set(demo.execute(select(up.follow_up_task.c.campaignName).distinct()).scalars())
    assert {"Scheduled follow-up (auto)", "Follow-up timing clarification (auto) #1", "call_requested"} <= names


def test_personal_data_columns_hold_only_sentinels(demo):
    for column in (up.lead.c.email, up.ai_draft.c.content, up.message.c.body, up.webhook_event.c.senderEmail):
        values = set(demo.execute(select(column).distinct().where(column.is_not(None))).scalars())
        assert values and all(PII_MARK in v or v == PII_EMAIL for v in values), column


# -- python -m demo ------------------------------------------------------------------------------------


def test_cli_seeds_an_empty_database_and_refuses_a_seeded_one(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    assert demo_main(["--url", url, "--scale", "2", "--end", "2026-02-18T12:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "AIDraft" in out and "seeded seed=7 scale=2 end=2026-02-18T12:00Z" in out
    assert demo_main(["--url", url, "--scale", "2"]) == 2
    assert "refusing to seed" in capsys.readouterr().err


# -- the embedded default --------------------------------------------------------------------------


def _identity(path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def test_embedded_database_is_built_once_reused_while_fresh_and_rebuilt_when_stale(tmp_path):
    path = tmp_path / "nested" / "demo.sqlite"
    now = T0 + timedelta(minutes=37)
    story = ensure_demo_database(path, scale=2, now=now)
    assert isinstance(story, Story) and story.end == T0 and path.is_file()
    assert stored_demo_info(path) == (T0, 7, 2)
    built = _identity(path)

    assert ensure_demo_database(path, scale=2, now=now + timedelta(hours=23)) == story  # fresh: untouched
    assert _identity(path) == built

    later = now + timedelta(hours=25)
    rebuilt = ensure_demo_database(path, scale=2, now=later)  # stale: rebuilt ending at the new hour
    assert rebuilt.end == floor_hour(later) and stored_demo_info(path)[0] == floor_hour(later)
    assert [p.name for p in path.parent.iterdir()] == ["demo.sqlite"]  # no temp files left behind


def test_embedded_database_rebuilds_an_unreadable_file(tmp_path):
    path = tmp_path / "demo.sqlite"
    path.write_text("not a database")
    story = ensure_demo_database(path, scale=2, now=T0)
    assert story.end == T0 and stored_demo_info(path) == (T0, 7, 2)


def test_two_simultaneous_first_starts_both_get_a_complete_database(tmp_path):
    path = tmp_path / "demo.sqlite"
    with ThreadPoolExecutor(max_workers=2) as pool:
        stories = list(pool.map(lambda _: ensure_demo_database(path, scale=2, now=T0), range(2)))
    assert stories[0] == stories[1] and stored_demo_info(path) == (T0, 7, 2)
    assert [p.name for p in tmp_path.iterdir()] == ["demo.sqlite"]


def test_demo_info_is_kept_in_the_state_schema():
    assert demo_info.schema == "canarywatch"  # never upstream's public schema (DESIGN.md)
