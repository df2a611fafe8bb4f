"""How the canary pages show a verdict: overall, metrics, rules, rollback levers, evidence download."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.canary import Evaluation
from analysis.canary.stats import Verdict
from analysis.canary.trajectory import MEAN_FRAMES, RATE_FRAMES, did_trajectory
from analysis.evidence import Packet
from analysis.rules import RuleResult, RuleStatus, display
from auth.roles import Role
from db.catalog import rollback_steps, watch_after_rollback
from queries.canary import CanaryInputs, CanarySpec
from ui import tables
from ui.canary import packet_name, packet_zip
from ui.navigation import allowed, spec_for
from ui.safe import plain

COLOURS = {"PASS": "green", "MARGINAL": "orange", "FAIL": "red", "INSUFFICIENT_DATA": "gray",
           "PLATFORM_INCIDENT": "violet"}
TOGGLES_PAGE = "pages/toggles.py"
MARKS = {True: "pass", False: "FAIL", None: "no data"}


def overall(evaluation: Evaluation, views: int | None) -> None:
    """The verdict first; a score only when the run was judged (never beside INSUFFICIENT_DATA)."""
    verdict = evaluation.verdict
    colour = COLOURS[verdict.overall.value]
    score = "" if verdict.score is None else f" · score {verdict.score:.0f}"
    st.markdown(f"## :{colour}[{verdict.headline}]{score}")  # our own words: verdict names and rule ids
    st.markdown(verdict.reason)
    if views is not None:
        st.caption(f"This canary window has been looked at {views} time{'s' if views != 1 else ''}.")


def _level(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric.endswith("_rate"):
        return f"{value:.1%}"
    return f"{value:.0f}" if metric == "evaluated_volume" or float(value).is_integer() else f"{value:.4f}"


def _delta(metric: str, value: float | None) -> str:
    """The same unit as the metric's reason: rates in percentage points, the confidence mean to 4 decimals."""
    if value is None:
        return "—"
    if metric.endswith("_rate"):
        return f"{value * 100:+.1f} pts"
    if metric == "evaluated_volume":
        return f"{value:+.0%}"
    return f"{value:+.0f}" if float(value).is_integer() else f"{value:+.4f}"


def metric_rows(evaluation: Evaluation) -> pd.DataFrame:
    rows = []
    for m in evaluation.verdict.metrics:
        rows.append({"metric": m.metric, "result": MARKS[m.passed], "verdict": m.verdict.value,
                     "baseline": _level(m.metric, m.baseline), "measured": _level(m.metric, m.measured),
                     "delta": _delta(m.metric, m.delta),
                     "95% interval": "—" if m.ci is None else f"[{_delta(m.metric, m.ci[0])}, "
                                                              f"{_delta(m.metric, m.ci[1])}]",
                     "p": "—" if m.p_value is None else f"{m.p_value:.2e}",
                     "n before": m.n_baseline, "n after": m.n_canary, "critical": "yes" if m.critical else "",
                     "against": m.against or "—", "why": m.reason})  # sentences last: the figures stay in view
    return pd.DataFrame(rows)


def metrics_table(evaluation: Evaluation) -> None:
    tables.show(metric_rows(evaluation))
    st.caption("Each metric: the canary after the split against its own equal-length window before it, minus the "
               "clean control's change over the same windows (difference-in-differences); without a clean control, "
               "its own past. HIGH/LOW count only when significant after Holm correction and beyond the tolerance. "
               "INSUFFICIENT_DATA is never a pass.")


def _rule_rows(results: Sequence[RuleResult]) -> pd.DataFrame:
    marks = {RuleStatus.OK: "OK", RuleStatus.TRIPPED: "TRIPPED", RuleStatus.NO_DATA: "no data"}
    rows = []
    for r in results:
        measured, limit = display(r)
        rows.append({"rule": r.rule.title, "status": marks[r.status], "measured": measured, "limit": limit,
                     "critical": "yes" if r.rule.critical else "", "source": r.rule.source,
                     "against": r.against or "—", "why": r.reason})  # sentences last: the figures stay in view
    return pd.DataFrame(rows, columns=["rule", "status", "measured", "limit", "critical", "source", "against", "why"])


def rules_table(evaluation: Evaluation) -> None:
    """The workspace-scoped rules: the canary's own rows, these decide the verdict."""
    tables.show(_rule_rows(evaluation.verdict.workspace_rules))


def platform_health(evaluation: Evaluation) -> None:
    """Platform-scoped rules beside the verdict: they never FAIL a canary by themselves."""
    verdict = evaluation.verdict
    status = verdict.platform_status
    colour = {"INCIDENT": "red", "DEGRADED": "orange", "OK": "green"}.get(status, "gray")
    st.markdown(f"**Platform health: :{colour}[{status}]** (global signals: BackgroundFunctionRun, the queue of "
                "other workspaces, runtime logs; a critical trip means the canary is not judged)")
    tables.show(_rule_rows(verdict.platform_rules))


def control(inputs: CanaryInputs, names: dict[str, str]) -> None:
    """The clean control the deltas are taken against, and who was left out and why."""
    size = len(inputs.others)
    if size:
        listed = ", ".join(plain(names.get(w, w), limit=60) for w in inputs.others)
        st.markdown(f"**Control: {size} workspace{'s' if size != 1 else ''}** with no rollout change in the "
                    f"baseline or canary window: {listed}.")
    else:
        st.warning("No clean control: every rule and metric is judged against the canary's own past.")
    if inputs.excluded:
        st.caption("Left out of the control: " + "; ".join(
            f"{plain(names.get(w, w), limit=60)} ({plain(why)})" for w, why in sorted(inputs.excluded.items())))


def rollback(evaluation: Evaluation, spec: CanarySpec, field: str | None, roles: frozenset[Role],
             confounded: Sequence[str] = ()) -> None:
    """The levers of the field that changed (db/catalog.py), fastest first, and what to watch after;
    a link to the toggle page only for a user whose role may open it (else the same step as text)."""
    verdict = evaluation.verdict
    tripped = [r for r in verdict.workspace_rules if r.status is RuleStatus.TRIPPED]
    failing = [m for m in verdict.metrics if m.passed is False]
    if not tripped and not failing:
        st.success("No workspace rule tripped and no metric fails.")
        return
    for result in tripped:
        measured, limit = display(result)
        st.markdown(f"**Tripped: {plain(result.rule.title)}** — {plain(measured)}, limit {plain(limit)}")
    if failing and not tripped:
        st.warning("Failing metrics: " + ", ".join(m.metric for m in failing)
                   + ". No rollback rule tripped; decide with the evidence below.")
    fields = [f for f in (field, *confounded) if f]
    if not fields:
        st.info("No enabling change is recorded for this canary: turn off the toggle that was changed for it.")
        return
    may_toggle = allowed(spec_for(TOGGLES_PAGE), roles)
    for changed in fields:
        with st.container(border=True):
            st.markdown(f"**Rollback: {plain(changed)}**")
            for number, step in enumerate(rollback_steps(changed), start=1):
                if step.kind == "toggle" and may_toggle:
                    for workspace in spec.workspaces:
                        st.page_link(TOGGLES_PAGE, label=f"{number}. {step.text} ({plain(workspace, limit=60)})",
                                     icon=":material/toggle_off:",
                                     query_params={"ws": workspace, "workspace": workspace})
                else:
                    st.markdown(f"{number}. {plain(step.text, limit=400)}")
            st.caption(f"Watch to confirm the rollback worked: {plain(watch_after_rollback(changed))}.")
    if not may_toggle:
        st.caption("A super admin flips the workspace toggle on the Rollout toggles page.")


def trajectory_figure(points: pd.DataFrame, *, title: str, threshold: float | Sequence[float], split,
                      scale: float = 100, unit: str = "pts") -> go.Figure:
    """The delta over the watch (rates in percentage points: scale 100; a mean in its own unit: scale 1),
    its always-valid band, the rule's limit(s), the split."""
    x = list(points["at"])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x + x[::-1], y=list(points["hi"] * scale) + list(points["lo"] * scale)[::-1],
                             fill="toself", line={"width": 0}, fillcolor="rgba(99,110,250,0.2)",
                             name="always-valid 95% interval", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=points["delta"] * scale, mode="lines+markers", name="DiD delta"))
    for limit in ([threshold] if isinstance(threshold, int | float) else threshold):
        fig.add_hline(y=limit * scale, line_dash="dash", line_color="red", annotation_text="rollback limit")
    fig.add_hline(y=0, line_color="gray", line_width=1)
    fig.add_vline(x=split, line_dash="dot", line_color="gray")
    fig.update_layout(title={"text": title, "x": 0}, yaxis_title=f"delta ({unit})", xaxis_title="UTC",
                      margin={"l": 10, "r": 10, "t": 50, "b": 10}, height=300, showlegend=False)
    return fig


def _charted_limits(evaluation: Evaluation) -> dict[str, list[float]]:
    """signal -> the signed limits of its deciding vs_baseline rules with data (a mean has a drop and a
    rise rule: one chart, both limits), in rule order."""
    limits: dict[str, list[float]] = {}
    for result in evaluation.verdict.workspace_rules:
        rule = result.rule
        if (rule.signal not in RATE_FRAMES and rule.signal not in MEAN_FRAMES) \
                or not rule.comparison.startswith("vs_baseline") or result.status is RuleStatus.NO_DATA:
            continue
        sign = 1 if rule.comparison.endswith("increase") else -1
        limits.setdefault(rule.signal, []).append(sign * rule.threshold)
    return limits


def _trajectory_chart(inputs: CanaryInputs, signal: str, limits: tuple[float, ...]) -> go.Figure | None:
    """The signal's trajectory chart, built once per gathered inputs (ui.canary shares one CanaryInputs per
    window across reruns and sessions, so a rerun draws the same figure without recomputing it); None
    without points. Kept on the inputs object itself: it lives exactly as long as the data it shows."""
    memo = inputs.__dict__.setdefault("_trajectory_charts", {})
    if (signal, limits) not in memo:
        points = did_trajectory(inputs.frames, signal, split=inputs.spec.split, end=inputs.spec.end,
                                bucket_seconds=inputs.bucket_seconds)
        scale, unit = (1, "confidence") if signal in MEAN_FRAMES else (100, "pts")
        memo[(signal, limits)] = None if points.empty else trajectory_figure(
            points, title=f"{signal}: DiD delta as the watch went on", threshold=list(limits),
            split=inputs.spec.split, scale=scale, unit=unit)
    return memo[(signal, limits)]


def trajectories(evaluation: Evaluation, inputs: CanaryInputs) -> None:
    """One chart per deciding rate or mean signal with data: how its delta and interval moved as the
    watch went on, with its rollback limit(s) and the split."""
    shown = 0
    for signal, limits in _charted_limits(evaluation).items():
        figure = _trajectory_chart(inputs, signal, tuple(limits))
        if figure is None:
            continue
        st.plotly_chart(figure, width="stretch", key=f"cw_traj_{signal}")
        shown += 1
    if shown:
        st.caption("Each point: the canary's [split, t) against its mirrored baseline, minus the control's change, "
                   f"at {inputs.bucket_seconds // 60}-minute resolution, with the always-valid interval that "
                   "stays valid however often the page looks.")


def download(packet: Packet, key: str) -> None:
    st.download_button("Download the evidence packet (zip)", packet_zip(packet), file_name=packet_name(packet),
                       mime="application/zip", icon=":material/download:", key=key)
    st.caption(f"{len(packet.files)} files (reports, offload snapshot, rollback check if any, manifest.json); "
               f"content hash {packet.content_hash[:16]}…")


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
