"""Did the rollback work (issue 15, item 3) and the packet's manifest (item 2), on planted data, both backends.

One database per module. autoSendRevisionEnabled (watched: the needs_review rate, db/catalog.py) was enabled
at E in A, D, T and K and toggled off at R = E + 6 h in A, D and T (K: its kill switch is engaged instead).
Each window of 2 hours: the pre-rollout baseline [E - 2 h, E) and the window after the rollback [R, R + 2 h).
- A recovers: 20/200 needs_review before and after; the clean control B + C 40/400 in both windows, so the
  difference-in-differences is exactly 0 with a 95% interval of ±1.959964 * sqrt(4 * 0.09 / 200 ... ) (below).
- D stays high: 20/200 before, 100/200 after: delta +40.0 pts, its rule trips: NOT_RECOVERED.
- T is thin: 20 drafts on each side (150 needed): INSUFFICIENT_DATA.
- K is planted like A, with no toggle-off: RECOVERED only when its kill switch is seen engaged and dated.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from datetime import timedelta

import pytest

import canarywatch_cli
from analysis.rollback import Recovery, find_rollback, watched
from analysis.rules import load_rules
from db.catalog import ROLLOUT_FIELDS
from queries.canary import CanarySpec
from services import rollback
from services.canary import run
from services.evidence import canary_rollback, complete_packet
from tests.backends import Backend, empty
from tests.seed import Seed, at

A, B, C, D, T, K = "ws-a", "ws-b", "ws-c", "ws-d", "ws-t", "ws-k"
FIELD = "autoSendRevisionEnabled"
HOURS = timedelta(hours=2)
E = at(days=-2)
R = E + timedelta(hours=6)
END = R + HOURS
Z = 1.959964


@pytest.fixture(scope="module")
def planted(backend: Backend) -> Iterator[Backend]:
    empty(backend.write)
    seed = Seed(backend.write)
    for ws in (A, B, C, D, T, K):
        seed.workspace(ws, settings={})
    for ws, after in ((A, 20), (D, 100), (K, 20)):
        seed.drafts(ws, start=E - HOURS, end=E, n=200, needs_review=20)
        seed.drafts(ws, start=E, end=R, n=200, needs_review=90)  # the rollout itself
        seed.drafts(ws, start=R, end=END, n=200, needs_review=after)
    for ws in (B, C):
        seed.drafts(ws, start=E - HOURS, end=E, n=200, needs_review=20)
        seed.drafts(ws, start=R, end=END, n=200, needs_review=20)
    seed.drafts(T, start=E - HOURS, end=E, n=20, needs_review=2)
    seed.drafts(T, start=R, end=END, n=20, needs_review=2)
    for ws in (A, D, T, K):
        seed.audit(ws, when=E, field=FIELD, old="false", new="true")
    for ws in (A, D, T):
        seed.audit(ws, when=R, field=FIELD, old="true", new="false", actor="bob", reason="rollback")
    yield backend
    empty(backend.write)


def verdict_of(backend: Backend, ws: str, **kw):
    with backend.read.connect() as conn:
        event = rollback.find(conn, ws, FIELD, end=END, **kw)
        assert event is not None
        return rollback.check(conn, event, load_rules())


def test_every_rollout_field_has_a_watched_signal():
    assert {f for f in ROLLOUT_FIELDS if watched(f)} == set(ROLLOUT_FIELDS)
    assert [s for _, s in watched("leadContextBundleEnabled")] == ["bundle_truncation_rate",
                                                                   "booking_gate_deny_error_rate"]
    assert [s for _, s in watched(FIELD)] == ["needs_review_rate"]


def test_signals_back_at_the_baseline_are_recovered_against_the_clean_control(planted):
    v = verdict_of(planted, A)
    assert v.event.enabled_at == E and v.event.rolled_back_at == R and v.event.end == END
    assert v.event.baseline == (E - HOURS, E) and v.event.how == "toggle-off by bob"
    assert v.control == (B, C)  # D, T and K had rollout changes in the span
    (signal,) = v.signals
    se = math.sqrt(0.09 / 200 + 0.09 / 200 + 0.09 / 400 + 0.09 / 400)
    assert signal.against == "the clean control's change"
    assert signal.delta == pytest.approx(0.0, abs=1e-12)
    assert signal.ci == pytest.approx((-Z * se, Z * se), abs=1e-6)
    assert (signal.n_baseline, signal.n_after, signal.baseline, signal.measured) == (200, 200, 0.1, 0.1)
    assert signal.status is Recovery.RECOVERED and v.overall is Recovery.RECOVERED


def test_signals_that_stay_high_are_not_recovered(planted):
    v = verdict_of(planted, D)
    (signal,) = v.signals
    assert signal.delta == pytest.approx(0.40)
    se = math.sqrt(0.09 / 200 + 0.25 / 200 + 0.09 / 400 + 0.09 / 400)
    assert signal.ci == pytest.approx((0.40 - Z * se, 0.40 + Z * se), abs=1e-6)
    assert signal.status is Recovery.NOT_RECOVERED and v.overall is Recovery.NOT_RECOVERED
    assert "needs_review_rate" in v.reason


def test_a_thin_window_is_insufficient_data(planted):
    v = verdict_of(planted, T)
    assert v.signals[0].status is Recovery.INSUFFICIENT_DATA and v.overall is Recovery.INSUFFICIENT_DATA
    assert (v.signals[0].n_baseline, v.signals[0].n_after) == (20, 20)


def test_a_kill_switch_seen_engaged_is_the_rollback_when_dated(planted):
    with planted.read.connect() as conn:
        assert rollback.find(conn, K, FIELD, end=END) is None  # no toggle-off in the audit log
        assert rollback.find(conn, K, FIELD, end=END, engaged_at=R,
                             switches={"AUTO_SEND_REVISION_DISABLED": False}) is None
    v = verdict_of(planted, K, engaged_at=R, switches={"AUTO_SEND_REVISION_DISABLED": True})
    assert v.event.how == "kill switch AUTO_SEND_REVISION_DISABLED engaged" and v.event.rolled_back_at == R
    assert v.overall is Recovery.RECOVERED


def test_a_re_enabled_field_ends_the_window_and_a_toggle_off_without_rollout_is_none():
    import pandas as pd

    rows = pd.DataFrame([
        {"changed_at": E, "workspace": A, "field": FIELD, "new_value": "true", "actor": "x"},
        {"changed_at": R, "workspace": A, "field": FIELD, "new_value": "false", "actor": "x"},
        {"changed_at": R + timedelta(hours=1), "workspace": A, "field": FIELD, "new_value": "true", "actor": "x"},
    ])
    event = find_rollback(rows, A, FIELD, end=END)
    assert event is not None and event.end == R + timedelta(hours=1) and event.baseline == (E - HOURS / 2, E)
    assert find_rollback(rows.iloc[1:2], A, FIELD, end=END) is None


def packet_of(backend: Backend, ws: str = A):
    spec = CanarySpec((ws,), E, END)
    rules = load_rules()
    with backend.read.connect() as conn:
        result = run(conn, spec, rules, field=FIELD)
        return complete_packet(conn, spec, result.packet, rules, canary_rollback(conn, spec, FIELD, rules))


def test_the_packet_lists_every_file_in_its_manifest_with_matching_hashes(planted):
    packet = packet_of(planted)
    stamp = f"{A}-{E:%Y-%m-%dT%H-%M-%SZ}-{END:%Y-%m-%dT%H-%M-%SZ}"
    assert sorted(packet.files) == sorted([
        f"baseline-{stamp}.md", f"verification-{stamp}.md", f"pre-post-delta-{stamp}.csv",
        f"offload-monitoring-{E:%Y-%m-%dT%H-%M-%SZ}.md",
        f"rollback-recovery-{A}-{R:%Y-%m-%dT%H-%M-%SZ}-{END:%Y-%m-%dT%H-%M-%SZ}.md", "manifest.json"])
    manifest = json.loads(packet.files["manifest.json"])
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == set(packet.files) - {"manifest.json"}
    for name, item in listed.items():
        assert item["sha256"] == hashlib.sha256(packet.files[name]).hexdigest()
        assert item["bytes"] == len(packet.files[name])
    assert listed[f"baseline-{stamp}.md"]["window"] == {"start": "2026-02-16T04:00:00Z", "end": "2026-02-16T12:00:00Z"}
    assert listed[f"baseline-{stamp}.md"]["rows"]["evaluated_drafts"] == 200  # A's 200 drafts in [E - 8 h, E)
    assert listed[f"verification-{stamp}.md"]["rows"]["evaluated_drafts"] == 400  # rollout + after the rollback
    assert listed[f"offload-monitoring-{E:%Y-%m-%dT%H-%M-%SZ}.md"]["window"]["end"] == "2026-02-16T12:30:00Z"
    recovery = listed[f"rollback-recovery-{A}-{R:%Y-%m-%dT%H-%M-%SZ}-{END:%Y-%m-%dT%H-%M-%SZ}.md"]
    assert recovery["compared_with"] == {"start": "2026-02-16T10:00:00Z", "end": "2026-02-16T12:00:00Z"}
    assert recovery["rows"] == {"needs_review_rate_n_after": 200, "needs_review_rate_n_baseline": 200}
    text = packet.files[recovery["name"]].decode()
    assert "Overall **RECOVERED**" in text and "[2026-02-16 10:00:00, 2026-02-16 12:00:00) vs" in text


def test_every_threshold_decision_names_its_artifact_and_window(planted):
    packet = packet_of(planted)
    verification = next(v for k, v in packet.files.items() if k.startswith("verification")).decode()
    stamp = f"{A}-{E:%Y-%m-%dT%H-%M-%SZ}-{END:%Y-%m-%dT%H-%M-%SZ}"
    rules_part = verification.split("## Rollback rules")[1].split("## Excluded")[0]
    metrics_part = verification.split("## Metrics")[1].split("## Rollback rules")[0]
    canary, base = "[2026-02-16 12:00:00, 2026-02-16 20:00:00) UTC", "[2026-02-16 04:00:00, 2026-02-16 12:00:00) UTC"
    for line in metrics_part.strip().splitlines()[2:]:
        assert f"pre-post-delta-{stamp}.csv: {canary} vs {base}" in line, line
    decisions = rules_part.strip().splitlines()[2:]
    assert decisions and all(f"-{stamp}." in line or "log export" in line for line in decisions)
    needs = next(line for line in decisions if line.startswith("| needs_review_rate_increase"))
    assert f"baseline-{stamp}.md and pre-post-delta-{stamp}.csv: {canary} vs {base}" in needs
    platform = next(line for line in decisions if line.startswith("| function_failure_ratio"))
    assert f"verification-{stamp}.md (platform health): [2026-02-16 17:00:00, 2026-02-16 20:00:00) UTC" in platform


def test_two_exports_are_byte_identical(planted):
    assert packet_of(planted).files == packet_of(planted).files


def cli(backend: Backend, out, *args: str) -> int:
    return canarywatch_cli.main(["check", "--rollback", "--database-url", backend.url, "--out", str(out),
                                 "--end", END.strftime("%Y-%m-%dT%H:%M:%SZ"), *args])


@pytest.mark.parametrize(("ws", "code", "word"), [(A, 0, "RECOVERED"), (D, 1, "NOT_RECOVERED"),
                                                  (T, 2, "INSUFFICIENT_DATA")])
def test_check_rollback_exit_codes_and_files(planted, tmp_path, capsys, ws, code, word):
    assert cli(planted, tmp_path, "--workspace", ws) == code  # the field: the latest audited toggle-off
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(f"{word}: ")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["manifest.json", f"rollback-recovery-{ws}-{R:%Y-%m-%dT%H-%M-%SZ}-{END:%Y-%m-%dT%H-%M-%SZ}.md"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["files"][0]["sha256"] == hashlib.sha256((tmp_path / names[1]).read_bytes()).hexdigest()


@pytest.mark.parametrize("args", [("--workspace", K), ("--workspace", "ws-nope", "--field", FIELD),
                                  ("--workspace", A, "--workspace", B)])
def test_check_rollback_bad_input_exits_3(planted, tmp_path, capsys, args):
    assert cli(planted, tmp_path, *args) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


@pytest.fixture
def app_env(planted, monkeypatch):
    import streamlit as st

    from tests.auth_support import auth_env

    st.cache_data.clear()
    st.cache_resource.clear()
    for key, value in auth_env(planted.url).items():
        monkeypatch.setenv(key, value)
    yield planted
    st.cache_data.clear()
    st.cache_resource.clear()


def _texts(app) -> list[str]:
    return [e.value for kind in ("markdown", "caption", "warning", "info", "success") for e in getattr(app, kind)]


def test_canary_page_shows_the_rollback_check_of_a_rolled_back_canary(app_env):
    from streamlit.testing.v1 import AppTest

    from auth.roles import Role
    from tests.auth_support import APP, sign_in

    app = sign_in(AppTest.from_file(APP, default_timeout=120), Role.OPERATOR)
    app.switch_page("pages/canary.py")
    app.query_params.update({"ws": D, "split": E.strftime("%Y-%m-%dT%H:%M:%SZ"), "field": FIELD})
    app.run()
    app.toggle(key="cw_canary_live").set_value(False).run()
    next(d for d in app.get("date_time_input") if d.label == "End (UTC)").set_value(END.replace(tzinfo=None)).run()
    assert not app.exception, app.exception
    line = next(t for t in _texts(app) if t.startswith("**Rollback check:"))
    assert line.startswith("**Rollback check: :red[NOT_RECOVERED]** · pulled back at 2026-02-16 18:00 UTC")
    assert "Did the rollback work?" in [h.value for h in app.subheader]


def test_audit_row_of_a_toggle_off_shows_its_rollback_check(app_env):
    from streamlit.testing.v1 import AppTest

    from auth.roles import Role
    from tests.auth_support import APP, sign_in

    app = sign_in(AppTest.from_file(APP, default_timeout=120), Role.OPERATOR)
    app.switch_page("pages/audit.py")
    app.query_params.update({"window": "custom", "start": "2026-02-15T00:00:00Z", "end": "2026-02-18T00:00:00Z"})
    app.run()
    assert not app.exception, app.exception
    assert app.dataframe, _texts(app) + [e.value for e in app.error]
    table = app.dataframe[0].value
    table = table.reset_index(drop=True)
    row = next(i for i, r in table.iterrows() if r["workspace"] == A and r["new_value"] == "false")
    app.session_state["cw_audit_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    app.run()
    assert not app.exception, app.exception
    line = next(t for t in _texts(app) if t.startswith("**Rollback check:"))
    assert line.startswith("**Rollback check: :green[RECOVERED]** · pulled back at 2026-02-16 18:00 UTC "
                           "(toggle\\-off by bob)")


def _needs_review_totals(needs_review: int, evaluated: int):
    import pandas as pd

    from analysis.canary.inputs import side_totals

    return side_totals({"needs_review": pd.DataFrame([{"evaluated": evaluated, "needs_review": needs_review}])})


def test_an_interval_that_crosses_the_limit_cannot_tell_and_the_own_past_is_named():
    """No control: 15/150 before, 27/150 after: delta +8.0 pts, under the 10-point limit, but Newcombe's
    interval reaches beyond it (its upper end checked against Wilson's bounds computed here)."""
    from analysis.rollback import RollbackEvent, judge_recovery

    event = RollbackEvent(A, FIELD, E, R, END, "toggle-off by bob")
    v = judge_recovery(event, load_rules(), _needs_review_totals(15, 150), _needs_review_totals(27, 150))
    (signal,) = v.signals

    def wilson(k: int, n: int) -> tuple[float, float]:
        p, z = k / n, Z
        mid, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (
            1 + z * z / n)
        return mid - half, mid + half

    upper = 0.08 + math.sqrt((wilson(27, 150)[1] - 0.18) ** 2 + (0.10 - wilson(15, 150)[0]) ** 2)
    assert signal.delta == pytest.approx(0.08) and signal.ci[1] == pytest.approx(upper, abs=1e-5) and upper > 0.10
    assert signal.against == "the canary's own past (no clean control)"
    assert signal.status is Recovery.INSUFFICIENT_DATA and v.overall is Recovery.INSUFFICIENT_DATA


def test_the_page_zip_holds_every_file_and_is_identical_twice(planted):
    import io
    import zipfile

    from ui.canary import packet_name, packet_zip

    packet = packet_of(planted)
    first, second = packet_zip(packet), packet_zip(packet_of(planted))
    assert first == second
    assert sorted(zipfile.ZipFile(io.BytesIO(first)).namelist()) == sorted(packet.files)
    assert packet_name(packet) == f"evidence-{A}-{E:%Y-%m-%dT%H-%M-%SZ}-{END:%Y-%m-%dT%H-%M-%SZ}.zip"
