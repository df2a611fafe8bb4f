"""No query lets personal data out: every registered query, run over rows full of sentinels, returns none.

Every column that can hold message text, e-mail addresses or evaluator/overseer free text is planted
with PII-SENTINEL values (demo/rows.py). If any query selected such a column (or a JSON key holding
free text), its result would contain the sentinel.
"""

import importlib
import pkgutil
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import queries
from db import upstream as up
from demo import rows
from demo.sentinels import PII_EMAIL, PII_MARK
from queries.filters import Window
from queries.frame import REGISTRY
from tests.seed import at

MODULES = sorted(m.name for m in pkgutil.iter_modules(queries.__path__))
for _name in MODULES:
    importlib.import_module(f"queries.{_name}")

# canary composes registered queries; registry and summary_spec declare and serve them;
# schema_check (doctor) reads only the system catalogs
INFRASTRUCTURE = {"canary", "dialect", "filters", "frame", "registry", "schema_check", "summary_spec"}
WIDE = Window(at(days=-3), at(days=3))


def plant_everything(db) -> None:
    seed = db.seed
    seed.workspace("ws-a", bison="bison-a", settings={"leadContextBundleEnabled": True})
    seed.workspace("ws-b", settings={"leadContextBundleBudgets": None})
    when = at(minutes=-30)
    seed.draft("ws-a", when=when, action="needs_review", confidence=0.42, channel="email")
    seed.draft("ws-a", when=when, action="skip", confidence=None, reason="missing_draft_content")
    seed.draft("ws-a", when=when, action="send_immediate", confidence=0.95, disposition="AUTO_SENT",
               revision_attempted_at=when, original_confidence=0.6, revision_confidence=0.93,
               revision_applied=True, iterations=2)
    for stage, decision in (("extract", None), ("gate", "Revise"), ("booking_gate", "needs_clarification")):
        seed.overseer("ws-a", when=when, stage=stage, decision=decision, confidence=0.7)
    bundle = rows.bundle_metadata("draft", knowledge=(4000, 1200, 5, 4, 1, 3900), memory=(1200, 400, 3, 3, 0, 500))
    seed.interaction("ws-a", when=when, feature="draft.generate.email", metadata={"leadContextBundle": bundle})
    seed.interaction("ws-a", when=when, feature="auto_send.revise", status="error",
                     metadata={"autoSendRevision": {"stage": "revise", "iteration": 1}})
    seed.interaction("ws-a", when=when, feature="auto_send.revision_loop",
                     metadata={"draftId": "draft-x", "stopReason": "threshold_met", "iterationsUsed": 2})
    seed.interaction("ws-a", when=when, feature="followup.booking.gate",
                     metadata={"bookingGate": {"decision": "deny", "confidence": 0.5}, "note": f"{PII_MARK} " * 20})
    seed.appointment("ws-a", when=when, source="AUTO_BOOK")
    seed.task("ws-a", when=when, campaign_name=f"{PII_MARK} custom campaign name")
    seed.webhook(provider="INBOXXIA", workspace_id="bison-a", created=when, status="FAILED", attempts=3,
                 started_at=when, finished_at=when + timedelta(minutes=1))
    seed.webhook(provider="CRM", workspace_id="ws-b", created=when, status="PENDING")
    seed.function_run(function="cron-followups", started=when, status="FAILED")
    seed.job("ws-a", run_at=when, status="FAILED")
    seed.audit("ws-a", when=when, field="leadContextBundleEnabled", old="false", new="true")


def test_every_query_module_registers_its_queries():
    domains = set(MODULES) - INFRASTRUCTURE
    registered = {name.split(".", 1)[0] for name in REGISTRY}
    assert domains <= registered, f"query modules without a registered query: {sorted(domains - registered)}"
    assert all(spec.describes.strip() for spec in REGISTRY.values())


def test_sentinels_are_really_in_the_database(db):
    plant_everything(db)
    planted = db.conn.execute(select(func.count()).where(up.ai_draft.c.content.like(f"%{PII_MARK}%"))).scalar_one()
    assert planted == 3


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_query_result_holds_no_personal_data(db, name):
    plant_everything(db)
    frame = REGISTRY[name].func(db.conn, WIDE)
    text = frame.to_csv(index=False) + repr(frame.to_dict())
    assert PII_MARK not in text, f"{name} returned a personal-data sentinel"
    assert PII_EMAIL not in text, f"{name} returned an e-mail address"


def test_every_free_text_column_of_a_planted_row_carries_a_sentinel(db):
    """The seeds plant every free-text column upstream has (db/upstream.py FREE_TEXT_COLUMNS), so the
    query test above would see any of them leak."""
    plant_everything(db)
    for table_name in ("Client", "Lead", "WebhookEvent", "WorkspaceSettings", "Appointment"):
        table = up.upstream_metadata.tables[table_name]
        for column in up.FREE_TEXT_COLUMNS[table_name]:
            values = db.conn.execute(select(table.c[column]).where(table.c[column].is_not(None))).scalars().all()
            assert values, f"{table_name}.{column} was planted nowhere"
            assert all(PII_MARK in str(v) or PII_EMAIL in str(v) for v in values), f"{table_name}.{column}"


# -- issue 15: the offload monitoring snapshot file (offload-monitoring-<T0>.md) -------------------

def test_offload_snapshot_file_holds_no_personal_data(db):
    from analysis.offload_snapshot import build_snapshot, snapshot_file
    from analysis.rules import load_rules
    from queries import offload_snapshot as snap

    plant_everything(db)
    # a workspaceId that is an e-mail address resolves to no workspace and must not be written out
    db.seed.webhook(provider="INBOXXIA", workspace_id=PII_EMAIL, created=at(minutes=-40), status="PENDING")
    window = snap.snapshot_window(at(minutes=-45))  # [11:15, 11:45): every planted webhook and run
    states, runs = snap.webhook_status_at_instants(db.conn, window), snap.function_run_totals(db.conn, window)
    assert states["events"].sum() > 0 and runs["total_runs"].sum() == 1
    _, content = snapshot_file(build_snapshot(states, runs, instants=snap.instants(window), rules=load_rules()))
    assert PII_MARK.encode() not in content and PII_EMAIL.encode() not in content


def test_whole_evidence_packet_holds_no_personal_data(db):
    """Issue 15: every file of the packet (manifest, offload snapshot, rollback check included)."""
    from analysis.rules import load_rules
    from queries.canary import CanarySpec
    from services.canary import run
    from services.evidence import canary_rollback, complete_packet

    plant_everything(db)
    db.seed.audit("ws-a", when=at(minutes=-10), field="leadContextBundleEnabled", old="true", new="false",
                  reason=f"{PII_MARK} rolled back")
    db.seed.webhook(provider="INBOXXIA", workspace_id=PII_EMAIL, created=at(minutes=-40), status="PENDING")
    spec, rules = CanarySpec(("ws-a",), at(minutes=-30), at(minutes=5)), load_rules()
    packet = run(db.conn, spec, rules, field="leadContextBundleEnabled").packet
    recovery = canary_rollback(db.conn, spec, "leadContextBundleEnabled", rules)
    assert recovery is not None
    packet = complete_packet(db.conn, spec, packet, rules, recovery)
    assert {n.split("-")[0] for n in packet.files} == {"baseline", "verification", "pre", "offload", "rollback",
                                                       "manifest.json"}
    for name, content in packet.files.items():
        assert PII_MARK.encode() not in content and PII_EMAIL.encode() not in content, name
