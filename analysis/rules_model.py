"""The rules file's schema as pydantic models: every [[rule]] table and rollback step is validated by
`RuleTable` / `StepTable`, and every validation error becomes one RulesError message naming the rule
and the bad key (`rule 'needs_review_rate_increase': field 'rollback[0].name': unknown env lever ...`).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from analysis.rules_vocabulary import (
    BUDGET_PROFILES,
    COMPARISONS,
    DATABASE_SIGNALS,
    KILL_SWITCHES,
    LOG_SIGNALS,
    NO_DATA,
    PLATFORM_ONLY_SIGNALS,
    POLICY_KEYS,
    SCOPES,
    SOURCES,
    STEP_KINDS,
    WORKSPACE_TOGGLES,
)

STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
#: messages for a value of the wrong type, per key (pydantic's own words name types, not intent)
TYPE_MESSAGES = {
    "window_minutes": "must be a positive whole number, got {input!r}",
    "failure_limit": "must be a whole number >= 1, got {input!r}",
    "slice_minutes": "must be a positive whole number dividing window_minutes, got {input!r}",
    "threshold": "must be a finite number, got {input!r}",
    "critical": "must be true or false, got {input!r}",
    "inclusive": "must be true or false, got {input!r}",
    "rollback": "missing: list the levers in order (kill switch, workspace toggle, policy)",
}


def _choice(value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown value {value!r} (expected one of {', '.join(choices)})")
    return value


def _one_of(choices: tuple[str, ...]) -> AfterValidator:
    return AfterValidator(lambda value: _choice(value, choices))


def _stripped(message: str) -> AfterValidator:
    """Surrounding blanks dropped; blank text refused with `message`."""
    def check(value: str) -> str:
        if not value.strip():
            raise ValueError(message)
        return value.strip()
    return AfterValidator(check)


def _at_least(low: int, message: str) -> AfterValidator:
    """A whole number >= `low`; `message` is formatted with the value."""
    def check(value: int) -> int:
        if value < low:
            raise ValueError(message.format(input=value))
        return value
    return AfterValidator(check)


def _snake(value: str) -> str:
    if not value.replace("_", "").isalnum() or not value.islower():
        raise ValueError("use lower_snake_case")
    return value


NAMED = _stripped("must be a non-empty string")


def _fail(field: str, problem: str) -> ValueError:
    """An error found across fields, located at `field` (the converter moves it there)."""
    return ValueError(f"@{field}: {problem}")


class StepTable(BaseModel):
    model_config = STRICT
    kind: Annotated[str, _one_of(STEP_KINDS)]
    name: str | None = None
    text: Annotated[str, _stripped("missing or empty")]

    @model_validator(mode="after")
    def _lever(self) -> StepTable:
        allowed = {"env": KILL_SWITCHES, "toggle": WORKSPACE_TOGGLES, "budget": BUDGET_PROFILES,
                   "policy": POLICY_KEYS}.get(self.kind, ())
        if self.kind in ("env", "toggle", "budget") and self.name is None:
            raise _fail("name", f"missing (a {self.kind} step names its lever)")
        if self.name is not None and self.name not in allowed:
            raise _fail("name", f"unknown {self.kind} lever {self.name!r} "
                                f"(expected one of {', '.join(allowed) or 'none'})")
        return self


class RuleTable(BaseModel):
    model_config = STRICT
    id: Annotated[str, NAMED, AfterValidator(_snake)]
    title: Annotated[str, NAMED]
    source: Annotated[str, _one_of(SOURCES)]
    signal: Annotated[str, NAMED]
    window_minutes: Annotated[int, _at_least(1, TYPE_MESSAGES["window_minutes"])]
    comparison: Annotated[str, _one_of(COMPARISONS)]
    rollback: list[StepTable] = Field(min_length=1)
    watch: Annotated[str, NAMED]
    threshold: int | float = 0.0
    failure_limit: Annotated[int, _at_least(1, TYPE_MESSAGES["failure_limit"])] = 1
    no_data: Annotated[str, _one_of(NO_DATA)] = "insufficient"
    critical: bool = False
    inclusive: bool = False
    slice_minutes: int | None = None
    #: default: "platform" for a signal with no workspace, else "workspace"
    scope: Annotated[str, _one_of(SCOPES)] | None = None

    @model_validator(mode="after")
    def _across_fields(self) -> RuleTable:
        signals = LOG_SIGNALS if self.source == "logs" else DATABASE_SIGNALS
        if self.signal not in signals:
            raise _fail("signal", f"unknown {self.source} signal {self.signal!r} "
                                  f"(expected one of {', '.join(signals)})")
        if self.scope is None:
            self.scope = "platform" if self.signal in PLATFORM_ONLY_SIGNALS else "workspace"
        if self.scope == "workspace" and self.signal in PLATFORM_ONLY_SIGNALS:
            raise _fail("scope", f"signal {self.signal!r} has no workspace (global table or log export): "
                                 "use 'platform'")
        if self.source == "logs" and self.failure_limit != 1:
            raise _fail("failure_limit", "log rules are judged on their worst window, so it must be 1")
        if self.slice_minutes is not None and (self.slice_minutes <= 0 or self.window_minutes % self.slice_minutes):
            raise _fail("slice_minutes", "must be a positive whole number dividing window_minutes, "
                                         f"got {self.slice_minutes!r}")
        if self.signal == "reversal_loop" and self.slice_minutes is None:
            raise _fail("slice_minutes", "the reversal-loop pattern is counted in slices: set it")
        if "threshold" not in self.model_fields_set and self.comparison != "any":
            raise _fail("threshold", "missing")
        if not math.isfinite(self.threshold):
            raise _fail("threshold", f"must be a finite number, got {self.threshold!r}")
        if self.threshold < 0 and self.comparison not in ("lt_threshold", "vs_baseline_decrease"):
            raise _fail("threshold", "must not be negative")
        return self


def _keys(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The location without pydantic's union-member labels ('int', 'float', 'function-after[...]')."""
    names = set(RuleTable.model_fields) | set(StepTable.model_fields)
    return tuple(p for p in loc if isinstance(p, int) or p in names)


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: dict[str, Any]) -> tuple[str, str]:
    """(key path, problem) of one pydantic error, in the rules file's own words."""
    kind = error["type"]
    loc = tuple(error["loc"]) if kind == "extra_forbidden" else _keys(tuple(error["loc"]))
    problem = str(error["msg"]).removeprefix("Value error, ")
    if problem.startswith("@"):
        field, problem = problem[1:].split(": ", 1)
        loc = (*loc, field)
    elif kind == "missing":
        problem = "missing" if loc[-1] != "rollback" else TYPE_MESSAGES["rollback"]
    elif kind == "extra_forbidden":
        problem = "unknown field" if len(loc) == 1 else f"unknown keys [{loc[-1]!r}]"
        if len(loc) > 1:
            loc = loc[:-1]
    elif kind in ("too_short", "list_type") and loc[-1] == "rollback":
        problem = TYPE_MESSAGES["rollback"]
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        problem = "must be a table {kind, name, text}"
    elif kind == "finite_number":
        problem = TYPE_MESSAGES["threshold"].format(input=error.get("input"))
    elif kind.endswith("_type") or kind.endswith("_parsing") or kind.startswith("int_") or kind.startswith("float_"):
        key = next((p for p in reversed(loc) if isinstance(p, str) and p in TYPE_MESSAGES), None)
        problem = (TYPE_MESSAGES[key].format(input=error.get("input")) if key
                   else "must be a non-empty string" if kind == "string_type" else problem)
    return _where(loc), problem


def first_problem(raw: dict[str, Any]) -> tuple[RuleTable | None, tuple[str, str] | None]:
    """The validated table, or the first problem as (key path, message): missing keys first."""
    try:
        return RuleTable.model_validate(raw), None
    except ValidationError as exc:
        ordered = sorted(exc.errors(), key=lambda e: (e["type"] != "missing", e["type"] == "extra_forbidden"))
        return None, _message(ordered[0])
