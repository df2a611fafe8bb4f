"""Audit log (super_admin, operator): every rollout change made through canarywatch, filterable."""

from __future__ import annotations

import streamlit as st

from auth.roles import OPERATORS
from queries import audit
from ui import filters, layout
from ui.data import cached

layout.page_setup("Audit log", "Every toggle and budget change made through canarywatch: who, when (UTC), "
                  "old → new, and why. These are also the rollout events marked on every chart.", roles=OPERATORS)
window = filters.sidebar(channel=False)
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
        shown["changed_at"] = shown["changed_at"].dt.strftime("%Y-%m-%d %H:%M:%S UTC")
        st.dataframe(shown[["changed_at", "workspace_name", "workspace", "field", "old_value", "new_value", "actor",
                            "reason"]], hide_index=True, width="stretch",
                     column_config={"changed_at": "changed at (UTC)", "workspace_name": "workspace name",
                                    "old_value": "old", "new_value": "new"})
        total = int(facets["changes"].sum())
        capped = f" (the newest {audit.MAX_ROWS})" if len(entries) == audit.MAX_ROWS else ""
        st.caption(f"{len(entries)} shown{capped} of {total} changes in {window.label()}. "
                   f"{audit.audit_entries.describes}")
layout.freshness_bar()
