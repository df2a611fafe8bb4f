"""The offload monitoring snapshot on both backends: a growing-then-draining queue and a >10% failing
function, every number worked out by hand from the planted rows, and two exports byte-identical."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

import canarywatch_cli
from analysis.offload_snapshot import build_snapshot, snapshot_file
from analysis.rules import RuleStatus, load_rules
from demo.sentinels import PII_EMAIL, PII_MARK
from queries import offload_snapshot as q
from tests.pages_support import open_page, warnings
from tests.seed import at

RULES = load_rules()
GROWING, DRAINING = at(), at(minutes=30)  # T0 12:00 (the queue grows) and T0 12:30 (it drains)


def plant(seed) -> None:
    """ws-a (INBOXXIA through bison-a): one event arrives every 5 minutes from 11:58 to 12:28 and waits,
    then from 12:29 they are worked off one by one (E4 fails), E7 stays PENDING. ws-b (CRM): one event
    PENDING since 11:50, one RUNNING since 12:02. Unresolved: an INBOXXIA row carrying a Client.id.
    Functions: [12:00, 12:30) cron-followups 2 of 10 failed, process-background-jobs 1 of 10 (exactly
    10%: not over); [12:30, 13:00) cron-followups 1 of 10."""
    seed.workspace("ws-a", bison="bison-a")
    seed.workspace("ws-b")

    def inboxxia(created, **kw):
        seed.webhook(provider="INBOXXIA", workspace_id="bison-a", created=at(minutes=created), **kw)

    inboxxia(-60, started_at=at(minutes=-59), finished_at=at(minutes=-58))  # E0: done long before
    for created, started, finished, status in ((-2, 29, 33, "SUCCEEDED"), (3, 36, 38, "SUCCEEDED"),
                                               (8, 41, 43, "SUCCEEDED"), (13, 44, 46, "FAILED"),
                                               (18, 51, 53, "SUCCEEDED"), (23, 56, 58, "SUCCEEDED")):
        inboxxia(created, started_at=at(minutes=started), finished_at=at(minutes=finished), status=status)
    inboxxia(28, status="PENDING", attempts=0)  # E7
    seed.webhook(provider="CRM", workspace_id="ws-b", created=at(minutes=-10), status="PENDING", attempts=0)
    seed.webhook(provider="CRM", workspace_id="ws-b", created=at(minutes=1), started_at=at(minutes=2),
                 status="RUNNING")
    seed.webhook(provider="INBOXXIA", workspace_id="ws-b", created=at(minutes=10), status="PENDING", attempts=0)
    for i in range(10):
        seed.function_run(function="cron-followups", started=at(minutes=i), status="FAILED" if i < 2 else "SUCCEEDED")
        seed.function_run(function="process-background-jobs", started=at(minutes=i),
                          status="FAILED" if i == 0 else "SUCCEEDED")
        seed.function_run(function="cron-followups", started=at(minutes=30 + i),
                          status="FAILED" if i == 0 else "SUCCEEDED")
    seed.function_run(function="cron-followups", started=at(minutes=-1), status="FAILED")  # before both windows


def snapshot(db, t0: datetime, workspaces=None):
    window = q.snapshot_window(t0)
    moments = q.instants(window)
    return build_snapshot(q.webhook_status_at_instants(db.conn, window), q.function_run_totals(db.conn, window),
                          instants=moments, rules=RULES, workspaces=workspaces)


def rows_of(markdown: str, heading: str) -> list[str]:
    """The table body lines (below the header and its rule) of the section under `heading`."""
    section = markdown.split(heading, 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")][2:]


def test_growing_queue_and_failing_function_from_t0_to_t0_plus_30m(db):
    plant(db.seed)
    s = snapshot(db, GROWING)
    # platform at 12:00: E1 and ws-b's 11:50 event PENDING, E0 SUCCEEDED; at 12:30: E2..E7, the ws-b
    # 11:50 event and the unresolved 12:10 one PENDING (8), E1 (started 12:29) and ws-b's 12:02 RUNNING (2)
    assert s.platform.counts[0] == (2, 0, 0, 1) and s.platform.counts[-1] == (8, 2, 0, 1)  # P, R, F, S
    # depth per 5 minutes: ws-a 1..7 + ws-b 1,2,2,.. + unresolved from 12:15 (created 12:10 is not before 12:10)
    assert s.platform.depth == (2, 4, 5, 7, 8, 9, 10)
    assert s.platform.depth_ratio == pytest.approx(10 / 2)
    assert s.platform.grew_every_step and s.platform.growth.status is RuleStatus.TRIPPED
    ws_a, ws_b = s.workspaces
    assert (ws_a.scope, ws_a.depth, ws_a.depth_ratio) == ("ws-a", (1, 2, 3, 4, 5, 6, 7), 7.0)
    assert ws_a.growth.status is RuleStatus.TRIPPED
    assert (ws_b.scope, ws_b.depth) == ("ws-b", (1, 2, 2, 2, 2, 2, 2))  # one step up, then flat: not growing
    assert ws_b.growth.status is RuleStatus.OK
    assert s.unresolved_open == (0, 1)
    lines = {f.function: (f.total_runs, f.failures, f.failure_ratio, f.result.status) for f in s.functions}
    assert lines == {"cron-followups": (10, 2, 0.2, RuleStatus.TRIPPED),  # 2 / 10 > 0.10
                     "process-background-jobs": (10, 1, 0.1, RuleStatus.OK)}  # 1 / 10 is not over 0.10
    assert s.breached == ["webhook depth growth platform-wide", "webhook depth growth ws-a",
                          "function failure ratio cron-followups"]


def test_draining_queue_from_t0_to_t0_plus_30m(db):
    plant(db.seed)
    s = snapshot(db, DRAINING)
    # 13:00: E7, ws-b's 11:50 and the unresolved event PENDING; ws-b's 12:02 RUNNING; E4 FAILED; E0-E3, E5, E6 SUCCEEDED
    assert s.platform.counts[0] == (8, 2, 0, 1) and s.platform.counts[-1] == (3, 1, 1, 6)
    assert s.platform.depth == (10, 9, 8, 7, 6, 5, 4)
    assert s.platform.depth_ratio == pytest.approx(4 / 10)
    ws_a = s.workspaces[0]
    # 12:45: E4 started 12:44 and not finished until 12:46 is RUNNING; E5, E6, E7 PENDING
    assert [ws_a.counts[i][:2] for i in range(7)] == [(6, 1), (6, 0), (5, 0), (3, 1), (3, 0), (2, 0), (1, 0)]
    assert ws_a.depth_ratio == pytest.approx(1 / 7)
    assert all(q.growth.status is RuleStatus.OK for q in (s.platform, *s.workspaces))
    assert [(f.function, f.total_runs, f.failures, f.result.status) for f in s.functions] == [
        ("cron-followups", 10, 1, RuleStatus.OK)]
    assert s.breached == []


def test_the_markdown_carries_the_numbers_and_marks(db):
    plant(db.seed)
    name, content = snapshot_file(snapshot(db, GROWING))
    text = content.decode()
    assert name == "offload-monitoring-2026-02-18T12-00-00Z.md"
    assert text.startswith("# Offload monitoring snapshot, T0 2026-02-18 12:00:00 UTC\n\n"
                           "Window [2026-02-18 12:00:00, 2026-02-18 12:30:00) UTC.")
    assert rows_of(text, "## Threshold marks") == [
        "| webhook depth growth | platform-wide | BREACHED |", "| webhook depth growth | ws\\-a | BREACHED |",
        "| webhook depth growth | ws\\-b | ok |", "| function failure ratio | cron\\-followups | BREACHED |",
        "| function failure ratio | process\\-background\\-jobs | ok |"]
    assert rows_of(text, "## Webhook queue: Platform-wide") == [
        "| PENDING | 2 | 8 | +6 | 4.000 |", "| RUNNING | 0 | 2 | +2 | n/a |",
        "| FAILED | 0 | 0 | +0 | n/a |", "| SUCCEEDED | 1 | 1 | +0 | 1.000 |",
        "| depth (PENDING + RUNNING) | 2 | 10 | +8 | 5.000 |"]
    assert ("Depth every 5 minutes (UTC): 12:00:00 2, 12:05:00 4, 12:10:00 5, 12:15:00 7, 12:20:00 8, "
            "12:25:00 9, 12:30:00 10.") in text
    assert rows_of(text, "## Background function runs") == [
        "| cron\\-followups | 10 | 2 | 0.2000 | > 0.10 | **BREACHED** |",
        "| process\\-background\\-jobs | 10 | 1 | 0.1000 | > 0.10 | **ok** |"]
    assert PII_MARK not in text and PII_EMAIL not in text


def test_the_whole_file_is_the_expected_one_on_both_backends(db):
    """tests/data holds the expected file for the growing case (rules version left as a placeholder)."""
    plant(db.seed)
    name, content = snapshot_file(snapshot(db, GROWING))
    expected = (Path(__file__).parent / "data" / name).read_text(encoding="utf-8")
    assert content.decode("utf-8") == expected.replace("RULES_VERSION", RULES.version)


def test_only_the_chosen_workspace_section_and_t0_to_the_second(db):
    plant(db.seed)
    t0 = at(minutes=-30) + timedelta(seconds=38, microseconds=500)  # 11:30:38.0005, cut to 11:30:38
    s = snapshot(db, t0, workspaces=["ws-b"])
    assert s.file_name == "offload-monitoring-2026-02-18T11-30-38Z.md"
    assert [q.scope for q in s.workspaces] == ["ws-b"]
    # ws-b, instants 11:30:38 .. 12:00:38: the 11:50 event is there from 11:50:38; the 12:01 one is after the end
    assert s.workspaces[0].depth == (0, 0, 0, 0, 1, 1, 1)
    assert s.workspaces[0].growth.status is RuleStatus.OK
    assert "Per-workspace sections: the chosen workspaces (ws\\-b)." in snapshot_file(s)[1].decode()


def cli(db, out, *args: str) -> int:
    return canarywatch_cli.main(["offload-snapshot", "--database-url", db.backend.url, "--out", str(out), *args])


def test_command_writes_identical_files_twice_and_exits_by_the_marks(db, tmp_path, capsys):
    plant(db.seed)
    assert cli(db, tmp_path / "one", "--t0", "2026-02-18T12:00:00Z") == 1
    assert cli(db, tmp_path / "two", "--t0", "2026-02-18T12:00:00Z") == 1
    name = "offload-monitoring-2026-02-18T12-00-00Z.md"
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == [name]
    assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert (tmp_path / "one" / name).read_bytes() == snapshot_file(snapshot(db, GROWING))[1]
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("BREACHED: webhook depth growth platform-wide; webhook depth growth ws-a; "
                       "function failure ratio cron-followups")
    assert cli(db, tmp_path / "three", "--t0", "2026-02-18T12:30:00Z", "--workspace", "ws-a") == 0
    assert capsys.readouterr().err.strip().splitlines()[-1] == "OK: no threshold breached"


@pytest.mark.parametrize("args", [("--t0", "yesterday"), ("--t0", "2026-02-18T12:00:00Z", "--workspace", "ws-nope")])
def test_bad_input_exits_3_and_writes_nothing(db, tmp_path, capsys, args):
    plant(db.seed)
    assert cli(db, tmp_path / "out", *args) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert not (tmp_path / "out").exists()


def test_unreachable_database_exits_3(tmp_path, capsys):
    code = canarywatch_cli.main(["offload-snapshot", "--t0", "2026-02-18T12:00:00Z", "--database-url",
                                 "postgresql+psycopg://postgres@127.0.0.1:1/none", "--out", str(tmp_path)])
    assert code == 3
    assert "database unreachable" in capsys.readouterr().err


def test_growth_then_drain_inside_one_window_is_not_a_breach(db):
    plant(db.seed)
    s = snapshot(db, at(minutes=10))  # [12:10, 12:40): four steps up, then E1 (12:33) and E2 (12:38) finish
    assert s.workspaces[0].depth == (3, 4, 5, 6, 7, 6, 5)
    assert s.platform.depth == (5, 7, 8, 9, 10, 9, 8)
    assert not s.platform.grew_every_step and s.platform.growth.status is RuleStatus.OK
    assert "Grew at every 5-minute step for 30 minutes: no." in snapshot_file(s)[1].decode()


def test_offload_page_button_downloads_the_same_file(db, monkeypatch):
    """Prepare, then download: the file the page hands out is the command's file, byte for byte."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    plant(db.seed)
    served: dict[str | None, bytes] = {}
    keep = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):  # records what the browser would receive
        served[filename] = path_or_data
        return keep(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    app = open_page(db.backend.url, "pages/offload.py", monkeypatch)
    assert not app.exception, app.exception
    snapshot_buttons = [b for b in app.download_button if b.label.startswith("Download offload-monitoring")]
    assert not snapshot_buttons  # nothing is read until the snapshot is asked for (the charts have their CSVs)
    app.datetime_input(key="cw_offload_snapshot_t0").set_value(datetime(2026, 2, 18, 12, 0)).run()
    next(b for b in app.button if b.label == "Prepare the snapshot").click()
    app.run()
    assert not app.exception, app.exception
    name = "offload-monitoring-2026-02-18T12-00-00Z.md"
    assert [b.label for b in app.download_button if b.label != "CSV"] == [f"Download {name}"]
    assert served[name] == snapshot_file(snapshot(db, GROWING))[1]
    assert warnings(app) == ["Thresholds breached: webhook depth growth platform\\-wide; webhook depth growth "
                             "ws\\-a; function failure ratio cron\\-followups"]
