"""How the canary pages show a verdict: overall, metrics, rules, rollback levers, evidence download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.canary import Evaluation
from analysis.canary_stats import Verdict
from analysis.evidence import Packet
from analysis.rules import RuleStatus
from queries.canary import CanarySpec
from ui.canary import packet_name, packet_zip

COLOURS = {"PASS": "green", "MARGINAL": "orange", "FAIL": "red", "INSUFFICIENT_DATA": "gray"}
MARKS = {True: "pass", False: "FAIL", None: "no data"}


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def overall(evaluation: Evaluation, views: int | None) -> None:
    verdict = evaluation.verdict
    colour = COLOURS[verdict.overall.value]
    score = "n/a" if verdict.score is None else f"{verdict.score:.0f}"
    st.markdown(f"## :{colour}[{verdict.overall.value}] · score {score}")
    st.markdown(verdict.reason)
    if views is not None:
        st.caption(f"This canary window has been looked at {views} time{'s' if views != 1 else ''}.")


def metrics_table(evaluation: Evaluation) -> None:
    rows = []
    for m in evaluation.verdict.metrics:
        rows.append({"metric": m.metric, "result": MARKS[m.passed], "verdict": m.verdict.value,
                     "baseline": _fmt(m.baseline), "measured": _fmt(m.measured), "delta": _fmt(m.delta),
                     "95% interval": "—" if m.ci is None else f"[{m.ci[0]:+.3f}, {m.ci[1]:+.3f}]",
                     "p": "—" if m.p_value is None else f"{m.p_value:.3g}", "n before": m.n_baseline,
                     "n after": m.n_canary, "critical": "yes" if m.critical else "", "why": m.reason})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption("Each metric: the canary after the split against its own equal-length window before it; where other "
               "workspaces exist, the delta subtracts their change (difference-in-differences). HIGH/LOW count only "
               "when significant after Holm correction and beyond the tolerance. INSUFFICIENT_DATA is never a pass.")


def rules_table(evaluation: Evaluation) -> None:
    marks = {RuleStatus.OK: "OK", RuleStatus.TRIPPED: "TRIPPED", RuleStatus.NO_DATA: "no data"}
    rows = [{"rule": r.rule.title, "status": marks[r.status], "measured": _fmt(r.measured),
             "threshold": f"{r.rule.operator} {r.threshold:g}", "source": r.rule.source, "why": r.reason}
            for r in evaluation.verdict.rules]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def rollback(evaluation: Evaluation, spec: CanarySpec) -> None:
    tripped = [r for r in evaluation.verdict.rules if r.status is RuleStatus.TRIPPED]
    failing = [m for m in evaluation.verdict.metrics if m.passed is False]
    if not tripped and not failing:
        st.success("No rollback rule tripped and no metric fails.")
        return
    for result in tripped:
        with st.container(border=True):
            st.markdown(f"**Rollback: {result.rule.title}** — {result.reason}")
            for number, step in enumerate(result.rule.rollback, start=1):
                if step.kind == "toggle" and step.name:
                    for workspace in spec.workspaces:
                        st.page_link("pages/toggles.py", label=f"{number}. {step.text} ({workspace})",
                                     icon=":material/toggle_off:", query_params={"workspace": workspace})
                else:
                    st.markdown(f"{number}. {step.text}")
            st.caption(f"Watch to confirm the rollback worked: {result.rule.watch}")
    if failing and not tripped:
        st.warning("Failing metrics: " + ", ".join(m.metric for m in failing)
                   + ". No rollback rule tripped; decide with the evidence below.")


def download(packet: Packet, key: str) -> None:
    st.download_button("Download the evidence packet (zip)", packet_zip(packet), file_name=packet_name(packet),
                       mime="application/zip", icon=":material/download:", key=key)
    st.caption(f"baseline, verification and pre/post delta files; content hash {packet.content_hash[:16]}…")


def histograms(frames: dict) -> pd.DataFrame:
    """Confidence bucket counts of the canary before and after the split, for the overlays."""
    parts = []
    for side, label in (("canary_before", "before"), ("canary_after", "after")):
        frame = frames[side]["confidence"]
        if frame is not None and not frame.empty:
            grouped = frame.groupby("lower", as_index=False)["drafts"].sum()
            grouped["side"] = label
            parts.append(grouped)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["lower", "drafts", "side"])


__all__ = ["Verdict", "download", "histograms", "metrics_table", "overall", "rollback", "rules_table"]
