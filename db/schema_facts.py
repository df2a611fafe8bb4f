"""What the database says about itself, as `canarywatch doctor` reads it (queries/schema_check.py) and
judges it (analysis/doctor.py): plain values, so neither of the two imports the other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FoundColumn:
    table: str
    name: str
    type_name: str  # pg_type.typname (or SQLite's declared type)
    is_enum: bool = False
    element_type: str | None = None  # for arrays: the element's typname
    element_is_enum: bool = False


@dataclass(frozen=True)
class ReadFacts:
    role: str
    not_selectable: tuple[str, ...]  # tables (upstream and canarywatch's) the read role may not SELECT
    lead_visible: bool | None  # any "Lead" row visible; None when it could not be read
    draft_visible: bool | None  # any "AIDraft" row visible
    lead_rls: bool  # row-level security is enabled on "Lead"
    bypass_rls: bool  # the read role has BYPASSRLS (or is a superuser)
    transaction_read_only: bool  # the read engine's session is read-only
    writable: tuple[str, ...]  # tables the read role holds INSERT/UPDATE/DELETE/TRUNCATE on


@dataclass(frozen=True)
class WriteFacts:
    role: str
    settings_privileges: Mapping[str, bool]  # SELECT/INSERT/UPDATE on "WorkspaceSettings"
    client_select: bool  # the service checks the workspace exists
    state_schema_exists: bool
    state_schema_create: bool  # CREATE on the canarywatch schema (or owns it)
    database_create: bool  # CREATE on the database (needed to create the schema when missing)
    state_tables_missing_privileges: tuple[str, ...] = field(default=())  # "table: PRIV" the role lacks
