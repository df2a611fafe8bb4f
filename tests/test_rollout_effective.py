"""Kill switches follow upstream's truthiness rules; effective state = toggle AND NOT switch."""

import pytest

from analysis.effective import effective_state, toggle_table
from rollout.killswitch import EnvFileError, read_kill_switches

ALL_ON = {"leadContextBundleEnabled": True, "autoSendRevisionEnabled": True,
          "followupBookingGateEnabled": True, "autoBookMeetings": True, "meetingOverseerEnabled": True}


@pytest.mark.parametrize(("name", "raw", "engaged"), [
    ("AUTO_SEND_REVISION_DISABLED", "1", True), ("AUTO_SEND_REVISION_DISABLED", "true", False),
    ("AUTO_SEND_DISABLED", "1", True), ("AUTO_SEND_DISABLED", "yes", False),
    ("LEAD_CONTEXT_BUNDLE_DISABLED", "yes", True), ("LEAD_CONTEXT_BUNDLE_DISABLED", "TRUE", True),
    ("LEAD_CONTEXT_BUNDLE_DISABLED", "0", False),
])
def test_each_switch_uses_upstreams_truthiness(name, raw, engaged):
    switches = read_kill_switches({name: raw})
    assert switches[name].engaged is engaged
    assert switches[name].source == "the dashboard's own environment"


def test_switches_read_from_upstream_env_file(tmp_path):
    env_file = tmp_path / "upstream.env"
    env_file.write_text('# exported\nexport LEAD_CONTEXT_BUNDLE_DISABLED="true"\nAUTO_SEND_DISABLED=0\n')
    switches = read_kill_switches({"CANARYWATCH_UPSTREAM_ENV_FILE": str(env_file), "AUTO_SEND_DISABLED": "1"})
    assert switches["LEAD_CONTEXT_BUNDLE_DISABLED"].engaged is True
    assert switches["AUTO_SEND_DISABLED"].engaged is False  # the file wins over our own env
    assert switches["AUTO_SEND_REVISION_DISABLED"].raw is None
    assert switches["AUTO_SEND_DISABLED"].source == "upstream env file upstream.env"


@pytest.mark.parametrize(("line", "engaged"), [
    ("AUTO_SEND_DISABLED=1 # paused for the incident", True),
    ("AUTO_SEND_DISABLED='1'  # quoted, then a comment", True),
    ("export AUTO_SEND_DISABLED=1", True),
    ("AUTO_SEND_DISABLED = 1", True),
    ('AUTO_SEND_DISABLED="1 # inside the quotes"', False),
    ("# AUTO_SEND_DISABLED=1", False),
    ("AUTO_SEND_DISABLED=", False),
])
def test_env_file_lines_read_as_dotenv_does(tmp_path, line, engaged):
    env_file = tmp_path / "upstream.env"
    env_file.write_text(line + "\n")
    switch = read_kill_switches({"CANARYWATCH_UPSTREAM_ENV_FILE": str(env_file)})["AUTO_SEND_DISABLED"]
    assert switch.engaged is engaged


def test_unreadable_env_file_is_a_clear_error(tmp_path):
    with pytest.raises(EnvFileError, match="cannot be read"):
        read_kill_switches({"CANARYWATCH_UPSTREAM_ENV_FILE": str(tmp_path / "missing.env")})


def test_kill_switch_overrides_toggle():
    state = effective_state(ALL_ON, {"LEAD_CONTEXT_BUNDLE_DISABLED": True})
    assert state["leadContextBundleEnabled"].stored is True
    assert state["leadContextBundleEnabled"].effective is False
    assert state["autoSendRevisionEnabled"].effective is True
    # the booking gate depends on the bundle being in effect
    assert state["followupBookingGateEnabled"].effective is False
    assert "bundle" in state["followupBookingGateEnabled"].why


def test_booking_gate_needs_auto_book_meetings():
    state = effective_state({**ALL_ON, "autoBookMeetings": False}, {})
    assert state["followupBookingGateEnabled"].effective is False
    assert effective_state(ALL_ON, {})["followupBookingGateEnabled"].effective is True


def test_revision_stops_when_auto_send_is_disabled():
    state = effective_state(ALL_ON, {"AUTO_SEND_DISABLED": True})
    assert state["autoSendRevisionEnabled"].effective is False
    assert state["leadContextBundleEnabled"].effective is True


def test_toggle_table_says_what_is_in_effect_and_why_not():
    rows = [{"workspace": "ws-a", "name": "A", "has_settings_row": True, **ALL_ON},
            {"workspace": "ws-b", "name": "B", "has_settings_row": False, "leadContextBundleEnabled": False}]
    (a, b) = toggle_table(rows, {"LEAD_CONTEXT_BUNDLE_DISABLED": True})
    assert a["leadContextBundleEnabled"] == "on · NOT in effect (overridden by LEAD_CONTEXT_BUNDLE_DISABLED)"
    assert a["followupBookingGateEnabled"] == "on · NOT in effect (needs the lead-context bundle in effect)"
    assert a["autoSendRevisionEnabled"] == "on · in effect"
    assert b["leadContextBundleEnabled"] == "off"
    assert b["settings row"] == "no (defaults)"
