"""Did the rollback work: the cached check (services/rollback.py) and how the canary and audit pages show it."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from analysis.evidence import Packet, with_files
from analysis.rollback import RollbackVerdict, engaged_switch
from queries.canary import CanarySpec
from queries.offload_snapshot import snapshot_window
from rollout.killswitch import EnvFileError, read_kill_switches
from services import rollback
from services.evidence import recovery_entry, snapshot_entry
from ui import tables
from ui.canary import rules
from ui.context import app_context
from ui.data import TTL_SECONDS, DataUnavailable
from ui.safe import plain

COLOURS = {"RECOVERED": "green", "NOT_RECOVERED": "red", "INSUFFICIENT_DATA": "gray"}


def engaged_switches() -> dict[str, bool]:
    """name -> engaged now (rollout/killswitch.py); an unreadable env file reads as none engaged."""
    try:
        return {name: s.engaged for name, s in read_kill_switches().items()}
    except EnvFileError:
        return {}


@st.cache_data(ttl=TTL_SECONDS, show_spinner="Checking the rollback…")
def check(workspace: str, field: str, end: datetime, at: datetime | None = None,
          engaged_at: datetime | None = None, exclude: tuple[str, ...] = ()) -> RollbackVerdict | None:
    """The rollback check of `field` in `workspace` up to `end`; None when no rollback is recorded."""
    try:
        with app_context().read.connect() as conn:
            event = rollback.find(conn, workspace, field, end=end, at=at, engaged_at=engaged_at,
                                  switches=engaged_switches())
            return None if event is None else rollback.check(conn, event, rules(), exclude)
    except SQLAlchemyError as exc:
        raise DataUnavailable(f"The rollback check could not read its data ({type(exc).__name__}).") from None


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _snapshot(workspaces: tuple[str, ...], split: datetime, until: datetime, _end: datetime):
    """Keyed by the split, not by the live end: the snapshot is [split, split + 30 min) whatever the end, so a
    canary re-evaluated every minute reads it once (`until`, the end capped at split + 30 min, keeps a snapshot
    still being written re-read each minute)."""
    try:
        with app_context().read.connect() as conn:
            return snapshot_entry(conn, CanarySpec(workspaces, split, _end), rules())
    except SQLAlchemyError as exc:
        raise DataUnavailable(f"The offload snapshot could not be read ({type(exc).__name__}).") from None


def full_packet(spec: CanarySpec, packet: Packet, recovery: RollbackVerdict | None) -> Packet:
    """The page's packet as `canarywatch check --out` writes it: plus the offload snapshot at the split, the
    rollback check when there is one, and the manifest of them all."""
    extra = [_snapshot(spec.workspaces, spec.split, min(spec.end, snapshot_window(spec.split).end), spec.end)]
    if recovery is not None:
        extra.append(recovery_entry(recovery))
    return with_files(packet, extra)


def signal_rows(verdict: RollbackVerdict) -> pd.DataFrame:
    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:.1%}"

    return pd.DataFrame([{"signal": s.signal, "recovery": s.status.value, "pre-rollout": pct(s.baseline),
                          "after rollback": pct(s.measured),
                          "delta": "—" if s.delta is None else f"{s.delta * 100:+.1f} pts",
                          "n before / after": f"{s.n_baseline} / {s.n_after}", "reason": s.reason}
                         for s in verdict.signals],
                        columns=["signal", "recovery", "pre-rollout", "after rollback", "delta", "n before / after",
                                 "reason"])


def headline(verdict: RollbackVerdict) -> str:
    e = verdict.event
    return (f"**Rollback check: :{COLOURS[verdict.overall.value]}[{verdict.overall.value}]** · pulled back at "
            f"{e.rolled_back_at:%Y-%m-%d %H:%M} UTC ({plain(e.how)}); [{e.rolled_back_at:%Y-%m-%d %H:%M}, "
            f"{e.end:%Y-%m-%d %H:%M}) UTC against the pre-rollout [{e.baseline[0]:%Y-%m-%d %H:%M}, "
            f"{e.baseline[1]:%Y-%m-%d %H:%M}) UTC: {plain(verdict.reason)}")


def show(verdict: RollbackVerdict) -> None:
    st.markdown(headline(verdict))
    tables.show(signal_rows(verdict))


def canary_section(spec: CanarySpec, field: str | None) -> RollbackVerdict | None:
    """The canary page's small section for a rolled-back canary (one workspace, a known field): the audited
    toggle-off at or after the split, else the field's kill switch engaged now (the operator dates it)."""
    if field is None or len(spec.workspaces) != 1:
        return None
    verdict = check(spec.workspaces[0], field, spec.end, exclude=tuple(sorted(spec.exclude)))
    switch = engaged_switch(field, engaged_switches())
    if (verdict is None or verdict.event.rolled_back_at < spec.split) and switch is not None:
        st.subheader("Did the rollback work?")
        engaged = st.datetime_input(f"{switch} is engaged now: engaged since (UTC)",
                                    spec.split.replace(tzinfo=None), step=60, key="cw_canary_switch_at")
        verdict = check(spec.workspaces[0], field, spec.end, engaged_at=engaged.replace(tzinfo=spec.split.tzinfo),
                        exclude=tuple(sorted(spec.exclude)))
        if verdict is None:
            st.caption("No enabling change of this field before that time, or the time is not before the window's end.")
            return None
    elif verdict is None or verdict.event.rolled_back_at < spec.split:
        return None
    else:
        st.subheader("Did the rollback work?")
    show(verdict)
    return verdict
