"""Canary evaluation for the pages: cached gathering, the report, the packet as one zip download."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from analysis.canary import Evaluation
from analysis.canary_report import report
from analysis.evidence import Packet
from analysis.logsignals import LogParse
from analysis.rules import RuleResult, load_rules
from queries.canary import CanaryInputs, CanarySpec, gather
from rollout.views import record_view, window_key
from ui.context import app_context
from ui.data import TTL_SECONDS, DataUnavailable


@st.cache_resource
def rules():
    return load_rules()


@st.cache_data(ttl=TTL_SECONDS, show_spinner="Evaluating the canary window…")
def _gather(workspaces: tuple[str, ...], split: datetime, end: datetime, channel: str | None) -> CanaryInputs:
    with app_context().read.connect() as conn:
        return gather(conn, CanarySpec(workspaces, split, end, channel))


def evaluate(spec: CanarySpec, log_results: tuple[RuleResult, ...] = ()) -> tuple[CanaryInputs, Evaluation, Packet]:
    try:
        inputs = _gather(spec.workspaces, spec.split, spec.end, spec.channel)
    except SQLAlchemyError as exc:
        raise DataUnavailable(f"The canary data could not be read ({type(exc).__name__}).") from None
    evaluation, packet = report(inputs, rules(), log_results=log_results)
    return inputs, evaluation, packet


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
