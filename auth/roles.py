"""The three roles and what each may do (DESIGN.md, "who")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    SUPER_ADMIN = "super_admin"  # everything, including toggle writes
    OPERATOR = "operator"  # all read pages, the canary view and the audit log
    ANALYST = "analyst"  # read pages, comparisons and exports


@dataclass(frozen=True)
class User:
    """A signed-in person (or the watch service acting as one). Kept apart from auth/session so the
    write service and the command line do not import Streamlit."""

    username: str
    name: str
    roles: frozenset[Role]

    def may(self, allowed: Iterable[Role]) -> bool:
        return bool(self.roles & frozenset(allowed))


ALL_ROLES = frozenset(Role)
READERS = ALL_ROLES
OPERATORS = frozenset({Role.SUPER_ADMIN, Role.OPERATOR})
ANALYSTS = frozenset({Role.SUPER_ADMIN, Role.ANALYST})
SUPER_ADMINS = frozenset({Role.SUPER_ADMIN})


def parse_roles(raw: object) -> frozenset[Role]:
    """Known roles from a credentials entry; unknown names are ignored (never widen access)."""
    if raw is None:
        return frozenset()
    names = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list | tuple | set | frozenset) else []
    return frozenset(Role(n) for n in names if n in Role._value2member_map_)
