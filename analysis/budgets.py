"""leadContextBundleBudgets: the JSON shape upstream reads, validated before anything is written.

DATA_CONTRACT.md section 2: profile -> optional `knowledge` {maxTokens, maxAssetTokens} and optional
`memory` {maxTokens, maxEntryTokens}, integers 0..20000. "Clear" stores the JSON literal null.
"""

from __future__ import annotations

import json
from typing import Any

from analysis.inputs import MAX_DEPTH, depth, quote, shown

MAX_TOKENS = 20_000
MAX_TEXT = 20_000  # characters of budgets JSON: the full shape with every key is under 1,000
SECTION_KEYS: dict[str, tuple[str, str]] = {
    "knowledge": ("maxTokens", "maxAssetTokens"),
    "memory": ("maxTokens", "maxEntryTokens"),
}
#: upstream defaults: profile -> section -> (max, per item); a missing section means the profile has none
DEFAULTS: dict[str, dict[str, tuple[int, int]]] = {
    "draft": {"knowledge": (4000, 1200), "memory": (1200, 400)},
    "revision": {"knowledge": (3000, 1200), "memory": (800, 300)},
    "auto_send_evaluator": {"knowledge": (8000, 1600), "memory": (600, 300)},
    "meeting_overseer_gate": {"memory": (600, 300)},
    "followup_parse": {"memory": (400, 200)},
    "followup_booking_gate": {"memory": (600, 300)},
}


class CLEAR:  # noqa: N801 - a sentinel, used as a value
    """Stand-in for upstream's "clear": the JSON literal null is stored."""


class BudgetError(ValueError):
    """A budgets value upstream would not accept; the message names the bad key path."""


def parse_budgets(text: str) -> dict[str, Any] | type[CLEAR]:
    """Parse and validate editor text; an empty text or `null` means clear. Size, nesting and number
    length are checked before the JSON parser runs (a 5,001-digit integer or 5,000 nested arrays
    are refused with their limit, never a ValueError or RecursionError)."""
    if not isinstance(text, str):
        raise BudgetError("budgets must be JSON text")
    if len(text) > MAX_TEXT:
        raise BudgetError(f"budgets JSON has {len(text):,} characters; at most {MAX_TEXT:,} are accepted")
    stripped = text.strip()
    if not stripped or stripped == "null":
        return CLEAR
    if (nesting := text_depth(stripped)) > MAX_DEPTH:
        raise BudgetError(f"budgets JSON nests {nesting:,} levels deep; at most {MAX_DEPTH} are accepted")
    try:
        value = json.loads(stripped, parse_int=_small_int, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BudgetError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return validate_budgets(value)


def _small_int(digits: str) -> int:
    if len(digits.lstrip("-")) > len(str(MAX_TOKENS)):
        raise BudgetError(f"the number {quote(digits, 20)} is not an integer 0..{MAX_TOKENS}")
    return int(digits)


def _no_constant(name: str) -> None:
    raise BudgetError(f"{name} is not an integer 0..{MAX_TOKENS}")


def text_depth(text: str) -> int:
    """How deeply `[` and `{` nest in JSON text (outside strings), without parsing it."""
    level = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            level += 1
            deepest = max(deepest, level)
        elif ch in "]}":
            level -= 1
    return deepest


def validate_budgets(value: Any) -> dict[str, Any]:
    if (nesting := depth(value)) > MAX_DEPTH:
        raise BudgetError(f"budgets nest {nesting}+ levels deep; at most {MAX_DEPTH} are accepted")
    if not isinstance(value, dict):
        raise BudgetError("budgets must be a JSON object of profiles")
    for profile, sections in value.items():
        if profile not in DEFAULTS:
            raise BudgetError(f"{shown(profile)} is not a known profile (known: {', '.join(DEFAULTS)})")
        if not isinstance(sections, dict):
            raise BudgetError(f"{profile} must be an object with knowledge and/or memory")
        for section, limits in sections.items():
            if section not in SECTION_KEYS:
                raise BudgetError(f"{profile}.{shown(section)} is not a known section (knowledge, memory)")
            if not isinstance(limits, dict):
                raise BudgetError(f"{profile}.{section} must be an object")
            for key, number in limits.items():
                path = f"{profile}.{section}.{shown(key)}"
                if key not in SECTION_KEYS[section]:
                    raise BudgetError(f"{path} is not a known key (known: {', '.join(SECTION_KEYS[section])})")
                if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= MAX_TOKENS:
                    raise BudgetError(f"{path} must be an integer 0..{MAX_TOKENS}")
    return value


def effective_budgets(stored: dict[str, Any] | None) -> dict[str, dict[str, dict[str, int]]]:
    """The budgets upstream applies: the stored values over the defaults (stored null = defaults)."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for profile, sections in DEFAULTS.items():
        for section, (total, per_item) in sections.items():
            keys = SECTION_KEYS[section]
            merged = {keys[0]: total, keys[1]: per_item}
            merged.update((stored or {}).get(profile, {}).get(section, {}))
            out.setdefault(profile, {})[section] = merged
    return out
