"""The overview (AppTest, both backends): kill switches and where they were read, the effective state,
the last-24h areas with their hints worked out from planted rows, the per-workspace table, the links
that preselect a workspace, the Workspaces filter, empty and database-down states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.pages_support import errors, infos, markdown, open_down, open_page, subheaders

PAGE = "pages/overview.py"
NOW = datetime.now(UTC)
HOUR_AGO, DAY_AND_A_HALF_AGO = NOW - timedelta(hours=1), NOW - timedelta(hours=30)


def plant(seed) -> None:
    """ws-a (Alpha): revision and bundle toggles on. Last 24 h: 20 evaluated drafts, 10 needs_review at
    0.5 and 10 send_immediate at 0.9; the 24 h before: 2 needs_review at 0.5 and 18 sends at 0.9.
    One INBOXXIA webhook event PENDING since 45 minutes. ws-b (Bravo): one send at 0.9, nothing before."""
    seed.workspace("ws-a", name="Alpha", bison="bison-a",
                   settings={"autoSendRevisionEnabled": True, "leadContextBundleEnabled": True})
    seed.workspace("ws-b", name="Bravo", settings={})
    for i in range(20):
        seed.draft("ws-a", when=HOUR_AGO, action="needs_review" if i < 10 else "send_immediate",
                   confidence=0.5 if i < 10 else 0.9)
        seed.draft("ws-a", when=DAY_AND_A_HALF_AGO, action="needs_review" if i < 2 else "send_immediate",
                   confidence=0.5 if i < 2 else 0.9)
    seed.draft("ws-b", when=HOUR_AGO, action="send_immediate", confidence=0.9)
    planted_at = datetime.now(UTC)  # not NOW: the module may be imported minutes before this test runs
    seed.webhook(provider="INBOXXIA", workspace_id="bison-a", created=planted_at - timedelta(minutes=50),
                 status="PENDING", run_at=planted_at - timedelta(minutes=45))


def card(app, title: str) -> tuple[str, str]:
    """(the hint line with the title, the value) of one area card."""
    lines = markdown(app)
    at = next(i for i, m in enumerate(lines) if m.endswith(f"**{title}**"))
    return lines[at], lines[at + 1]


def test_kill_switch_overrides_a_stored_toggle_and_says_where_it_was_read(db, monkeypatch):
    plant(db.seed)
    monkeypatch.setenv("AUTO_SEND_REVISION_DISABLED", "1")
    monkeypatch.delenv("CANARYWATCH_UPSTREAM_ENV_FILE", raising=False)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert subheaders(app)[:5] == ["Kill switches", "Rollout state per workspace",
                                   "Last 24 hours, all chosen workspaces", "Last 24 hours per workspace",
                                   "Open the details of one workspace"]
    switches = app.dataframe[0].value.set_index("switch")
    assert switches.loc["AUTO_SEND_REVISION_DISABLED", "engaged"] == "yes"
    assert switches.loc["AUTO_SEND_DISABLED", "value"] == "unset"
    assert any(c.value.startswith("Read from the dashboard's own environment") for c in app.caption)
    toggles = app.dataframe[1].value.set_index("workspace")
    assert toggles.loc["ws-a", "autoSendRevisionEnabled"] == (
        "on · NOT in effect (overridden by AUTO_SEND_REVISION_DISABLED)")
    assert toggles.loc["ws-a", "leadContextBundleEnabled"] == "on · in effect"
    assert toggles.loc["ws-b", "autoSendRevisionEnabled"] == "off"


def test_areas_show_the_last_24_hours_with_their_hint(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert not errors(app)
    # needs_review: now 10 / 21 = 47.6%, before 2 / 20 = 10%: +37.6 points -> red
    assert card(app, "needs_review rate") == (":red[:material/circle: act] · **needs_review rate**", "### 47.6%")
    # mean confidence: now (10 * 0.5 + 11 * 0.9) / 21 = 0.710, before (2 * 0.5 + 18 * 0.9) / 20 = 0.86 -> red
    assert card(app, "Mean auto-send confidence")[1] == "### 0.710"
    assert card(app, "Mean auto-send confidence")[0].startswith(":red[")
    # one due event whose runAt was 45 minutes ago: at least 30 -> red
    hint, value = card(app, "Webhook queue: due now")
    assert hint.startswith(":red[") and value.startswith("### 1 · oldest 4")
    # nothing recorded: grey, never green
    assert card(app, "Gate revise rate") == (":gray[:material/circle: too little data] · **Gate revise rate**",
                                              "### no data")
    assert card(app, "Function failure ratio (worst hour)")[0].startswith(":gray[")
    assert card(app, "Auto-book bookings") == (":gray[:material/circle: too little data] · **Auto-book bookings**",
                                                "### 0")
    links = [link.proto.page for link in app.get("page_link")]
    assert len(links) == 8, links  # one "Details" link per area
    assert {p.rstrip("/").rsplit("/", 1)[-1].removesuffix(".py") for p in links} == {
        "confidence", "overseer", "revision", "bundle", "booking", "offload"}, links


def test_per_workspace_table_by_name(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    table = app.dataframe[2].value
    assert list(table.index) == ["Alpha", "Bravo"]
    assert table.loc["Alpha", "needs_review rate"] == "50.0%"  # 10 / 20
    assert table.loc["Bravo", "needs_review rate"] == "0.0%"  # 0 / 1 (too few to judge: left uncoloured)
    assert table.loc["Alpha", "webhook events due"] == "1"
    assert table.loc["Bravo", "webhook events due"] == "–"


def test_workspaces_filter_narrows_the_areas(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    app.multiselect(key="cw_filter_workspaces").set_value(["ws-b"]).run()
    assert not app.exception, app.exception
    assert card(app, "needs_review rate")[1] == "### 0.0%"  # Bravo alone: 0 of 1
    assert card(app, "Webhook queue: due now")[1] == "### 0"


def test_a_workspace_button_opens_the_detail_page_with_that_workspace_chosen(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    app.selectbox(key="cw_overview_focus").set_value("ws-b").run()
    app.button(key="cw_overview_open_Revision").click().run()
    assert not app.exception, app.exception
    assert app.title[0].value == "Auto-send revision"
    assert app.multiselect(key="cw_filter_workspaces").value == ["ws-b"]


def test_an_empty_database_says_so(db, monkeypatch):
    db.seed.workspace("ws-a", name="Alpha", settings={})
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert not errors(app)
    assert card(app, "needs_review rate")[1] == "### no data"
    assert any(text.startswith("No activity in this window") for text in infos(app)), infos(app)


def test_a_database_that_is_down_gives_sentences_not_a_traceback(monkeypatch):
    app = open_down(PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert app.title[0].value == "Overview"
    shown = errors(app)
    assert shown and all("unreachable" in text for text in shown), shown
    assert "Kill switches" in subheaders(app)  # read from the environment, not the database
