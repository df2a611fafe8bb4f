"""The overview (AppTest, both backends): kill switches and where they were read, the effective state,
the health cards of the chosen window with their hints worked out from planted rows (significance and
the worst workspace included), the per-workspace table, the links that keep the filters or preselect a
workspace, the Window and Workspaces filters, empty and database-down states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from scipy import stats

from auth.roles import Role
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



def table_with(app, column: str):
    """The first table on the page with this column (the active canaries table may come first)."""
    return next(d.value for d in app.dataframe if column in d.value.columns)

def test_kill_switch_overrides_a_stored_toggle_and_says_where_it_was_read(db, monkeypatch):
    plant(db.seed)
    monkeypatch.setenv("AUTO_SEND_REVISION_DISABLED", "1")
    monkeypatch.delenv("CANARYWATCH_UPSTREAM_ENV_FILE", raising=False)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert subheaders(app)[:6] == ["Active canaries", "Health in this window, all chosen workspaces",
                                   "Health per workspace", "Kill switches", "Rollout state per workspace",
                                   "Open the details of one workspace"]
    switches = table_with(app, "switch").set_index("switch")
    assert switches.loc["AUTO_SEND_REVISION_DISABLED", "engaged"] == "yes"
    assert switches.loc["AUTO_SEND_DISABLED", "value"] == "unset"
    assert any(c.value.startswith("Read from the dashboard's own environment") for c in app.caption)
    toggles = table_with(app, "settings row").set_index("workspace")
    assert toggles.loc["ws-a", "autoSendRevisionEnabled"] == (
        "on · NOT in effect (overridden by AUTO_SEND_REVISION_DISABLED)")
    assert toggles.loc["ws-a", "leadContextBundleEnabled"] == "on · in effect"
    assert toggles.loc["ws-b", "autoSendRevisionEnabled"] == "off"


def test_areas_show_the_last_24_hours_with_their_hint(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert not app.exception, app.exception
    assert not errors(app)
    # needs_review: now 10 / 21 = 47.6%, before 2 / 20 = 10%: +37.6 points, significant -> red
    assert card(app, "needs_review rate") == (":red[:material/circle: act] · **needs_review rate**", "### 47.6%")
    # the p-value: the two-proportion z-test is the uncorrected chi-square test of the 2x2 table
    p_value = stats.chi2_contingency([[10, 11], [2, 18]], correction=False).pvalue
    assert f"37.6 points worse than the previous window (p = {p_value:.2g})" in captions_of(app), captions_of(app)
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
    details = [link.proto for link in app.get("page_link") if link.proto.label == "Details"]
    assert len(details) == 8, details  # one "Details" link per area
    assert {p.page.rstrip("/").rsplit("/", 1)[-1].removesuffix(".py") for p in details} == {
        "confidence", "overseer", "revision", "bundle", "booking", "offload"}, details
    # each opens its page on the same filters
    assert all(parse_qs(p.query_string) == {"window": ["24h"]} for p in details), [p.query_string for p in details]


def test_per_workspace_table_by_name(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    table = table_with(app, "needs_review rate")
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


def captions_of(app) -> str:
    return "\n".join(c.value for c in app.caption)


def test_the_window_filter_applies_and_the_links_carry_it(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    app.selectbox(key="cw_filter_window").set_value("7d").run()
    assert not app.exception, app.exception
    # the last 7 days hold both days: ws-a 12 needs_review of 40, ws-b 0 of 1 -> 12 / 41 = 29.3%
    assert card(app, "needs_review rate")[1] == "### 29.3%"
    assert app.query_params["window"] == "7d"
    details = [link.proto for link in app.get("page_link") if link.proto.label == "Details"]
    assert {p.query_string for p in details} == {"window=7d"}


def test_a_move_past_the_threshold_that_is_noise_is_not_red(db, monkeypatch):
    """3 of 20 needs_review now against 1 of 20 before: +10 points (the red threshold), but Fisher's exact
    test (an expected cell under 5) gives p = 0.6: green, with the p-value said."""
    db.seed.workspace("ws-a", name="Alpha", settings={})
    for i in range(20):
        db.seed.draft("ws-a", when=HOUR_AGO, action="needs_review" if i < 3 else "send_immediate", confidence=0.9)
        db.seed.draft("ws-a", when=DAY_AND_A_HALF_AGO, action="needs_review" if i < 1 else "send_immediate",
                      confidence=0.9)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    p_value = stats.fisher_exact([[3, 17], [1, 19]]).pvalue
    assert round(p_value, 2) == 0.6
    assert card(app, "needs_review rate") == (":green[:material/circle: fine] · **needs_review rate**", "### 15.0%")
    assert f"10.0 points worse than the previous window, not significant (p = {p_value:.2g})" in captions_of(app)


def test_a_red_workspace_is_not_hidden_behind_a_green_fleet(db, monkeypatch):
    """Alpha: 15 of 30 needs_review now, 3 of 30 before (+40 points, significant). Bravo: 220 sends each
    day. The fleet moves 12 / 250 = 4.8 points (under the 5-point line): green alone; the card is red."""
    db.seed.workspace("ws-a", name="Alpha", settings={})
    db.seed.workspace("ws-b", name="Bravo", settings={})
    for i in range(30):
        db.seed.draft("ws-a", when=HOUR_AGO, action="needs_review" if i < 15 else "send_immediate", confidence=0.9)
        db.seed.draft("ws-a", when=DAY_AND_A_HALF_AGO, action="needs_review" if i < 3 else "send_immediate",
                      confidence=0.9)
    for _ in range(220):
        db.seed.draft("ws-b", when=HOUR_AGO, action="send_immediate", confidence=0.9)
        db.seed.draft("ws-b", when=DAY_AND_A_HALF_AGO, action="send_immediate", confidence=0.9)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert card(app, "needs_review rate") == (":red[:material/circle: act] · **needs_review rate**", "### 6.0%")
    p_value = stats.chi2_contingency([[15, 15], [3, 27]], correction=False).pvalue
    assert (f"worst workspace Alpha at 50.0%: 40.0 points worse than the previous window (p = {p_value:.2g}) "
            "(fleet: within 5.0 points of the previous window, or better)") in captions_of(app), captions_of(app)


def test_a_workspace_failing_since_days_is_red_against_the_others(db, monkeypatch):
    """Alpha: 15 of 30 needs_review in both windows (no change); Bravo: 0 of 30 in both. The fleet did not
    move (green alone); Alpha is 50 points above the others in this window: red, named."""
    db.seed.workspace("ws-a", name="Alpha", settings={})
    db.seed.workspace("ws-b", name="Bravo", settings={})
    for i in range(30):
        for when in (HOUR_AGO, DAY_AND_A_HALF_AGO):
            db.seed.draft("ws-a", when=when, action="needs_review" if i < 15 else "send_immediate", confidence=0.9)
            db.seed.draft("ws-b", when=when, action="send_immediate", confidence=0.9)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    assert card(app, "needs_review rate") == (":red[:material/circle: act] · **needs_review rate**", "### 25.0%")
    p_value = stats.chi2_contingency([[15, 15], [0, 30]], correction=False).pvalue
    assert (f"worst workspace Alpha at 50.0%: 50.0 points worse than the other chosen workspaces "
            f"(p = {p_value:.2g})") in captions_of(app), captions_of(app)
    table = table_with(app, "needs_review rate")
    assert table.loc["Alpha", "needs_review rate"] == "50.0%"


def test_an_operator_opens_the_canary_view_of_a_workspace_and_an_analyst_is_not_offered_it(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch, role=Role.OPERATOR)
    app.selectbox(key="cw_overview_focus").set_value("ws-b").run()
    canary = [link.proto for link in app.get("page_link") if link.proto.label == "Canary"]
    assert len(canary) == 1 and canary[0].query_string == "ws=ws-b", canary
    analyst = open_page(db.backend.url, PAGE, monkeypatch)
    assert not [link for link in analyst.get("page_link") if link.proto.label == "Canary"]


def test_a_workspace_button_opens_the_detail_page_with_that_workspace_chosen(db, monkeypatch):
    plant(db.seed)
    app = open_page(db.backend.url, PAGE, monkeypatch)
    app.selectbox(key="cw_overview_focus").set_value("ws-b").run()
    app.button(key="cw_overview_open_Revision").click().run()
    assert not app.exception, app.exception
    assert app.title[0].value == "Auto-send revision"
    assert app.multiselect(key="cw_filter_workspaces").value == ["ws-b"]
    assert app.query_params["ws"] == "ws-b"


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
