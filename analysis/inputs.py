"""Checks on what a user (or a caller) hands the write service, made before any database work.

Every message quotes at most QUOTE_LIMIT characters of a bad value (a 10 MB name is not echoed back),
states the limit that was crossed, and never contains control characters.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

QUOTE_LIMIT = 80
MAX_DEPTH = 4  # budgets are profile -> section -> key -> integer: 3 levels of objects
#: control characters (NUL, ESC of ANSI escapes, line breaks), format characters (bidi overrides),
#: surrogates and line/paragraph separators
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`value` for an error message: repr-quoted, control characters escaped, cut to `limit` characters."""
    text = value if isinstance(value, str) else repr(value) if not isinstance(value, dict | list) else type(
        value).__name__
    shown = text[:limit]
    cut = f"… ({len(text):,} characters)" if len(text) > limit else ""
    return repr(shown) + cut


def shown(value: object) -> str:
    """A short plain name as it is (`draft`), anything else through quote()."""
    if isinstance(value, str) and len(value) <= QUOTE_LIMIT and re.fullmatch(r"[\w.-]+", value, re.ASCII):
        return value
    return quote(value)


def control_character(text: str) -> str | None:
    """The first refused character of `text` as U+XXXX, or None."""
    for ch in text:
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            return f"U+{ord(ch):04X}"
    return None


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply lists and dicts nest in `value`, counted without recursion and stopping past `limit`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list | tuple):
            deepest = max(deepest, level)
            if level > limit:
                return level
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
