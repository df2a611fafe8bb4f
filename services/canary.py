"""The one canary service the canary page and `canarywatch check` both use: read a runtime log export
once, gather a window, judge it (log rules, database rules, metrics) and build the evidence packet.

Before this, the page and the CLI each ran the log steps themselves; now both call `parse_logs` and
`judge` (the page caches `gather` and the parse, the CLI calls `run`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from analysis.canary.active import ActiveCanary
from analysis.canary.evaluation import Evaluation
from analysis.canary.report import report
from analysis.evidence import Packet
from analysis.logsignals import LogMapping, LogParse, evaluate_log_rules, guess_mapping, header_keys, parse_log_export
from analysis.rules import RuleSet
from queries.canary import CanaryInputs, CanarySpec, gather
from queries.filters import FilterError
from summaries.reading import SummaryReader

#: the largest runtime log export read (the page states it; bigger files are refused, not parsed)
LOG_LIMIT_MB = 256


class LogExportError(ValueError):
    """A log export that cannot be used: the message says why (nothing was evaluated from it)."""


def parse_logs(data: bytes, *, fmt: str = "auto", timestamp: str | None = None, message: str | None = None,
               source: str | None = None) -> LogParse:
    """Classify an export's lines (malformed lines counted, never raised); the columns guessed unless given."""
    if len(data) > LOG_LIMIT_MB * 1024 * 1024:
        raise LogExportError(f"{len(data) / 1024 / 1024:.0f} MB is over the {LOG_LIMIT_MB} MB limit")
    try:
        mapping = guess_mapping(header_keys(data, fmt=fmt))
    except ValueError as exc:
        if not (timestamp and message):
            raise LogExportError(str(exc)) from None
        mapping = LogMapping()
    overrides = {k: v for k, v in (("timestamp", timestamp), ("message", message), ("source", source)) if v}
    return parse_log_export(data, LogMapping(**{**mapping.__dict__, **overrides}), fmt=fmt)


@dataclass(frozen=True)
class CanaryRun:
    inputs: CanaryInputs
    evaluation: Evaluation
    packet: Packet


def judge(inputs: CanaryInputs, rules: RuleSet, *, parse: LogParse | None = None, field: str | None = None,
          sequential: bool = False) -> tuple[Evaluation, Packet]:
    """The log rules over the canary window, then the report; `sequential` for a watch that looks again."""
    spec = inputs.spec
    logs = () if parse is None else tuple(evaluate_log_rules(parse, rules.for_source("logs"), start=spec.split,
                                                             end=spec.end))
    return report(inputs, rules, log_results=logs, field=field, sequential=sequential,
                  malformed_log_lines=None if parse is None else parse.malformed)


def gather_window(conn: Connection, spec: CanarySpec) -> CanaryInputs:
    """The canary's four windows, the side queries answered from the stored summaries plus the raw rows at
    their edges (a database without summaries, or a variant not stored, reads the raw rows).

    The page, `canarywatch check` and `canarywatch watch` all gather here, so their verdicts and packets
    agree to the last bit. Against the raw rows, counts are exact and float sums agree to the last few bits
    (tests/test_summaries_demo.py); read raw, a 30- or 90-day canary over 200 workspaces took 88-93 s at
    large (issue 11's page bench), summary-backed 37-39 s."""
    return gather(conn, spec, summarised=SummaryReader(conn))


def run(conn: Connection, spec: CanarySpec, rules: RuleSet, *, parse: LogParse | None = None,
        field: str | None = None, sequential: bool = False) -> CanaryRun:
    inputs = gather_window(conn, spec)
    evaluation, packet = judge(inputs, rules, parse=parse, field=field, sequential=sequential)
    return CanaryRun(inputs, evaluation, packet)


def active_spec(canary: ActiveCanary, end: datetime) -> CanarySpec | None:
    """The canary window of an active canary, [since, end) on its workspace; None while it has no recorded
    start or no window yet (the page's list, the Overview and `canarywatch watch` judge the same window)."""
    if canary.since is None:
        return None
    try:
        return CanarySpec((canary.workspace,), canary.since, end)
    except FilterError:
        return None
