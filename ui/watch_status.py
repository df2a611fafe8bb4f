"""`canarywatch watch` on the pages: failed notification deliveries and the configured targets (Overview),
the verdict history of a canary (canary page, Overview), and the "roll back automatically" arming
control (canary page, super admins).

The webhook URLs are secrets: a page shows a target as its kind, scheme and host only.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from analysis.canary.active import ActiveCanary
from analysis.watch_state import rule_timeline
from auth.roles import Role
from auth.session import User
from db.config import ConfigError, process_settings
from queries import watch
from queries.filters import Window
from rollout.arming import set_armed
from rollout.notify import Target, targets
from rollout.service import WriteRefused
from ui import filters, tables
from ui.context import app_context
from ui.data import cached
from ui.safe import plain

FAILURE_DAYS = 7


def configured_targets() -> tuple[Target, ...]:
    try:
        settings = process_settings()
    except ConfigError:
        return ()
    secret = (settings.slack_webhook_urls, settings.webhook_urls)
    return targets(*(s.get_secret_value() if s is not None else None for s in secret))


def failure_rows(failures: pd.DataFrame, names: dict[str, str], shown: dict[str, str]) -> pd.DataFrame:
    """The failures as the Overview lists them: workspace name, target (masked), attempts, last error."""
    rows = [{"when (UTC)": f"{pd.Timestamp(r['updated_at']):%Y-%m-%d %H:%M}",
             "workspace": names.get(r["workspace"], r["workspace"]),
             "target": shown.get(r["target"], str(r["target"]).split(":", 1)[0] + " (no longer configured)"),
             "attempts": int(r["attempts"]), "last error": r["last_error"] or "—"}
            for r in failures.to_dict("records")]
    return pd.DataFrame(rows, columns=["when (UTC)", "workspace", "target", "attempts", "last error"])


def watch_status_section() -> None:
    """Notification targets and the deliveries that failed in the last FAILURE_DAYS days."""
    now = filters.now_minute()
    configured = configured_targets()
    st.subheader("Canary notifications")
    if configured:
        st.caption("Webhook targets: " + ", ".join(f"{t.kind} {plain(t.masked)}" for t in configured))
    else:
        st.caption("No webhook configured (CANARYWATCH_SLACK_WEBHOOK_URLS, CANARYWATCH_WEBHOOK_URLS): "
                   "`canarywatch watch` stores verdicts but notifies no one.")
    failures = cached(watch.delivery_failures, Window(now - timedelta(days=FAILURE_DAYS), now))
    if failures.empty:
        st.caption(f"No failed notification delivery in the last {FAILURE_DAYS} days.")
        return
    names_frame = filters.workspace_names()
    names = dict(zip(names_frame["workspace"], names_frame["name"], strict=True))
    shown = {t.id: f"{t.kind} {t.masked}" for t in configured}
    st.warning(f"{len(failures)} notification deliver{'y' if len(failures) == 1 else 'ies'} failed in the last "
               f"{FAILURE_DAYS} days: the receivers did not get these state changes.", icon=":material/sms_failed:")
    tables.show(failure_rows(failures, names, shown))  # cells are text


VERDICT_COLOURS = {"PASS": "#2e7d32", "MARGINAL": "#ef6c00", "FAIL": "#c62828", "INSUFFICIENT_DATA": "#9e9e9e",
                   "PLATFORM_INCIDENT": "#6a1b9a"}


def history_frames(history: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per stored look: time and verdict; one row per rule: first tripped, recovered)."""
    looks = pd.DataFrame([{"evaluated (UTC)": at, "verdict": verdict} for at, verdict, _ in history],
                         columns=["evaluated (UTC)", "verdict"])
    spans = rule_timeline([(at, status) for at, _, status in history])
    rules = pd.DataFrame([{"rule": s.rule, "first tripped (UTC)": f"{s.first_tripped:%Y-%m-%d %H:%M}",
                           "recovered (UTC)": f"{s.recovered:%Y-%m-%d %H:%M}" if s.recovered else "not yet"}
                          for s in spans], columns=["rule", "first tripped (UTC)", "recovered (UTC)"])
    return looks, rules


def verdict_history_section(canary: ActiveCanary) -> None:
    """The watch's verdicts since the split as a strip, and when each rule first tripped and recovered."""
    import plotly.graph_objects as go

    from analysis.watch_state import canary_key

    try:
        with app_context().read.connect() as conn:
            history = watch.canary_history(conn, canary_key(canary.workspace, canary.field, canary.since))
    except SQLAlchemyError as exc:
        st.caption(f"Verdict history unavailable ({type(exc).__name__}).")
        return
    st.subheader("Verdict history (canarywatch watch)")
    if not history:
        st.caption("No stored verdict yet: `canarywatch watch` stores one per interval while it runs.")
        return
    looks, rules = history_frames(history)
    figure = go.Figure(go.Scatter(
        x=looks["evaluated (UTC)"], y=[0] * len(looks), mode="markers", showlegend=False,
        marker={"symbol": "square", "size": 14, "color": [VERDICT_COLOURS.get(v, "#9e9e9e") for v in looks["verdict"]]},
        text=looks["verdict"], hovertemplate="%{x|%Y-%m-%d %H:%M} UTC: %{text}<extra></extra>"))
    figure.update_layout(height=120, margin={"l": 10, "r": 10, "t": 10, "b": 30},
                         yaxis={"visible": False}, title=None)
    st.plotly_chart(figure, width="stretch", key=f"cw_watch_history_{canary.workspace}_{canary.field}")
    st.caption(f"{len(looks)} stored look(s); latest {looks['verdict'].iloc[-1]}.")
    if not rules.empty:
        tables.show(rules)


def arming_control(user: User, canary: ActiveCanary, key: str = "cw_watch_arm") -> None:
    """A super admin arms or disarms the automatic rollback of this active canary (audited)."""
    if Role.SUPER_ADMIN not in user.roles:
        return
    from analysis.watch_state import canary_key

    with app_context().read.connect() as conn:
        try:
            armed = watch.is_armed(conn, canary_key(canary.workspace, canary.field, canary.since))
        except SQLAlchemyError:
            armed = False
    with st.form(key):
        st.markdown(f"**Roll back automatically:** {'armed' if armed else 'not armed'}. When armed, "
                    "`canarywatch watch` turns this field off in this workspace if a critical workspace rule "
                    "trips and the verdict is FAIL (never on too little data or a platform incident).")
        reason = st.text_input("Reason (recorded in the audit log)", max_chars=500)
        if st.form_submit_button("Disarm" if armed else "Arm"):
            try:
                set_armed(app_context().write, user, canary.workspace, canary.field, armed=not armed, reason=reason)
            except WriteRefused as exc:
                st.error(plain(str(exc)))
            else:
                st.success(f"Automatic rollback {'disarmed' if armed else 'armed'}.")
