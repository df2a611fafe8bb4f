"""The evidence packet of a canary window: two Markdown reports and a delta CSV, byte-identical for the
same data and window, carrying a content hash, and holding no personal data (counts, rates, codes).

Files (UTC stamps like 2026-02-18T03-18-40Z):
  baseline-<slug>-<start>-<end>.md, verification-<slug>-<start>-<end>.md, pre-post-delta-<slug>-<start>-<end>.csv
where <slug> names the canary workspace(s) (lower-case letters, digits and '-', joined by '+', at most
48 characters) and <start>-<end> is the canary window [split, end). Counts are written as integers,
p-values in scientific notation. Every threshold decision in the verification names the artifact file and
the UTC window it was computed from.

The packet cites itself: `manifest.json` lists every file (the three above, and what the services add:
the offload snapshot at the canary window's start, the rollback check) with its UTC window, row counts,
size and sha256; sorted keys, no clock, so the same data and window give the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from analysis.canary.inputs import SideTotals
from analysis.rules import RuleResult, display

DELTA_COLUMNS = ("metric", "verdict", "critical", "baseline", "measured", "delta", "ci_low", "ci_high", "p_value",
                 "threshold", "n_baseline", "n_canary", "reason")


def slug(workspaces: Sequence[str]) -> str:
    """A file-name-safe name for the canary workspace(s): ids are upstream data, never trusted as paths."""
    parts = [re.sub(r"[^a-z0-9]+", "-", w.lower()).strip("-") or "workspace" for w in workspaces]
    return "+".join(parts)[:48].rstrip("-+") or "workspace"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")


def _num(value: Any) -> str:
    """Fixed, platform-stable formatting (the packet must be byte-identical for the same data)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "" if value != value else f"{value:.6f}"
    return str(value)


MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ManifestEntry:
    """What the manifest says of one file (its sha256 and size are computed from the bytes)."""

    name: str
    start: datetime  # the UTC window [start, end) the file was computed from
    end: datetime
    rows: Mapping[str, int]  # row counts behind the file (drafts, calls, events, ...)
    compared_with: tuple[datetime, datetime] | None = None  # the baseline window, for a comparison


@dataclass(frozen=True)
class Packet:
    files: dict[str, bytes]
    content_hash: str
    entries: tuple[ManifestEntry, ...] = ()  # the manifest's entries (manifest.json is among the files)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manifest_json(files: Mapping[str, bytes], entries: Sequence[ManifestEntry]) -> bytes:
    """The manifest of `files`, one entry per ManifestEntry (sorted by name); deterministic bytes."""
    listed = []
    for e in sorted(entries, key=lambda e: e.name):
        item: dict[str, Any] = {"name": e.name, "window": {"start": _iso(e.start), "end": _iso(e.end)},
                                "rows": {k: int(v) for k, v in e.rows.items()}, "bytes": len(files[e.name]),
                                "sha256": hashlib.sha256(files[e.name]).hexdigest()}
        if e.compared_with is not None:
            item["compared_with"] = {"start": _iso(e.compared_with[0]), "end": _iso(e.compared_with[1])}
        listed.append(item)
    body = {"packet": "canarywatch evidence", "manifest_version": 1, "files": listed}
    return (json.dumps(body, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode()


def with_files(packet: Packet, extra: Sequence[tuple[ManifestEntry, bytes]]) -> Packet:
    """The packet plus more files, its manifest rewritten to list them all (the content hash is unchanged)."""
    files = {k: v for k, v in packet.files.items() if k != MANIFEST}
    entries = [e for e in packet.entries if all(e.name != x.name for x, _ in extra)]
    for entry, content in extra:
        files[entry.name] = content
        entries.append(entry)
    files[MANIFEST] = manifest_json(files, entries)
    return Packet(files, packet.content_hash, tuple(sorted(entries, key=lambda e: e.name)))


@dataclass(frozen=True)
class PacketInput:
    workspaces: tuple[str, ...]
    split: datetime
    end: datetime
    baseline_start: datetime
    overall: str  # PASS | MARGINAL | FAIL | INSUFFICIENT_DATA
    score: float | None
    metrics: Sequence[Any]  # analysis.canary.verdicts.MetricVerdict
    rules: Sequence[RuleResult]
    before: SideTotals
    after: SideTotals
    settings: Sequence[Mapping[str, Any]]  # the canary workspaces' settings rows (toggles only)
    changes: Sequence[Mapping[str, Any]]  # audit rows in [baseline_start, end)
    rules_version: str
    control: Sequence[str] = ()  # the clean control's workspace ids
    excluded: Mapping[str, str] = field(default_factory=dict)  # workspace id -> why not in the control
    field: str | None = None  # the rollout field the canary watches
    confounded: Sequence[str] = ()  # other rollout fields enabled with it in the window
    malformed_log_lines: int | None = None  # None: no log export uploaded
    platform_start: datetime | None = None  # platform rules judge [platform_start, end) (default: the split)


def _metric_row(metric: Any) -> dict[str, str]:
    ci = getattr(metric, "ci", None) or (None, None)
    return {
        "metric": metric.metric, "verdict": getattr(metric.verdict, "value", str(metric.verdict)),
        "critical": _num(bool(metric.critical)), "baseline": _num(metric.baseline), "measured": _num(metric.measured),
        "delta": _num(metric.delta), "ci_low": _num(ci[0]), "ci_high": _num(ci[1]),
        "p_value": "" if metric.p_value is None else f"{metric.p_value:.3e}",
        "threshold": _num(metric.threshold), "n_baseline": _num(metric.n_baseline), "n_canary": _num(metric.n_canary),
        "reason": metric.reason,
    }


def delta_csv(metrics: Sequence[Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=DELTA_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for metric in sorted(metrics, key=lambda m: m.metric):
        writer.writerow(_metric_row(metric))
    return out.getvalue()


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_num(c).replace("|", "/") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _sample_sizes(totals: SideTotals) -> list[tuple[str, int]]:
    return [("evaluated drafts", totals.evaluated), ("scored drafts", totals.scored),
            ("needs_review drafts", totals.needs_review), ("gate decisions", totals.gate_total),
            ("booking-gate decisions", totals.booking_total), ("revision attempts", totals.revision_attempted),
            ("bundle calls", totals.bundle_calls), ("revise calls", totals.revise_calls)]


def baseline_markdown(p: PacketInput) -> str:
    window = f"[{p.baseline_start:%Y-%m-%d %H:%M:%S}, {p.split:%Y-%m-%d %H:%M:%S}) UTC"
    parts = [
        f"# Baseline: {', '.join(p.workspaces)}", "",
        f"Baseline window {window}, the equal-length window before the split. Rules version {p.rules_version}.", "",
        "## Settings now", "",
        _table(["workspace", *sorted(k for k in (p.settings[0] if p.settings else {}) if k != "workspace")],
               [[row["workspace"], *[row[k] for k in sorted(row) if k != "workspace"]] for row in p.settings]), "",
        "## Sample sizes (baseline)", "", _table(["measure", "n"], _sample_sizes(p.before)), "",
        "## Baseline values", "",
        _table(["metric", "baseline", "n_baseline"],
               [[m.metric, m.baseline, m.n_baseline] for m in sorted(p.metrics, key=lambda m: m.metric)]), "",
    ]
    return "\n".join(parts)


def file_names(p: PacketInput) -> dict[str, str]:
    """kind (baseline, verification, delta) -> the file name of this packet's three reports."""
    suffix = f"{slug(p.workspaces)}-{stamp(p.split)}-{stamp(p.end)}"
    return {"baseline": f"baseline-{suffix}.md", "verification": f"verification-{suffix}.md",
            "delta": f"pre-post-delta-{suffix}.csv"}


def _span(start: datetime, end: datetime) -> str:
    return f"[{start:%Y-%m-%d %H:%M:%S}, {end:%Y-%m-%d %H:%M:%S}) UTC"


def metric_source(p: PacketInput) -> str:
    """Where a metric verdict's numbers are and the windows they come from."""
    return f"{file_names(p)['delta']}: {_span(p.split, p.end)} vs {_span(p.baseline_start, p.split)}"


def rule_source(p: PacketInput, result: RuleResult) -> str:
    """The artifact file and the UTC window a rule decision was computed from."""
    names, rule = file_names(p), result.rule
    if rule.source == "logs":
        return f"the uploaded runtime log export (not in the packet): {_span(p.split, p.end)}"
    if rule.comparison.startswith("vs_baseline"):
        return f"{names['baseline']} and {metric_source(p)}"
    if rule.scope == "platform":
        return f"{names['verification']} (platform health): {_span(p.platform_start or p.split, p.end)}"
    return f"{names['verification']} (sample sizes, canary window): {_span(p.split, p.end)}"


def verification_markdown(p: PacketInput) -> str:
    window = f"[{p.split:%Y-%m-%d %H:%M:%S}, {p.end:%Y-%m-%d %H:%M:%S}) UTC"
    source = metric_source(p)
    score = "n/a" if p.score is None else f"{p.score:.1f}"
    metric_rows = [[r["metric"], r["verdict"], r["baseline"], r["measured"], r["delta"],
                    f"[{r['ci_low']}, {r['ci_high']}]" if r["ci_low"] else "", r["p_value"], r["threshold"],
                    r["n_baseline"], r["n_canary"], source, r["reason"]]
                   for r in (_metric_row(m) for m in sorted(p.metrics, key=lambda m: m.metric))]
    rule_rows = [[r.rule.id, r.rule.scope, r.status.value, *display(r), rule_source(p, r), r.reason]
                 for r in sorted(p.rules, key=lambda r: (r.rule.scope != "workspace", r.rule.id))]
    control = (f"{len(p.control)} workspace(s) with no rollout change in the baseline or canary window: "
               f"{', '.join(p.control)}" if p.control else
               "none: every rule and metric is judged against the canary's own past")
    excluded = [[w, why] for w, why in sorted(p.excluded.items())]
    watched = p.field or "unknown (no enabling change recorded)"
    if p.confounded:
        watched += f" — confounded: {' and '.join((p.field or '?', *p.confounded))} changed together"
    logs = ("no log export" if p.malformed_log_lines is None
            else f"{p.malformed_log_lines} malformed line(s) in the log export")
    change_rows = [[f"{c['changed_at']:%Y-%m-%d %H:%M:%S}", c["workspace"], c["field"], c["old_value"],
                    c["new_value"], c["actor"]] for c in p.changes]
    parts = [
        f"# Verification: {', '.join(p.workspaces)}", "",
        f"Canary window {window}. Overall **{p.overall}** (score {score}). Rules version {p.rules_version}.", "",
        f"Rollout field: {watched}. Control: {control}. Log export: {logs}.", "",
        "## Metrics", "",
        _table(["metric", "verdict", "baseline", "measured", "delta", "95% CI", "p", "threshold", "n base",
                "n canary", "computed from", "reason"], metric_rows), "",
        "## Rollback rules", "",
        _table(["rule", "scope", "status", "measured", "limit", "computed from", "reason"], rule_rows), "",
        "## Excluded from the control", "",
        _table(["workspace", "why"], excluded) if excluded else "None.", "",
        "## Sample sizes (canary window)", "", _table(["measure", "n"], _sample_sizes(p.after)), "",
        "## Rollout changes in the baseline and canary windows", "",
        _table(["changed at (UTC)", "workspace", "field", "old", "new", "by"], change_rows) if change_rows
        else "None recorded.", "",
    ]
    return "\n".join(parts)


def _counts(totals: SideTotals) -> dict[str, int]:
    return {name.replace(" ", "_").replace("-", "_"): int(n) for name, n in _sample_sizes(totals)}


def build_packet(p: PacketInput) -> Packet:
    names = file_names(p)
    baseline = baseline_markdown(p)
    delta = delta_csv(p.metrics)
    verification = verification_markdown(p)
    digest = hashlib.sha256("\n\0".join((baseline, delta, verification)).encode()).hexdigest()
    verification += f"Content hash (sha256 of the baseline report, the delta CSV and this report above): `{digest}`\n"
    files = {names["baseline"]: baseline.encode(), names["verification"]: verification.encode(),
             names["delta"]: delta.encode()}
    entries = (ManifestEntry(names["baseline"], p.baseline_start, p.split, _counts(p.before)),
               ManifestEntry(names["verification"], p.split, p.end,
                             {**_counts(p.after), "metrics": len(p.metrics), "rules": len(p.rules),
                              "rollout_changes": len(p.changes)}, (p.baseline_start, p.split)),
               ManifestEntry(names["delta"], p.split, p.end, {"metrics": len(p.metrics)}, (p.baseline_start, p.split)))
    return with_files(Packet(files, digest), [(e, files[e.name]) for e in entries])
