"""Canary evaluation for the pages: cached gathering, the report, the packet as one zip download."""

from __future__ import annotations

import hashlib
import io
import weakref
import zipfile
from datetime import datetime, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from analysis.canary import Evaluation
from analysis.canary.active import ActiveCanary, active_canaries
from analysis.canary.report import canary_field
from analysis.evidence import Packet
from analysis.logsignals import LogParse
from analysis.rules import load_rules
from queries import events, settings
from queries.canary import CanaryInputs, CanarySpec
from queries.filters import Window
from rollout.views import record_view, window_key
from services.canary import LOG_LIMIT_MB, LogExportError, active_spec, gather_window, judge, parse_logs
from ui.context import app_context
from ui.data import TTL_SECONDS, DataUnavailable, cached

#: how far back the audit log is read for the enabling changes of the active canaries
HISTORY = timedelta(days=3650)


@st.cache_resource
def rules():
    return load_rules()


@st.cache_resource(ttl=TTL_SECONDS, max_entries=64, show_spinner="Evaluating the canary window…")
def _evaluated(workspaces: tuple[str, ...], split: datetime, end: datetime, channel: str | None,
               exclude: tuple[str, ...], field: str | None, sequential: bool, parse_key: str | None,
               _parse: LogParse | None) -> tuple[CanaryInputs, Evaluation, Packet]:
    """Gathered and judged once per window, field and log export, shared by every run and session in the
    ttl: the active-canary table, the chosen canary's evaluation and the watch status judge the same
    window, and a page rerun (a widget, the next refresh in the same minute) judges nothing again.

    A cache_resource (no copy per read: nothing downstream mutates the inputs or the verdict). Gathered as
    `canarywatch check` and `canarywatch watch` gather (services.canary.gather_window: stored summaries plus
    raw edges), so the page's verdict and evidence packet are theirs to the last bit."""
    with app_context().read.connect() as conn:
        inputs = gather_window(conn, CanarySpec(workspaces, split, end, channel, exclude))
    evaluation, packet = judge(inputs, rules(), parse=_parse, field=field, sequential=sequential)
    return inputs, evaluation, packet


#: LogParse -> the sha256 of the export it was parsed from (the cache key of its evaluations)
_PARSE_KEYS: weakref.WeakKeyDictionary[LogParse, str] = weakref.WeakKeyDictionary()


def evaluate(spec: CanarySpec, parse: LogParse | None = None, *, field: str | None = None,
             sequential: bool = False) -> tuple[CanaryInputs, Evaluation, Packet]:
    """`sequential`: always-valid intervals for a page that re-evaluates (the canary watch); the
    fixed-horizon tests for a one-off pre/post compare."""
    key = None if parse is None else _PARSE_KEYS.get(parse)
    args = (spec.workspaces, spec.split, spec.end, spec.channel, tuple(sorted(spec.exclude)), field, sequential,
            key, parse)
    try:
        if parse is not None and key is None:  # a parse log_parse did not make: nothing to key it by
            return _evaluated.__wrapped__(*args)
        return _evaluated(*args)
    except SQLAlchemyError as exc:
        raise DataUnavailable(f"The canary data could not be read ({type(exc).__name__}).") from None


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
    spec = active_spec(canary, end)
    if spec is None:
        return None
    return evaluate(spec, field=canary.field, sequential=True)[1]


def active_table(canaries: list[ActiveCanary], end, names: dict[str, str]) -> pd.DataFrame:
    """One row per active canary: workspace name, field, verdict, worst rule, the other rollout fields changed
    with it (confounded: the verdict cannot tell which change did what), since when ("unaudited": enabled with
    no audit row) and who."""
    rows = []
    for c in canaries:
        evaluation = current_verdict(c, end)
        verdict = evaluation.verdict if evaluation is not None else None
        rows.append({"workspace": names.get(c.workspace, c.workspace), "field": c.field,
                     "verdict": verdict.headline if verdict else "not judged",
                     "worst": (verdict.worst or "—") if verdict else "—",
                     "changed with": ", ".join(c.confounded_with) or "—",  # short cells: the grid cuts long ones
                     "since (UTC)": f"{c.since:%Y-%m-%d %H:%M}" if c.since else "unaudited",
                     "by": c.actor or "—"})
    # the status first, when and who last: on a narrow page the grid scrolls the last columns out of view
    return pd.DataFrame(rows, columns=["workspace", "field", "verdict", "worst", "changed with", "since (UTC)", "by"])


def packet_zip(packet: Packet) -> bytes:
    """Every file of the packet (the manifest included) in one zip, byte-identical for the same packet
    (sorted names, fixed entry times)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(packet.files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, packet.files[name])
    return buffer.getvalue()


def packet_name(packet: Packet) -> str:
    """evidence-<slug>-<start>-<end>.zip, named after the baseline report (whatever else the packet holds)."""
    first = next((n for n in sorted(packet.files) if n.startswith("baseline-")), sorted(packet.files)[0])
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
        return parse_logs(_data)
    except LogExportError as exc:
        return f"Log export not used: {exc}."


def _content_hash(upload) -> str:
    """sha256 of the upload, computed once per uploaded file (kept in the session by file id)."""
    hashes = st.session_state.setdefault("cw_log_hashes", {})
    if upload.file_id not in hashes:
        hashes.clear()
        hashes[upload.file_id] = hashlib.sha256(upload.getvalue()).hexdigest()
    return hashes[upload.file_id]


def log_parse(upload) -> LogParse | None:
    """The uploaded export's parse: once per content, size-limited, never a traceback."""
    if upload is None:
        return None
    if upload.size > LOG_LIMIT_MB * 1024 * 1024:
        st.warning(f"Log export not used: {upload.size / 1024 / 1024:.0f} MB is over the {LOG_LIMIT_MB} MB limit.")
        return None
    content_hash = _content_hash(upload)
    parse = _parsed(content_hash, upload.getvalue())
    if isinstance(parse, str):
        st.warning(parse)
        return None
    _PARSE_KEYS[parse] = content_hash
    return parse
