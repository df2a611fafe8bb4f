"""The words a rules file may use (analysis/default_rules.toml): comparisons, scopes, signals, levers.

Its own module so that the rule evaluation (analysis/rules.py) and the file's pydantic schema
(analysis/rules_model.py) both read it without importing each other.
"""

from __future__ import annotations

from db.catalog import KILL_SWITCH_NAMES, OTHER_BOOL_SETTINGS, TOGGLE_FIELDS

SCHEMA = 1
SOURCES = ("database", "logs")
COMPARISONS = ("gt_threshold", "lt_threshold", "vs_baseline_increase", "vs_baseline_decrease",
               "monotonic_growth", "any")
NO_DATA = ("insufficient", "pass", "fail")
#: DATA_CONTRACT.md section 2, declared once in db/catalog.py: the kill switches a rollback sets to 1
KILL_SWITCHES = KILL_SWITCH_NAMES
#: ... and the WorkspaceSettings bool columns a rollback can turn off.
WORKSPACE_TOGGLES = (*TOGGLE_FIELDS, *OTHER_BOOL_SETTINGS)
#: "workspace": computed from the canary workspace's rows (and the control's), decides the verdict;
#: "platform": global by nature, shown as platform health, a critical trip means "platform incident".
SCOPES = ("workspace", "platform")
#: signals that have no workspace (BackgroundFunctionRun is global; a runtime log export is the platform's)
PLATFORM_ONLY_SIGNALS = ("function_failure_ratio", "webhook_timeout_60s", "inbox_timeout_300s", "db_pool_timeout",
                         "response_timing_cron_500", "reversal_loop")
#: signals that are rates (shown in percentage points) and means (shown to three decimals)
RATE_SIGNALS = ("needs_review_rate", "gate_revise_rate", "bundle_truncation_rate", "booking_gate_deny_error_rate",
                "function_failure_ratio")
MEAN_SIGNALS = ("auto_send_confidence_mean",)
BUDGET_PROFILES = ("draft", "revision", "auto_send_evaluator", "meeting_overseer_gate", "followup_parse",
                   "followup_booking_gate")
POLICY_KEYS = ("followup.auto_book",)
STEP_KINDS = ("env", "toggle", "policy", "budget", "note")
#: Stable signal names. Database signals are computed by the callers from the queries; the log signals
#: by analysis/logsignals.py (the four counted kinds plus the reversal-loop pattern).
DATABASE_SIGNALS = (
    "needs_review_rate", "auto_send_confidence_mean", "gate_revise_rate", "bundle_truncation_rate",
    "revision_attempts_per_draft_max", "revision_error_count", "booking_gate_deny_error_rate",
    "webhook_queue_depth", "function_failure_ratio",
)
LOG_SIGNALS = ("webhook_timeout_60s", "inbox_timeout_300s", "db_pool_timeout", "response_timing_cron_500",
               "reversal_loop")
