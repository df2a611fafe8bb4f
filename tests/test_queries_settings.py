"""Workspace list and settings: defaults for a missing row, JSON null vs SQL NULL budgets."""

from queries import settings
from queries.filters import Window
from tests.seed import at

WINDOW = Window(at(hours=-1), at())
BUDGETS = {"draft": {"knowledge": {"maxTokens": 3000, "maxAssetTokens": 900}}}


def plant(db):
    db.seed.workspace("ws-a", name="Alpha",
                      settings={"leadContextBundleEnabled": True, "leadContextBundleBudgets": BUDGETS})
    db.seed.workspace("ws-b", name="Bravo")  # no settings row at all
    db.seed.workspace("ws-c", name="Charlie",
                      settings={"leadContextBundleBudgets": None, "meetingOverseerEnabled": False})


def test_missing_settings_row_shows_upstream_defaults(db):
    plant(db)
    frame = settings.workspace_settings(db.conn, WINDOW).set_index("workspace")
    bravo = frame.loc["ws-b"]
    assert bool(bravo["has_settings_row"]) is False
    assert bool(bravo["leadContextBundleEnabled"]) is False
    assert bool(bravo["meetingOverseerEnabled"]) is True
    assert bravo["budgets_state"] == "unset"


def test_budgets_distinguish_json_null_from_sql_null(db):
    plant(db)
    frame = settings.workspace_settings(db.conn, WINDOW).set_index("workspace")
    assert frame.loc["ws-a", "budgets_state"] == "set"
    assert frame.loc["ws-a", "budgets"] == BUDGETS
    assert frame.loc["ws-c", "budgets_state"] == "cleared"
    assert frame.loc["ws-c", "budgets"] is None
    assert bool(frame.loc["ws-c", "meetingOverseerEnabled"]) is False
    assert bool(frame.loc["ws-a", "leadContextBundleEnabled"]) is True


def test_workspace_filter_narrows_both_queries(db):
    plant(db)
    narrowed = Window(WINDOW.start, WINDOW.end, workspaces=("ws-c", "ws-a"))
    assert list(settings.workspace_list(db.conn, narrowed)["workspace"]) == ["ws-a", "ws-c"]
    assert list(settings.workspace_settings(db.conn, narrowed)["workspace"]) == ["ws-a", "ws-c"]
    assert list(settings.workspace_list(db.conn, WINDOW)["name"]) == ["Alpha", "Bravo", "Charlie"]
