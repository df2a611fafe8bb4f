"""`canarywatch check` end to end on both backends: exit codes, the packet, determinism, bad input."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta

import pytest

import canarywatch_cli
from demo.sentinels import PII_EMAIL, PII_MARK


@pytest.fixture
def demo(demo_db):
    return demo_db, demo_db.story


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run(db, tmp_path, *args: str) -> int:
    return canarywatch_cli.main(["check", "--database-url", db.backend.url, "--out", str(tmp_path), *args])


def test_canary_fails_with_exit_1_and_writes_an_identical_packet_twice(demo, tmp_path, capsys):
    db, story = demo
    end = story.rollout_at + timedelta(days=2)
    args = ("--workspace", story.canary, "--end", iso(end))  # split: the latest enabling change (audit log)
    assert run(db, tmp_path / "one", *args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("FAIL: ")
    assert run(db, tmp_path / "two", *args) == 1
    stamp = f"{story.canary}-{story.rollout_at:%Y-%m-%dT%H-%M-%SZ}-{end:%Y-%m-%dT%H-%M-%SZ}"
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    offload = f"offload-monitoring-{story.rollout_at:%Y-%m-%dT%H-%M-%SZ}.md"
    assert names == [f"baseline-{stamp}.md", "manifest.json", offload,
                     f"pre-post-delta-{stamp}.csv", f"verification-{stamp}.md"]  # issue 15: the whole packet
    for name in names:
        first, second = (tmp_path / "one" / name).read_bytes(), (tmp_path / "two" / name).read_bytes()
        assert first == second
        assert PII_MARK.encode() not in first and PII_EMAIL.encode() not in first
    verification = (tmp_path / "one" / f"verification-{stamp}.md").read_text()
    assert "Overall **FAIL**" in verification and "Content hash" in verification
    assert "leadContextBundleEnabled" in verification  # the rollout events in the window
    delta = (tmp_path / "one" / f"pre-post-delta-{stamp}.csv").read_text().splitlines()
    assert delta[0].startswith("metric,verdict,critical,baseline,measured")
    assert any(line.startswith("needs_review_rate,HIGH,") for line in delta)


def quiet_end(story) -> datetime:
    """Before the demo's platform-wide webhook queue episode, which trips its rule for every workspace."""
    return story.queue_episode_start - timedelta(hours=1)


def test_quiet_workspace_passes_with_exit_0(demo, tmp_path, capsys):
    db, story = demo
    code = run(db, tmp_path, "--workspace", story.quiet, "--split", iso(story.rollout_at),
               "--end", iso(quiet_end(story)))
    assert code == 0, capsys.readouterr().err


def test_a_one_hour_window_is_insufficient_data_with_exit_2(demo, tmp_path, capsys):
    db, story = demo
    code = run(db, tmp_path, "--workspace", story.quiet, "--split", iso(story.rollout_at),
               "--end", iso(story.rollout_at + timedelta(hours=1)))
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("INSUFFICIENT_DATA: ")


@pytest.mark.parametrize("args", [
    ("--workspace", "ws-nope", "--split", "2026-02-16T00:00:00Z", "--end", "2026-02-17T00:00:00Z"),
    ("--workspace", "ws-acme", "--split", "yesterday"),
    ("--workspace", "ws-acme", "--split", "2026-02-17T00:00:00Z", "--end", "2026-02-16T00:00:00Z"),
])
def test_bad_arguments_exit_3_with_one_line(demo, tmp_path, capsys, args):
    db, _ = demo
    assert run(db, tmp_path, *args) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_unreachable_database_exits_3(tmp_path, capsys):
    code = canarywatch_cli.main(["check", "--workspace", "ws-a", "--split", "2026-02-16T00:00:00Z",
                                 "--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/none",
                                 "--out", str(tmp_path)])
    assert code == 3
    assert "database unreachable" in capsys.readouterr().err


def test_log_export_with_a_malformed_line_is_reported_not_fatal(demo, tmp_path, capsys):
    db, story = demo
    logs = tmp_path / "export.jsonl"
    start = story.rollout_at + timedelta(hours=1)
    lines = [f'{{"timestamp": "{iso(start + timedelta(seconds=i))}", "message": "Task timed out after 60 seconds",'
             f' "path": "/api/webhooks/inboxxia"}}' for i in range(3)]
    logs.write_text("\n".join([*lines, "{not json", ""]))
    code = run(db, tmp_path / "out", "--workspace", story.quiet, "--split", iso(story.rollout_at),
               "--end", iso(quiet_end(story)), "--logs", str(logs))
    err = capsys.readouterr().err
    assert "1 malformed line(s) skipped" in err
    assert code == 0  # 3 webhook timeouts is far under 50 per 30 minutes


def test_console_script_runs(demo, tmp_path):
    db, story = demo
    result = subprocess.run([sys.executable, "-m", "canarywatch_cli", "check", "--workspace", story.quiet,
                             "--database-url", db.backend.url, "--split", iso(story.rollout_at),
                             "--end", iso(quiet_end(story)), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("PASS: ")


def test_watch_stops_at_the_first_fail_on_always_valid_intervals(demo, tmp_path, capsys):
    db, story = demo
    code = run(db, tmp_path, "--workspace", story.canary, "--split", iso(story.rollout_at), "--watch", "0",
               "--looks", "3")
    err = capsys.readouterr().err.strip().splitlines()
    looks = [line for line in err if line.startswith("look ")]
    assert code == 1 and len(looks) == 1 and ": FAIL: " in looks[0], err
    verification = next(p for p in tmp_path.iterdir() if p.name.startswith("verification")).read_text()
    assert "always-valid" in verification  # the metrics were judged on the sequential intervals


def test_watch_takes_no_end_and_needs_whole_looks(demo, tmp_path, capsys):
    db, story = demo
    assert run(db, tmp_path, "--workspace", story.quiet, "--watch", "5", "--end", iso(story.rollout_at)) == 3
    assert "--watch evaluates the window ending now" in capsys.readouterr().err
    assert run(db, tmp_path, "--workspace", story.quiet, "--watch", "5", "--looks", "0") == 3


def test_packet_names_the_workspace_and_writes_p_values_in_scientific_notation(demo, tmp_path):
    db, story = demo
    end = quiet_end(story)
    run(db, tmp_path, "--workspace", story.quiet, "--split", iso(story.rollout_at), "--end", iso(end))
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.split("-")[0] in ("baseline", "pre", "verification"))
    assert len(names) == 3 and all(f"-{story.quiet}-{story.rollout_at:%Y-%m-%dT%H-%M-%SZ}-" in name for name in names)
    delta = next(p for p in tmp_path.iterdir() if p.name.startswith("pre-post-delta")).read_text().splitlines()
    header = delta[0].split(",")
    row = dict(zip(header, next(line for line in delta if line.startswith("needs_review_rate,")).split(","),
                   strict=False))
    assert "e" in row["p_value"] and row["n_baseline"].isdigit() and row["n_canary"].isdigit()


def test_excluded_workspaces_are_out_of_the_control_in_the_packet(demo, tmp_path):
    db, story = demo
    end = quiet_end(story)
    run(db, tmp_path, "--workspace", story.quiet, "--split", iso(story.rollout_at), "--end", iso(end),
        "--exclude", "ws-fjord", "--exclude", "ws-ember")
    verification = next(p for p in tmp_path.iterdir() if p.name.startswith("verification")).read_text()
    assert "| ws-ember | excluded by configuration |" in verification
    assert "| ws-fjord | excluded by configuration |" in verification
    control = next(line for line in verification.splitlines() if "Control: " in line)
    assert "ws-fjord" not in control.split("Control: ", 1)[1].split(". Log export")[0]
