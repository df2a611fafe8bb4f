"""Which canaries are active (pure, hand-built frames) and the table/links the Overview shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis.canary.active import ActiveCanary, active_canaries, confounders, majority
from tests.auth_support import auth_env
from ui.canary_status import link_params

T = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)
BUNDLE, REVISION, GATE = "leadContextBundleEnabled", "autoSendRevisionEnabled", "followupBookingGateEnabled"


def settings(*rows: dict) -> pd.DataFrame:
    base = {BUNDLE: False, REVISION: False, GATE: False}
    return pd.DataFrame([{**base, **row} for row in rows])


def changes(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame([{"changed_at": pd.Timestamp(at.replace(tzinfo=None)), "workspace": ws, "field": f,
                          "old_value": "false", "new_value": new, "actor": who, "reason": "r"}
                         for at, ws, f, new, who in rows])


FLEET = settings({"workspace": "a", BUNDLE: True, REVISION: True}, {"workspace": "b"}, {"workspace": "c"},
                 {"workspace": "d", BUNDLE: True}, {"workspace": "e"})


def test_enabled_against_the_majority_is_active_with_its_own_enabling_change():
    log = changes((T - timedelta(days=3), "d", BUNDLE, "true", "bob"),
                  (T - timedelta(hours=5), "a", BUNDLE, "true", "alice"),
                  (T - timedelta(hours=5), "a", REVISION, "true", "alice"),
                  (T - timedelta(hours=1), "b", BUNDLE, "true", "carol"),  # switched on ...
                  (T - timedelta(minutes=30), "b", BUNDLE, "false", "carol"))  # ... and off again: not active
    found = active_canaries(FLEET, log, end=T)
    assert [(c.workspace, c.field, c.since, c.actor) for c in found] == [
        ("a", REVISION, T - timedelta(hours=5), "alice"),  # the same instant: by field name
        ("a", BUNDLE, T - timedelta(hours=5), "alice"),
        ("d", BUNDLE, T - timedelta(days=3), "bob"),
    ]
    assert found[1].confounded == f"confounded: {BUNDLE} and {REVISION} changed together"
    assert found[2].confounded == ""


def test_a_field_on_in_most_workspaces_is_the_fleet_not_a_canary():
    fleet = settings({"workspace": "a", BUNDLE: True}, {"workspace": "b", BUNDLE: True}, {"workspace": "c"})
    assert majority(fleet, BUNDLE) is True
    assert active_canaries(fleet, changes(), end=T) == []
    tie = settings({"workspace": "a", BUNDLE: True}, {"workspace": "b"})
    assert majority(tie, BUNDLE) is False  # a tie reads as upstream's default (off)


def test_enabled_without_an_audit_record_is_listed_with_no_start():
    found = active_canaries(settings({"workspace": "a", GATE: True}, {"workspace": "b"}, {"workspace": "c"}),
                            changes(), end=T)
    assert found == [ActiveCanary("a", GATE, None, None)]
    assert link_params(found[0]) == {"ws": "a", "field": GATE}


def test_changes_outside_the_window_do_not_confound():
    log = changes((T - timedelta(hours=2), "a", BUNDLE, "true", "x"),
                  (T - timedelta(hours=5), "a", REVISION, "true", "x"),  # before the 2 h baseline
                  (T - timedelta(hours=3), "a", GATE, "true", "x"))  # inside the baseline
    assert confounders(log, "a", BUNDLE, T - timedelta(hours=2), T) == (GATE,)


def test_link_carries_the_workspace_its_own_split_and_field():
    params = link_params(ActiveCanary("ws-a", BUNDLE, T, "alice"))
    assert params == {"ws": "ws-a", "field": BUNDLE, "split": "2026-02-18T12:00:00Z"}


def _section() -> None:
    from auth.roles import Role
    from ui.canary_status import active_canaries_section

    active_canaries_section(frozenset({Role.ANALYST}))  # an analyst may not open the canary page: no links


@pytest.fixture
def env(demo_db, monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    for key, value in auth_env(demo_db.backend.url).items():
        monkeypatch.setenv(key, value)
    yield demo_db
    st.cache_data.clear()
    st.cache_resource.clear()


def test_active_canaries_section_renders_the_demo_canaries_with_their_verdicts(env):
    story = env.story
    app = AppTest.from_function(_section, default_timeout=120).run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    acme = table[table["workspace"] == story.name_of[story.canary]].set_index("field")
    assert acme.loc[BUNDLE, "since (UTC)"] == f"{story.rollout_at:%Y-%m-%d %H:%M}"
    assert acme.loc[BUNDLE, "by"] == "demo-seed"
    assert acme.loc[BUNDLE, "verdict"] == "FAIL", table.to_string()
    assert acme.loc[BUNDLE, "worst"] == "needs_review_rate_increase"
    assert acme.loc[BUNDLE, "changed with"] == REVISION and acme.loc[REVISION, "changed with"] == BUNDLE
    assert app.get("page_link") == []
