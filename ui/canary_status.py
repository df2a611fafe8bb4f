"""The active canaries table (for the Overview and the canary page): one row per workspace whose
rollout field is on against the fleet majority, with its current verdict and a link to its canary
window (query params ws / split / field: the workspace, its own split time, the field)."""

from __future__ import annotations

from datetime import UTC

import streamlit as st

from analysis.canary.active import ActiveCanary
from auth.roles import Role
from ui import canary, filters, tables
from ui.data import DataUnavailable
from ui.navigation import allowed, spec_for
from ui.safe import plain

CANARY_PAGE = "pages/canary.py"


def split_param(canary_: ActiveCanary) -> str:
    """The split as the URL carries it: ISO UTC with a Z (`2026-02-18T03:30:00Z`)."""
    assert canary_.since is not None
    return canary_.since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def link_params(canary_: ActiveCanary) -> dict[str, str]:
    params = {"ws": canary_.workspace, "field": canary_.field}
    if canary_.since is not None:
        params["split"] = split_param(canary_)
    return params


def active_canaries_section(roles: frozenset[Role] | None = None) -> list[ActiveCanary]:
    """Render the table and, for a user who may open the canary page, one link per canary.

    Returns the canaries shown (empty when none or when the database cannot be read)."""
    end = filters.now_minute()
    names_frame = filters.workspace_names()
    names = dict(zip(names_frame["workspace"], names_frame["name"], strict=True))
    try:
        canaries = canary.active(end)
        table = canary.active_table(canaries, end, names)
    except DataUnavailable as exc:
        st.warning(f"Active canaries unavailable: {exc}")
        return []
    st.subheader("Active canaries")
    if not canaries:
        st.info("No active canary: every rollout field matches the fleet majority in every workspace.")
        return []
    tables.show(table)  # table cells are text, never Markdown
    if roles is None or allowed(spec_for(CANARY_PAGE), roles):
        for c, row in zip(canaries, table.to_dict("records"), strict=True):
            label = f"{plain(names.get(c.workspace, c.workspace), limit=60)} · {c.field} · {row['verdict']}"
            st.page_link(CANARY_PAGE, label=label, icon=":material/emergency:", query_params=link_params(c))
    return canaries
