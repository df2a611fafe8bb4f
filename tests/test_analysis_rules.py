"""The rollback rules file: the packaged defaults load, every validation error names rule and field,
and the threshold / slice evaluation sits exactly where the plans put it (just under, just over)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from analysis.rules import (
    DATABASE_SIGNALS,
    KILL_SWITCHES,
    LOG_SIGNALS,
    WORKSPACE_TOGGLES,
    RulesError,
    RuleStatus,
    display,
    evaluate_delta,
    evaluate_slices,
    evaluate_threshold,
    load_rules,
    parse_rules,
)
from db import upstream as up

RULES = load_rules()


# --- the packaged file ------------------------------------------------------------------------------

def test_packaged_rules_load_with_version_and_schema():
    assert RULES.version == "2026-12-01.1"
    assert RULES.schema == 1
    assert len({rule.id for rule in RULES}) == len(RULES) == 17


def test_packaged_rules_cover_every_signal_of_the_plans():
    assert {rule.signal for rule in RULES.for_source("database")} == set(DATABASE_SIGNALS)
    assert {rule.signal for rule in RULES.for_source("logs")} == set(LOG_SIGNALS)


def test_packaged_thresholds_match_the_rollout_plans():
    expected = {  # id: (operator, threshold, window_minutes)
        "webhook_timeouts_60s": (">", 50, 30),
        "inbox_timeouts_300s": (">", 20, 30),
        "inbox_timeouts_300s_burst": (">=", 10, 5),
        "db_pool_timeouts": (">", 30, 30),
        "response_timing_cron_500s": (">", 15, 30),
        "reversal_loop": (">=", 2, 30),
        "revision_attempted_twice": (">", 1, 30),
        "function_failure_ratio": (">", 0.10, 30),
    }
    for rule_id, (operator, threshold, window) in expected.items():
        rule = RULES.by_id(rule_id)
        assert (rule.operator, rule.threshold, rule.window_minutes) == (operator, threshold, window), rule_id
    assert RULES.by_id("revision_attempted_twice").critical
    assert RULES.by_id("reversal_loop").slice_minutes == 2
    queue = RULES.by_id("webhook_queue_growing")
    assert queue.failure_limit * queue.slice_minutes == queue.window_minutes == 30


def test_every_packaged_rule_names_a_real_lever_first():
    for rule in RULES:
        if rule.scope == "workspace":
            assert rule.rollback[0].kind in ("env", "toggle"), rule.id
        assert rule.watch and rule.title
        for step in rule.rollback:
            if step.kind == "env":
                assert step.name in KILL_SWITCHES and f"{step.name}=1" in step.text
            if step.kind == "toggle":
                assert step.name in step.text


def test_toggle_levers_are_real_workspace_settings_columns():
    assert set(WORKSPACE_TOGGLES) <= set(up.workspace_settings.c.keys())


def test_load_rules_reads_a_given_path(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(_toml(_rule()), encoding="utf-8")
    rules = load_rules(path)
    assert rules.version == "test.1" and [rule.id for rule in rules] == ["r1"]
    assert rules.by_id("r1").failure_limit == 1 and rules.by_id("r1").no_data == "insufficient"


# --- validation ---------------------------------------------------------------------------------------

def _rule(**overrides: object) -> dict:
    base = {
        "id": "r1", "title": "a test rule", "source": "database", "signal": "needs_review_rate",
        "window_minutes": 30, "comparison": "gt_threshold", "threshold": 0.1, "watch": "the rate",
        "rollback": [{"kind": "env", "name": "AUTO_SEND_DISABLED", "text": "Set AUTO_SEND_DISABLED=1."}],
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not DROP}


DROP = object()


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return repr(value)


def _toml(*rules: dict, version: str = '"test.1"', schema: str = "1") -> str:
    head = f"version = {version}\nschema = {schema}\n" if version else f"schema = {schema}\n"
    return head + "".join("\n[[rule]]\n" + "".join(f"{k} = {_value(v)}\n" for k, v in r.items()) for r in rules)


@pytest.mark.parametrize(
    ("overrides", "field", "problem"),
    [
        ({"comparison": "between"}, "comparison", "unknown value 'between'"),
        ({"window_minutes": -5}, "window_minutes", "positive"),
        ({"window_minutes": 0}, "window_minutes", "positive"),
        ({"window_minutes": 2.5}, "window_minutes", "whole number"),
        ({"rollback": DROP}, "rollback", "missing"),
        ({"rollback": []}, "rollback", "missing"),
        ({"no_data": "maybe"}, "no_data", "unknown value 'maybe'"),
        ({"source": "metrics"}, "source", "unknown value 'metrics'"),
        ({"signal": "needs_review_ratio"}, "signal", "unknown database signal"),
        ({"source": "logs"}, "signal", "unknown logs signal"),
        ({"failure_limit": 0}, "failure_limit", ">= 1"),
        ({"source": "logs", "signal": "db_pool_timeout", "failure_limit": 2}, "failure_limit", "worst window"),
        ({"threshold": "high"}, "threshold", "finite number"),
        ({"threshold": DROP}, "threshold", "missing"),
        ({"threshold": -1}, "threshold", "negative"),
        ({"critical": "yes"}, "critical", "true or false"),
        ({"failure_limt": 2}, "failure_limt", "unknown field"),
        ({"watch": DROP}, "watch", "missing"),
        ({"title": "  "}, "title", "non-empty"),
        ({"id": "Needs Review"}, "id", "lower_snake_case"),
        ({"slice_minutes": 7}, "slice_minutes", "dividing window_minutes"),
        ({"source": "logs", "signal": "reversal_loop"}, "slice_minutes", "set it"),
        ({"rollback": [{"kind": "env", "name": "AUTO_SEND_DISABLE", "text": "x"}]}, "rollback[0].name",
         "unknown env lever 'AUTO_SEND_DISABLE'"),
        ({"rollback": [{"kind": "toggle", "name": "bundleEnabled", "text": "x"}]}, "rollback[0].name",
         "unknown toggle lever"),
        ({"rollback": [{"kind": "toggle", "text": "x"}]}, "rollback[0].name", "missing"),
        ({"rollback": [{"kind": "email", "text": "x"}]}, "rollback[0].kind", "unknown value 'email'"),
        ({"rollback": [{"kind": "note", "text": ""}]}, "rollback[0].text", "missing or empty"),
        ({"rollback": [{"kind": "policy", "name": "auto_send", "text": "x"}]}, "rollback[0].name", "unknown policy"),
    ],
)
def test_validation_error_names_the_rule_and_the_field(overrides, field, problem):
    with pytest.raises(RulesError) as raised:
        parse_rules(_toml(_rule(**overrides)))
    message = str(raised.value)
    assert message.startswith(f"rule {_rule(**overrides).get('id', 'r1')!r}: "), message
    assert f"field {field!r}" in message and problem in message, message


def test_duplicate_id_is_an_error_naming_the_id():
    with pytest.raises(RulesError, match=r"rule 'r1': field 'id': duplicate"):
        parse_rules(_toml(_rule(), _rule(title="again")))


def test_a_rule_without_id_is_named_by_its_position():
    with pytest.raises(RulesError, match=r"rule #2: field 'id': missing"):
        parse_rules(_toml(_rule(), _rule(id=DROP)))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (_toml(_rule(), version=""), "field 'version': missing"),
        (_toml(_rule(), schema="2"), "field 'schema': 2 is not supported"),
        ('version = "x"\nschema = 1\n', "no [[rule]] tables"),
        ("version = ", "not valid TOML"),
    ],
)
def test_file_level_errors_are_named(text, problem):
    with pytest.raises(RulesError) as raised:
        parse_rules(text, origin="my.toml")
    assert str(raised.value).startswith("my.toml: ") and problem in str(raised.value)


# --- evaluate_threshold ---------------------------------------------------------------------------------

GT = RULES.by_id("webhook_timeouts_60s")  # > 50
RATE_UP = RULES.by_id("needs_review_rate_increase")  # measured - baseline > 0.10
CONF_DOWN = RULES.by_id("auto_send_confidence_drop")  # baseline - measured > 0.05


def test_gt_threshold_just_under_and_just_over():
    under, over = evaluate_threshold(GT, 50), evaluate_threshold(GT, 51)
    assert (under.status, over.status) == (RuleStatus.OK, RuleStatus.TRIPPED)
    assert under.rollback == () and over.rollback == GT.rollback
    assert over.measured == 51 and over.threshold == 50 and over.slices_failed == 1
    assert "TRIPPED" in over.reason and "\n" not in over.reason


def test_inclusive_threshold_trips_at_the_threshold():
    burst = RULES.by_id("inbox_timeouts_300s_burst")  # >= 10
    assert evaluate_threshold(burst, 9).status is RuleStatus.OK
    assert evaluate_threshold(burst, 10).status is RuleStatus.TRIPPED


def test_lt_threshold():
    low = replace(GT, comparison="lt_threshold", threshold=0.5)
    assert evaluate_threshold(low, 0.5).status is RuleStatus.OK
    assert evaluate_threshold(low, 0.49).status is RuleStatus.TRIPPED


def test_vs_baseline_threshold_is_an_absolute_difference():
    # 0.30 - 0.20 is exactly the allowed 0.10 (in floating point 0.10000000000000003): not over it
    assert evaluate_threshold(RATE_UP, 0.30, baseline=0.20).status is RuleStatus.OK
    tripped = evaluate_threshold(RATE_UP, 0.31, baseline=0.20)
    assert tripped.status is RuleStatus.TRIPPED and tripped.baseline == 0.20
    # relative change would be 50% here, but only the absolute 0.05 counts
    assert evaluate_threshold(RATE_UP, 0.15, baseline=0.10).status is RuleStatus.OK
    # a fall never trips the increase rule
    assert evaluate_threshold(RATE_UP, 0.0, baseline=0.5).status is RuleStatus.OK


def test_vs_baseline_decrease():
    assert evaluate_threshold(CONF_DOWN, 0.85, baseline=0.90).status is RuleStatus.OK  # drop of 0.05
    assert evaluate_threshold(CONF_DOWN, 0.84, baseline=0.90).status is RuleStatus.TRIPPED
    assert evaluate_threshold(CONF_DOWN, 0.99, baseline=0.90).status is RuleStatus.OK


@pytest.mark.parametrize(("no_data", "status"), [("insufficient", RuleStatus.NO_DATA), ("pass", RuleStatus.OK),
                                                  ("fail", RuleStatus.TRIPPED)])
@pytest.mark.parametrize("measured", [None, math.nan])
def test_missing_measurement_follows_no_data(no_data, status, measured):
    result = evaluate_threshold(replace(GT, no_data=no_data), measured)
    assert result.status is status and result.measured is None
    assert (result.rollback != ()) is (status is RuleStatus.TRIPPED)


def test_missing_baseline_is_no_data_not_a_pass():
    result = evaluate_threshold(RATE_UP, 0.9)
    assert result.status is RuleStatus.NO_DATA and "no baseline" in result.reason


def test_any_trips_on_a_single_occurrence():
    rule = replace(GT, comparison="any", threshold=0.0)
    assert evaluate_threshold(rule, 0).status is RuleStatus.OK
    assert evaluate_threshold(rule, 1).status is RuleStatus.TRIPPED


def test_monotonic_growth_needs_a_series():
    with pytest.raises(ValueError, match="evaluate_slices"):
        evaluate_threshold(RULES.by_id("webhook_queue_growing"), 3)


# --- evaluate_slices -------------------------------------------------------------------------------------

LIMIT3 = replace(GT, failure_limit=3)  # > 50 in 3 consecutive slices


def test_slices_trip_only_after_failure_limit_consecutive_failures():
    under = evaluate_slices(LIMIT3, [60, 70, 10, 60, 60])  # runs of 2 and 2
    assert under.status is RuleStatus.OK and under.slices_failed == 2 and under.measured == 70
    over = evaluate_slices(LIMIT3, [10, 60, 51, 52, 0])
    assert over.status is RuleStatus.TRIPPED and over.slices_failed == 3 and over.rollback == GT.rollback


def test_a_missing_slice_breaks_the_run_unless_no_data_fails():
    values = [60, 60, None, 60]
    assert evaluate_slices(LIMIT3, values).status is RuleStatus.OK
    assert evaluate_slices(replace(LIMIT3, no_data="fail"), values).status is RuleStatus.TRIPPED


def test_all_slices_missing_is_no_data():
    assert evaluate_slices(LIMIT3, [None, None]).status is RuleStatus.NO_DATA
    assert evaluate_slices(LIMIT3, []).status is RuleStatus.NO_DATA


def test_slices_against_a_baseline():
    rule = replace(RATE_UP, failure_limit=2)
    assert evaluate_slices(rule, [0.35, 0.40], baseline=0.2).status is RuleStatus.TRIPPED
    assert evaluate_slices(rule, [0.35, 0.25], baseline=0.2).status is RuleStatus.OK
    assert evaluate_slices(rule, [0.35, 0.40]).status is RuleStatus.NO_DATA


QUEUE = RULES.by_id("webhook_queue_growing")  # 6 growing 5-minute steps = 30 minutes


def test_queue_growing_for_30_minutes_trips_and_25_does_not():
    grew_30 = evaluate_slices(QUEUE, [0, 4, 9, 15, 22, 30, 41])  # 7 samples, 6 growing steps
    assert grew_30.status is RuleStatus.TRIPPED and grew_30.slices_failed == 6 and grew_30.measured == 41 - 0
    grew_25 = evaluate_slices(QUEUE, [4, 9, 15, 22, 30, 41])  # 5 steps
    assert grew_25.status is RuleStatus.OK and grew_25.slices_failed == 5


def test_a_flat_or_draining_step_breaks_the_growth_run():
    assert evaluate_slices(QUEUE, [0, 4, 9, 9, 15, 22, 30, 41]).status is RuleStatus.OK  # flat step
    assert evaluate_slices(QUEUE, [0, 4, 9, 8, 15, 22, 30, 41]).status is RuleStatus.OK  # drained by 1
    assert evaluate_slices(QUEUE, [50, 0, 4, 9, 15, 22, 30, 41]).status is RuleStatus.TRIPPED


def test_queue_series_with_a_gap_is_not_growth():
    assert evaluate_slices(QUEUE, [0, 4, 9, None, 15, 22, 30, 41]).status is RuleStatus.OK
    assert evaluate_slices(QUEUE, [None]).status is RuleStatus.NO_DATA


# --- attribution: every rule declares its scope -----------------------------------------------------

def test_packaged_scopes_global_signals_are_platform_and_the_rest_workspace():
    scopes = {rule.id: rule.scope for rule in RULES}
    assert scopes["function_failure_ratio"] == scopes["webhook_queue_growing_platform"] == "platform"
    assert all(scopes[r.id] == "platform" for r in RULES.for_source("logs"))
    assert scopes["webhook_queue_growing"] == scopes["needs_review_rate_increase"] == "workspace"


def test_a_global_signal_cannot_be_declared_workspace_scoped():
    with pytest.raises(RulesError, match="rule 'r1': field 'scope': signal 'function_failure_ratio' has no workspace"):
        parse_rules(_toml(_rule(signal="function_failure_ratio", comparison="gt_threshold", scope="workspace")))
    with pytest.raises(RulesError, match="rule 'r1': field 'scope': unknown value 'fleet'"):
        parse_rules(_toml(_rule(scope="fleet")))
    assert parse_rules(_toml(_rule(signal="function_failure_ratio", comparison="gt_threshold"))).rules[0].scope \
        == "platform"


# --- one unit per rule, and vs_baseline rules judged on a delta with its interval -------------------

def test_delta_rule_reads_the_same_in_its_table_cells_and_its_reason():
    rule = RULES.by_id("needs_review_rate_increase")
    result = evaluate_delta(rule, 0.125, (0.08, 0.17), against="the clean control's change")
    assert result.status is RuleStatus.TRIPPED
    assert display(result) == ("delta +12.5 pts [+8.0 pts, +17.0 pts]", "delta > +10.0 pts")
    assert result.reason == ("needs_review rate up vs baseline: TRIPPED, delta +12.5 pts [+8.0 pts, +17.0 pts] "
                             "against the clean control's change, limit delta > +10.0 pts")


def test_delta_beyond_the_limit_with_an_interval_through_zero_does_not_trip():
    rule = RULES.by_id("needs_review_rate_increase")
    result = evaluate_delta(rule, 0.12, (-0.01, 0.25), against="x")
    assert result.status is RuleStatus.OK and "interval includes no change" in result.reason
    drop = evaluate_delta(RULES.by_id("auto_send_confidence_drop"), -0.058, (-0.07, -0.046), against="x")
    assert drop.status is RuleStatus.TRIPPED
    assert display(drop) == ("delta -0.058 [-0.070, -0.046]", "delta < -0.050")
    assert evaluate_delta(rule, None, None, against="x").status is RuleStatus.NO_DATA


def test_queue_growth_rule_shows_steps_in_both_cells():
    rule = RULES.by_id("webhook_queue_growing")
    result = evaluate_slices(rule, [1, 2, 3, 4, 5, 6, 7, 8])
    assert result.status is RuleStatus.TRIPPED
    assert display(result) == ("7 steps of growth", "6 steps in a row")


# --- the pydantic schema (analysis/rules_model.py): each message names the rule and the bad key -----

@pytest.mark.parametrize(
    ("overrides", "field", "problem"),
    [
        ({"rollback": [{"kind": "note", "text": "x", "colour": "red"}]}, "rollback[0]", "unknown keys ['colour']"),
        ({"rollback": ["turn it off"]}, "rollback[0]", "must be a table {kind, name, text}"),
        ({"rollback": "turn it off"}, "rollback", "list the levers"),
        ({"threshold": math.inf}, "threshold", "finite number"),
        ({"window_minutes": True}, "window_minutes", "positive whole number, got True"),
        ({"inclusive": 1}, "inclusive", "true or false, got 1"),
        ({"title": 5}, "title", "non-empty string"),
        ({"scope": "fleet"}, "scope", "unknown value 'fleet'"),
    ],
)
def test_schema_errors_name_the_key(overrides, field, problem):
    with pytest.raises(RulesError) as raised:
        parse_rules(_toml(_rule(**overrides)))
    assert str(raised.value).startswith(f"rule 'r1': field {field!r}: "), str(raised.value)
    assert problem in str(raised.value), str(raised.value)
