"""The whole evidence packet of a canary window: the three reports (analysis/evidence.py), the offload
snapshot at the canary window's start, the rollback check when the canary's field was pulled back in the
window, and the manifest listing them all. The canary page's zip and `canarywatch check --out` both use it.
"""

from __future__ import annotations

from sqlalchemy import Connection

from analysis.evidence import ManifestEntry, Packet, with_files
from analysis.offload_snapshot import build_snapshot, snapshot_file
from analysis.rollback import RollbackVerdict, recovery_file_name, recovery_markdown
from analysis.rules import RuleSet
from queries import offload_snapshot as snap
from queries.canary import CanarySpec
from services import rollback


def snapshot_entry(conn: Connection, spec: CanarySpec, rules: RuleSet) -> tuple[ManifestEntry, bytes]:
    """offload-monitoring-<split>.md for [split, split + 30 min), with the canary workspaces' sections."""
    window = snap.snapshot_window(spec.split)
    states, runs = snap.webhook_status_at_instants(conn, window), snap.function_run_totals(conn, window)
    snapshot = build_snapshot(states, runs, instants=snap.instants(window), rules=rules,
                              workspaces=spec.workspaces)
    name, content = snapshot_file(snapshot)
    platform = snapshot.platform
    rows = {"webhook_events_at_t0": sum(platform.counts[0]), "webhook_events_at_t0_plus_30m": sum(platform.counts[-1]),
            "function_runs": sum(f.total_runs for f in snapshot.functions), "functions": len(snapshot.functions)}
    return ManifestEntry(name, window.start, window.end, rows), content


def recovery_entry(verdict: RollbackVerdict) -> tuple[ManifestEntry, bytes]:
    e = verdict.event
    rows = {f"{s.signal}_n_after": s.n_after for s in verdict.signals}
    rows |= {f"{s.signal}_n_baseline": s.n_baseline for s in verdict.signals}
    entry = ManifestEntry(recovery_file_name(e), e.rolled_back_at, e.end, rows, e.baseline)
    return entry, recovery_markdown(verdict).encode("utf-8")


def canary_rollback(conn: Connection, spec: CanarySpec, field: str | None, rules: RuleSet) -> RollbackVerdict | None:
    """The rollback check of the canary's field when it was toggled off at or after the split (one workspace)."""
    if field is None or len(spec.workspaces) != 1:
        return None
    event = rollback.find(conn, spec.workspaces[0], field, end=spec.end)
    if event is None or event.rolled_back_at < spec.split:
        return None
    return rollback.check(conn, event, rules, spec.exclude)


def complete_packet(conn: Connection, spec: CanarySpec, packet: Packet, rules: RuleSet,
                    recovery: RollbackVerdict | None = None) -> Packet:
    """The packet with the offload snapshot, the rollback check (if any) and the manifest of every file."""
    extra = [snapshot_entry(conn, spec, rules)]
    if recovery is not None:
        extra.append(recovery_entry(recovery))
    return with_files(packet, extra)
