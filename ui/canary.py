"""Canary evaluation for the pages: cached gathering, the report, the packet as one zip download."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from analysis.canary import Evaluation
from analysis.canary_active import ActiveCanary, active_canaries
from analysis.canary_report import canary_field, report
from analysis.evidence import Packet
from analysis.logsignals import LogMapping, LogParse, evaluate_log_rules, guess_mapping, header_keys, parse_log_export
from analysis.rules import RuleResult, load_rules
from queries import events, settings
from queries.canary import CanaryInputs, CanarySpec, gather
from queries.filters import FilterError, Window
from rollout.views import record_view, window_key
from ui.context import app_context
from ui.data import TTL_SECONDS, DataUnavailable, cached

#: the largest runtime log export the page parses (stated on the page)
LOG_LIMIT_MB = 256
#: how far back the audit log is read for the enabling changes of the active canaries
HISTORY = timedelta(days=3650)


@st.cache_resource
def rules():
    return load_rules()


@st.cache_data(ttl=TTL_SECONDS, show_spinner="Evaluating the canary window…")
def _gather(workspaces: tuple[str, ...], split: datetime, end: datetime, channel: str | None) -> CanaryInputs:
    with app_context().read.connect() as conn:
        return gather(conn, CanarySpec(workspaces, split, end, channel))


def evaluate(spec: CanarySpec, log_results: tuple[RuleResult, ...] = (), *, field: str | None = None,
             malformed_log_lines: int | None = None,
             sequential: bool = False) -> tuple[CanaryInputs, Evaluation, Packet]:
    """`sequential`: always-valid intervals for a page that re-evaluates (the canary watch); the
    fixed-horizon tests for a one-off pre/post compare."""
    try:
        inputs = _gather(spec.workspaces, spec.split, spec.end, spec.channel)
    except SQLAlchemyError as exc:
        raise DataUnavailable(f"The canary data could not be read ({type(exc).__name__}).") from None
    evaluation, packet = report(inputs, rules(), log_results=log_results, field=field,
                                malformed_log_lines=malformed_log_lines, sequential=sequential)
    return inputs, evaluation, packet


def watched_field(inputs: CanaryInputs, field: str | None) -> tuple[str | None, tuple[str, ...]]:
    return canary_field(inputs, field)


def active(end) -> list[ActiveCanary]:
    """The active canaries now: from every workspace's settings and the audit log up to `end`."""
    everyone = Window(end - HISTORY, end)
    current = cached(settings.workspace_settings, everyone)
    changes = cached(events.rollout_events, everyone)
    return active_canaries(current, changes, end=end)


def current_verdict(canary: ActiveCanary, end) -> Evaluation | None:
    """The canary's verdict over [since, end); None when it has no recorded start or no window yet."""
    if canary.since is None:
        return None
    try:
        spec = CanarySpec((canary.workspace,), canary.since, end)
    except FilterError:
        return None
    return evaluate(spec, field=canary.field, sequential=True)[1]


def active_table(canaries: list[ActiveCanary], end, names: dict[str, str]) -> pd.DataFrame:
    """One row per active canary: workspace name, field, since, who, verdict, worst rule, confounding."""
    rows = []
    for c in canaries:
        evaluation = current_verdict(c, end)
        verdict = evaluation.verdict if evaluation is not None else None
        rows.append({"workspace": names.get(c.workspace, c.workspace), "field": c.field,
                     "since (UTC)": f"{c.since:%Y-%m-%d %H:%M}" if c.since else "not in the audit log",
                     "by": c.actor or "—", "verdict": verdict.headline if verdict else "not judged",
                     "worst": (verdict.worst or "—") if verdict else "—", "confounded": c.confounded or "—"})
    return pd.DataFrame(rows, columns=["workspace", "field", "since (UTC)", "by", "verdict", "worst", "confounded"])


def packet_zip(packet: Packet) -> bytes:
    """The three files in one zip, byte-identical for the same packet (fixed entry times)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(packet.files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, packet.files[name])
    return buffer.getvalue()


def packet_name(packet: Packet) -> str:
    first = sorted(packet.files)[0]
    return "evidence-" + first.split("-", 1)[1].rsplit(".", 1)[0] + ".zip"


def count_view(spec: CanarySpec) -> int | None:
    """One look per session and window; None when the count cannot be stored."""
    key = window_key(spec.workspaces, spec.split)
    seen = st.session_state.setdefault("cw_canary_views", {})
    if key not in seen:
        try:
            seen[key] = record_view(app_context().write, key)
        except SQLAlchemyError:
            return None
    return seen[key]


def log_summary(parse: LogParse | None) -> str:
    if parse is None:
        return ""
    return f"{parse.lines} log lines read ({parse.fmt}), {parse.malformed} malformed" + (
        f" (lines {', '.join(map(str, parse.malformed_lines))})" if parse.malformed_lines else "")


@st.cache_resource(max_entries=4, show_spinner="Reading the log export (once per file)…")
def _parsed(content_hash: str, _data: bytes) -> LogParse | str:
    """The parse of one export, shared by every refresh and session that uploads the same bytes
    (keyed by the content hash; the bytes themselves are not hashed again by Streamlit)."""
    try:
        mapping = guess_mapping(header_keys(_data))
    except ValueError as exc:
        return f"Log export not used: {exc}."
    return parse_log_export(_data, LogMapping(**mapping.__dict__))


def _content_hash(upload) -> str:
    """sha256 of the upload, computed once per uploaded file (kept in the session by file id)."""
    hashes = st.session_state.setdefault("cw_log_hashes", {})
    if upload.file_id not in hashes:
        hashes.clear()
        hashes[upload.file_id] = hashlib.sha256(upload.getvalue()).hexdigest()
    return hashes[upload.file_id]


def log_results(upload, spec: CanarySpec) -> tuple[tuple[RuleResult, ...], LogParse | None]:
    """The log rules on an uploaded export: parsed once per content, size-limited, never a traceback."""
    if upload is None:
        return (), None
    if upload.size > LOG_LIMIT_MB * 1024 * 1024:
        st.warning(f"Log export not used: {upload.size / 1024 / 1024:.0f} MB is over the {LOG_LIMIT_MB} MB limit.")
        return (), None
    parse = _parsed(_content_hash(upload), upload.getvalue())
    if isinstance(parse, str):
        st.warning(parse)
        return (), None
    return tuple(evaluate_log_rules(parse, rules().for_source("logs"), start=spec.split, end=spec.end)), parse
