"""Workspaces and their rollout settings (DATA_CONTRACT.md sections 1 and 2).

A workspace may have no WorkspaceSettings row: it is LEFT JOINed and upstream's column defaults are
applied, and `has_settings_row` says which case it was.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, case, func, literal, select

from db import catalog
from db import upstream as up
from queries.dialect import json_has
from queries.filters import Window
from queries.frame import query, read_frame

#: Upstream's defaults for the boolean rollout columns (a missing settings row behaves like these).
TOGGLE_DEFAULTS: dict[str, bool] = catalog.TOGGLE_DEFAULTS


@query("Workspaces (Client rows): id and name; the window does not apply.")
def workspace_list(conn: Connection, f: Window) -> pd.DataFrame:
    stmt = select(up.client.c.id.label("workspace"), up.client.c.name.label("name")).order_by(up.client.c.name)
    if f.workspaces:
        stmt = stmt.where(up.client.c.id.in_(f.workspaces))
    return read_frame(conn, stmt)


@query("Rollout settings per workspace as stored now (WorkspaceSettings, upstream defaults where no row).")
def workspace_settings(conn: Connection, f: Window) -> pd.DataFrame:
    """One row per workspace: every toggle, the revision/evaluator options and the budgets JSON.

    `budgets_state` is `unset` (SQL NULL or no row), `cleared` (the JSON literal null that upstream's
    "clear" stores) or `set`; `budgets` holds the parsed JSON when set.
    """
    ws = up.workspace_settings
    budgets = ws.c.leadContextBundleBudgets
    toggles = [
        func.coalesce(ws.c[name], literal(default)).label(name) for name, default in TOGGLE_DEFAULTS.items()
    ]
    stmt = (
        select(
            up.client.c.id.label("workspace"),
            up.client.c.name.label("name"),
            (ws.c.id.is_not(None)).label("has_settings_row"),
            *toggles,
            ws.c.autoSendRevisionModel.label("autoSendRevisionModel"),
            ws.c.autoSendRevisionReasoningEffort.label("autoSendRevisionReasoningEffort"),
            ws.c.autoSendRevisionMaxIterations.label("autoSendRevisionMaxIterations"),
            ws.c.autoSendEvaluatorModel.label("autoSendEvaluatorModel"),
            case((budgets.is_(None), "unset"), (json_has(budgets) == 0, "cleared"), else_="set").label(
                "budgets_state"
            ),
            budgets.label("budgets"),
            ws.c.updatedAt.label("settings_updated_at"),
        )
        .select_from(up.client.outerjoin(ws, ws.c.clientId == up.client.c.id))
        .order_by(up.client.c.name)
    )
    if f.workspaces:
        stmt = stmt.where(up.client.c.id.in_(f.workspaces))
    frame = read_frame(conn, stmt)
    for name in TOGGLE_DEFAULTS:
        frame[name] = frame[name].astype(bool)
    frame["has_settings_row"] = frame["has_settings_row"].astype(bool)
    frame.loc[frame["budgets_state"] != "set", "budgets"] = None
    return frame
