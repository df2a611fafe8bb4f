"""Rollout toggles (super_admin): see the effective state, switch a toggle or edit budgets, audited."""

from __future__ import annotations

import ui.pages_mode  # noqa: F401  first: a deep link on a fresh process runs this file directly

# isort: split
import json
import zlib
from datetime import timedelta

import pandas as pd
import streamlit as st

from analysis.budgets import CLEAR, MAX_TEXT, BudgetError, effective_budgets, parse_budgets
from analysis.effective import effective_state, toggle_table
from auth.roles import SUPER_ADMINS
from auth.session import sign_out_everywhere
from auth.store import StateUnreachable
from queries import settings
from queries.filters import Window, as_utc
from rollout.killswitch import EnvFileError, read_kill_switches
from rollout.service import TOGGLE_FIELDS, StaleWrite, WriteFailed, WriteRefused, set_budgets, set_toggle
from ui import data, layout, tables
from ui.context import app_context
from ui.data import cached
from ui.navigation import may_open
from ui.safe import plain

DONE_KEY, RESULT_KEY = "cw_toggle_done", "cw_toggle_result"
#: what the previous run showed: a click acts on what the user saw, never on a value re-read since
SEEN_TOGGLE, SEEN_BUDGETS = "cw_toggle_seen", "cw_budgets_seen"
WORKSPACE, LINKED = "cw_toggle_workspace", "cw_toggle_linked_workspace"


def write_failed(exc: WriteFailed | StateUnreachable) -> None:
    """One sentence for a database failure during a write: the services' own words, never a driver message."""
    st.error(f"Not saved: {plain(exc, 400)}.", icon=":material/cloud_off:")


CANARY_LINK_KEY = "cw_toggle_canary_link"  # the canary view of the change just made (URL state)


def finish(message: str) -> None:
    """Keep the message across a rerun that starts the next change from an empty reason and confirmation."""
    st.session_state[DONE_KEY] = st.session_state.get(DONE_KEY, 0) + 1
    st.session_state[RESULT_KEY] = message
    for key in (SEEN_TOGGLE, SEEN_BUDGETS):  # our own change is not a change "made meanwhile"
        st.session_state.pop(key, None)
    data.refresh()
    st.rerun()


user = layout.page_setup(
    "Rollout toggles",
    "Turn a change on for one canary workspace, widen it, or pull it back. Every change asks for a reason and is "
    "recorded in the audit log (who, when, old → new, why).",
    roles=SUPER_ADMINS,
)
try:
    switches = read_kill_switches()
except EnvFileError as exc:
    st.error(str(exc))
    st.stop()
engaged = {name: s.engaged for name, s in switches.items()}

with layout.section("Kill switches"):
    st.subheader("Global env kill switches")
    tables.show(pd.DataFrame([{"switch": s.name, "value": s.raw if s.raw is not None else "unset",
                               "engaged": s.engaged, "read from": s.source} for s in switches.values()]))

with layout.section("Workspace settings"):
    frame = cached(settings.workspace_settings, Window.last(timedelta(minutes=1)))
    if frame.empty:
        layout.empty_state("workspaces")
        st.stop()
    st.subheader("Toggles per workspace")
    table = pd.DataFrame(toggle_table(frame.to_dict("records"), engaged))
    tables.show(table, height=min(35 * (len(table) + 1) + 3, 600),
                column_config=tables.toggle_columns())
    st.caption("Stored value, and whether it is in effect: a kill switch overrides a toggle, and the booking "
               "gate also needs the bundle in effect and autoBookMeetings on (DATA_CONTRACT.md section 2).")

    ids = list(frame["workspace"])
    names = dict(zip(frame["workspace"], frame["name"], strict=True))
    wanted = st.query_params.get("workspace")
    if wanted and wanted not in ids:  # never echoed: a link is anyone's text
        st.warning("The workspace in the link is not a known workspace: pick one below.")
    elif wanted and st.session_state.get(LINKED) != wanted:  # a new link (e.g. from the canary page) wins once
        st.session_state[LINKED] = st.session_state[WORKSPACE] = wanted
    if st.session_state.get(WORKSPACE) not in ids:
        st.session_state[WORKSPACE] = ids[0]
    # option texts are shown as plain text (not Markdown): only cut, so a 10 MB name cannot fill the page
    workspace = st.selectbox("Workspace", ids, format_func=lambda w: f"{str(names[w])[:80]} ({str(w)[:40]})",
                             key=WORKSPACE)
    row = frame.set_index("workspace").loc[workspace]
    if not row["has_settings_row"]:
        st.info("This workspace has no WorkspaceSettings row: upstream's defaults apply. The first change creates "
                "the row with those defaults, as upstream would.")

    st.subheader("Switch a toggle")
    form = st.session_state.get(DONE_KEY, 0)  # bumped after each write: fresh, empty widgets for the next one
    if result := st.session_state.pop(RESULT_KEY, None):
        st.success(result)
        if (link := st.session_state.pop(CANARY_LINK_KEY, None)) and may_open("pages/canary.py", user.roles):
            st.page_link("pages/canary.py", label="Watch this change in the canary view",
                         icon=":material/emergency:", query_params=link)
    field = st.selectbox("Setting", TOGGLE_FIELDS, key="cw_toggle_field")
    current = bool(row[field])
    seen = st.session_state.get(SEEN_TOGGLE)
    st.session_state[SEEN_TOGGLE] = (workspace, field, current)
    if seen and seen[:2] == (workspace, field) and seen[2] != current:
        st.warning(f"{field} was changed meanwhile: it is now {'on' if current else 'off'}. Nothing was written; "
                   "confirm again if you still want a change.")
    state = effective_state({f: bool(row[f]) for f in TOGGLE_FIELDS}, engaged)
    new = not current
    word = {True: "on", False: "off"}
    st.markdown(f"**{field}** is now **{word[current]}** for {plain(names[workspace])}"
                + (f" (in effect: {'yes' if state[field].effective else 'no'}, {state[field].why})"
                   if field in state else "") + f". The change: **{word[current]} → {word[new]}**.")
    reason = st.text_input("Reason (required)", key=f"cw_toggle_reason_{form}", max_chars=500)
    # the key names the exact change: a confirmation never carries over to another workspace, setting or value
    confirmed = st.checkbox(f"I confirm: switch {field} {word[new]} for {plain(names[workspace])}",
                            key=f"cw_toggle_confirm_{workspace}_{field}_{current}_{form}")
    ready = confirmed and bool(reason.strip())
    if st.button("Apply change", type="primary", disabled=not ready, key=f"cw_toggle_apply_{form}"):
        saw = seen[2] if seen and seen[:2] == (workspace, field) else current
        try:
            change = set_toggle(app_context().write, user, workspace, field, expected_old=saw, new=not saw,
                                reason=reason)
        except StaleWrite as exc:
            st.error(plain(exc, 400))
        except WriteRefused as exc:
            st.error(f"Refused: {plain(exc, 400)}. Nothing was written.")
        except WriteFailed as exc:
            write_failed(exc)
        else:
            finish(f"Done: {field} {word[change.old]} → {word[change.new]} for {plain(names[workspace])} at "
                   f"{change.at:%Y-%m-%d %H:%M:%S} UTC, recorded in the audit log.")
            st.session_state[CANARY_LINK_KEY] = {"ws": workspace, "field": field,
                                                 "split": as_utc(change.at).strftime("%Y-%m-%dT%H:%M:%SZ")}
        data.refresh()

    st.subheader("Lead-context bundle budgets")
    stored = row["budgets"] if row["budgets_state"] == "set" else None
    seen_budgets = st.session_state.get(SEEN_BUDGETS)
    st.session_state[SEEN_BUDGETS] = (workspace, stored)
    version = zlib.crc32(json.dumps(stored, sort_keys=True).encode())  # a new stored value resets the editor
    st.caption(f"Stored: {row['budgets_state']} (unset and cleared both mean upstream's defaults). Profiles: "
               "draft, revision, auto_send_evaluator, meeting_overseer_gate, followup_parse, followup_booking_gate; "
               "knowledge {maxTokens, maxAssetTokens}, memory {maxTokens, maxEntryTokens}; integers 0..20000.")
    text = st.text_area("Budgets JSON", json.dumps(stored, indent=2) if stored else "", height=180,
                        key=f"cw_budgets_{workspace}_{version}_{form}", max_chars=MAX_TEXT)
    budget_reason = st.text_input("Reason for the budgets change (required)", key=f"cw_budgets_reason_{form}",
                                  max_chars=500)
    save, clear = st.columns(2)
    action = None
    if save.button("Save budgets", disabled=not budget_reason.strip(), key=f"cw_budgets_save_{form}"):
        action = "save"
    if clear.button("Clear budgets (store JSON null)", disabled=not budget_reason.strip(),
                    key=f"cw_budgets_clear_{form}"):
        action = "clear"
    if action:
        try:
            new_budgets = CLEAR if action == "clear" else parse_budgets(text)
            saw_budgets = seen_budgets[1] if seen_budgets and seen_budgets[0] == workspace else stored
            set_budgets(app_context().write, user, workspace, expected_old=saw_budgets, new=new_budgets,
                        reason=budget_reason)
        except BudgetError as exc:
            st.error(f"Refused: {plain(exc, 400)}. Nothing was written.")
        except StaleWrite as exc:
            st.error(plain(exc, 400))
        except WriteRefused as exc:
            st.error(f"Refused: {plain(exc, 400)}. Nothing was written.")
        except WriteFailed as exc:
            write_failed(exc)
        else:
            finish("Budgets saved and recorded in the audit log." if action == "save"
                   else "Budgets cleared (JSON null stored) and recorded in the audit log.")
        data.refresh()
    with st.expander("Budgets upstream applies for this workspace"):
        merged = effective_budgets(stored)
        tables.show(pd.DataFrame([{"profile": p, "section": s, **limits} for p, secs in merged.items()
                                  for s, limits in secs.items()]))
with layout.section("Sessions"), st.expander("Sign a user out everywhere"):
    st.caption("Ends every session of that user on every replica sharing the database (a stolen or forgotten "
               "session cookie stops working at once); the user can sign in again with their password.")
    who = st.text_input("User to sign out (username)", key="cw_revoke_user", max_chars=100)
    if st.button("Sign out everywhere", disabled=not who.strip(), key="cw_revoke_apply"):
        try:
            sign_out_everywhere(app_context().write, who)
        except StateUnreachable as exc:
            write_failed(exc)
        else:
            st.success(f"Every session of {plain(who.strip().lower(), 100)} has ended.")
layout.freshness_bar()
