"""Audit log (super_admin, operator): every rollout change made through canarywatch, filterable, each
change leading to its canary view and its pre/post comparison (for the roles that may open them)."""

from __future__ import annotations

import ui.pages_mode  # noqa: F401  first: a deep link on a fresh process runs this file directly

# isort: split
from datetime import UTC
from urllib.parse import urlencode, urlparse

import pandas as pd
import streamlit as st

from analysis.rollback import is_disabling
from auth.roles import OPERATORS
from db.catalog import ROLLOUT_FIELDS
from queries import audit
from ui import filters, layout, rollback_view, tables
from ui.data import cached
from ui.navigation import may_open
from ui.safe import plain

CANARY, COMPARE = "pages/canary.py", "pages/compare.py"

user = layout.page_setup("Audit log", "Every toggle and budget change made through canarywatch: who, when (UTC), "
                         "old → new, and why. These are also the rollout events marked on every chart.",
                         roles=OPERATORS)
window = filters.sidebar(channel=False)


def change_params(row: pd.Series) -> tuple[dict[str, str], dict[str, str]]:
    """The query strings of the canary view and the pre/post compare for one change (split = its time)."""
    split = filters.iso_utc(row["changed_at"].to_pydatetime())
    return {"ws": row["workspace"], "split": split, "field": row["field"]}, {"ws": row["workspace"], "split": split}


def app_base() -> str:
    """The app's URL without the page path (links in a table need absolute URLs)."""
    url = urlparse(st.context.url or "")
    return url._replace(path=url.path.rstrip("/").rsplit("/", 1)[0], query="", fragment="").geturl()


with layout.section("Audit log"):
    facets = cached(audit.audit_facets, window)
    if facets.empty:
        layout.empty_state("changes")
    else:
        left, right = st.columns(2)
        fields = left.multiselect("Field", sorted(facets["field"].unique()), key="cw_audit_fields",
                                  placeholder="All fields")
        actors = right.multiselect("Changed by", sorted(facets["actor"].unique()), key="cw_audit_actors",
                                   placeholder="Everyone")
        entries = cached(audit.audit_entries, window, fields=tuple(sorted(fields)), actors=tuple(sorted(actors)))
        if entries.empty:
            st.info("No change matches these filters.", icon=":material/filter_alt_off:")
            st.stop()
        shown = filters.workspace_label(entries)
        links = [change_params(row) for _, row in entries.iterrows()]
        columns = ["changed_at", "workspace_name", "workspace", "field", "old_value", "new_value", "actor", "reason"]
        config = {"changed_at": "changed at (UTC)", "workspace_name": "workspace name", "old_value": "old",
                  "new_value": "new"}
        base = app_base()
        for path, name, title in ((CANARY, "canary view", "canary"), (COMPARE, "pre/post", "compare")):
            if may_open(path, user.roles):
                shown[name] = [f"{base}/{title}?{urlencode(p[0] if path == CANARY else p[1])}" for p in links]
                columns.insert(columns.index("workspace_name"), name)
                # sized for its header: the cells show "open ↗", not the URL the grid would measure
                config[name] = st.column_config.LinkColumn(name, display_text="open ↗", width=100)
        shown["changed_at"] = shown["changed_at"].dt.strftime("%Y-%m-%d %H:%M:%S UTC")
        picked = tables.show(shown[columns], column_config=config,
                             on_select="rerun", selection_mode="single-row", key="cw_audit_table")
        total = int(facets["changes"].sum())
        capped = f" (the newest {audit.MAX_ROWS})" if len(entries) == audit.MAX_ROWS else ""
        st.caption(f"{len(entries)} shown{capped} of {total} changes in {window.label()}. "
                   f"{audit.audit_entries.describes} Choose a row to open its views here, or use a link "
                   "column (new tab).")
        rows = picked.selection.rows if picked is not None else []
        if rows:
            row = entries.iloc[rows[0]]
            canary_params, compare_params = links[rows[0]]
            what = f"{plain(shown.iloc[rows[0]]['workspace_name'])} · {plain(row['field'])}"
            buttons = st.columns(3)
            buttons[0].markdown(f"**{what}** at {shown.iloc[rows[0]]['changed_at']}")
            if may_open(CANARY, user.roles):
                buttons[1].page_link(CANARY, label="Canary view of this change", icon=":material/emergency:",
                                     query_params=canary_params)
            if may_open(COMPARE, user.roles):
                buttons[2].page_link(COMPARE, label="Pre/post compare of this change",
                                     icon=":material/compare_arrows:", query_params=compare_params)
            if row["field"] in ROLLOUT_FIELDS and is_disabling(row["new_value"]):  # a toggle-off: did it work?
                verdict = rollback_view.check(str(row["workspace"]), str(row["field"]), filters.now_minute(),
                                              at=row["changed_at"].to_pydatetime().replace(tzinfo=UTC))
                if verdict is None:
                    st.caption("Rollback check: no enabling change of this field is recorded before this toggle-off.")
                else:
                    rollback_view.show(verdict)
layout.freshness_bar()
