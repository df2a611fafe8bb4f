"""`canarywatch doctor`: judging what the database and environment look like against what we read.

Pure: the facts come from queries/schema_check.py (catalog reads, privilege catalogs, never a
write) and the kill-switch reader; this module turns them into checks, each OK, WARN, FAIL or N/A
with a one-line fix. Only FAIL fails the run (exit 1): WARN is a risk to know about, and an OK may
carry a note (an enum label upstream added that we count under its own name).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

from db.schema_facts import FoundColumn, ReadFacts, WriteFacts


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"
    NA = "N/A"


@dataclass(frozen=True)
class Check:
    name: str  # which check ("schema", "enum labels", "read access", ...)
    status: Status
    detail: str  # what was found, one line
    fix: str = ""  # one line: what to do (empty when there is nothing to do)
    note: str = ""  # for an OK worth knowing about

    def line(self) -> str:
        text = f"{self.status.value:<4}  {self.name}: {self.detail}"
        if self.note:
            text += f" (note: {self.note})"
        if self.fix:
            text += f"\n      fix: {self.fix}"
        return text


# -- expected schema ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExpectedColumn:
    table: str
    name: str
    family: str  # "text", "integer", "timestamp", "enum:<TypeName>", "array:<family>" ...


@dataclass(frozen=True)
class Expected:
    columns: tuple[ExpectedColumn, ...]
    enums: Mapping[str, tuple[str, ...]]  # enum type name -> the labels canarywatch declares

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.table for c in self.columns))


_PG = postgresql.dialect()


#: first match wins: Float before Numeric (Float is a Numeric), Boolean before Integer
_FAMILIES = ((postgresql.JSONB, "json"), (JSON, "json"), (Boolean, "boolean"), (Integer, "integer"), (Float, "float"),
             (Numeric, "numeric"), (Date, "date"), (LargeBinary, "bytes"), (String, "text"))


def type_family(column_type) -> str:  # noqa: ANN001 - any SQLAlchemy type
    """The family a declared type belongs to, as PostgreSQL stores it (variants resolved)."""
    if isinstance(column_type, TypeDecorator):  # e.g. an enum read as text: judged by what it stores
        return type_family(column_type.impl_instance)
    impl = column_type.dialect_impl(_PG) if hasattr(column_type, "dialect_impl") else column_type
    for candidate in (impl, column_type):
        if isinstance(candidate, Enum):
            return f"enum:{candidate.name}"
        if isinstance(candidate, ARRAY):
            return f"array:{type_family(candidate.item_type)}"
        if isinstance(candidate, DateTime):
            return "timestamptz" if candidate.timezone else "timestamp"
        family = next((name for kind, name in _FAMILIES if isinstance(candidate, kind)), None)
        if family:
            return family
    return f"other:{type(impl).__name__}"


def expected_from_metadata(metadata: MetaData) -> Expected:
    """Every table, column and enum type of `metadata` (db/upstream.py's upstream_metadata), generically."""
    columns, enums = [], {}
    for table in metadata.sorted_tables:
        for column in table.columns:
            family = type_family(column.type)
            columns.append(ExpectedColumn(table.name, column.name, family))
            if family.startswith("enum:"):
                enums[family.removeprefix("enum:")] = tuple(column.type.enums)
    return Expected(tuple(columns), enums)


# -- found schema ---------------------------------------------------------------------------------

#: PostgreSQL type names (pg_type.typname) -> family
_PG_FAMILIES = {
    "text": "text", "varchar": "text", "bpchar": "text", "citext": "text", "name": "text",
    "int2": "integer", "int4": "integer", "int8": "integer",
    "bool": "boolean", "float4": "float", "float8": "float", "numeric": "numeric",
    "timestamp": "timestamp", "timestamptz": "timestamptz", "date": "date",
    "json": "json", "jsonb": "json", "bytea": "bytes",
}




def found_family(column: FoundColumn) -> str:
    if column.element_type is not None:
        inner = FoundColumn(column.table, column.name, column.element_type, column.element_is_enum)
        return f"array:{found_family(inner)}"
    if column.is_enum:
        return f"enum:{column.type_name}"
    return _PG_FAMILIES.get(column.type_name, f"other:{column.type_name}")


def _compatible(expected: str, found: str) -> tuple[bool, str]:
    """(readable as we read it, a note). Enum columns are read as text, so text holding labels is fine."""
    if expected == found:
        return True, ""
    if expected.startswith("enum:") and found == "text":
        return True, "text where upstream declares an enum (read as text either way)"
    if expected == "text" and found.startswith("enum:"):
        return True, ""  # an enum column canarywatch declares as text: read as text
    if {expected, found} == {"float", "numeric"}:
        return True, ""
    if expected.startswith("array:") and found.startswith("array:"):
        return _compatible(expected.removeprefix("array:"), found.removeprefix("array:"))
    return False, ""


def _describe(family: str) -> str:
    kind, _, name = family.partition(":")
    if kind == "enum":
        return f'enum "{name}"'
    return f"{name}[]" if kind == "array" else family


def judge_schema(expected: Expected, found: Sequence[FoundColumn], *, compare_types: bool = True) -> list[Check]:
    """Every table and column we declare exists (and, on PostgreSQL, with a compatible type)."""
    by_table: dict[str, dict[str, FoundColumn]] = {}
    for column in found:
        by_table.setdefault(column.table, {})[column.name] = column
    checks, notes = [], []
    for table in expected.tables:
        if table not in by_table:
            checks.append(Check("schema", Status.FAIL, f'table "{table}" is missing',
                                "point DATABASE_URL at the upstream app's database (current Prisma schema applied)"))
    for want in expected.columns:
        have = by_table.get(want.table, {}).get(want.name)
        if want.table not in by_table:
            continue
        if have is None:
            checks.append(Check("schema", Status.FAIL, f'column "{want.table}"."{want.name}" is missing',
                                "apply upstream's current Prisma schema to this database, or pin canarywatch to the "
                                "upstream version it was built for"))
            continue
        if not compare_types:
            continue
        ok, note = _compatible(want.family, found_family(have))
        if not ok:
            checks.append(Check("schema", Status.FAIL,
                                f'column "{want.table}"."{want.name}" is {_describe(found_family(have))}, '
                                f"canarywatch reads it as {_describe(want.family)}",
                                "upstream changed this column's type: update db/upstream.py and the queries "
                                "that read it before running against this database"))
        elif note:
            notes.append(f'"{want.table}"."{want.name}": {note}')
    if not checks:
        types = "compatible types" if compare_types else "types not compared on SQLite"
        checks.append(Check("schema", Status.OK, f"{len(expected.tables)} tables, {len(expected.columns)} columns "
                                                 f"present ({types})", note="; ".join(notes)))
    return checks


def judge_enums(expected: Expected, found: Mapping[str, Sequence[str]]) -> list[Check]:
    """Each enum type exists with every label we declare; an extra label upstream is OK with a note."""
    checks, exact = [], 0
    for name, labels in expected.enums.items():
        have = found.get(name)
        if have is None:
            checks.append(Check("enum labels", Status.FAIL, f'enum type "{name}" is missing',
                                "apply upstream's current Prisma schema (the type may have been renamed: "
                                "update db/upstream.py to its name)"))
            continue
        missing = [label for label in labels if label not in have]
        extra = [label for label in have if label not in labels]
        if missing:
            unknown = f"; has {', '.join(extra)}, which canarywatch does not know" if extra else ""
            checks.append(Check("enum labels", Status.FAIL, f'"{name}" lacks {", ".join(missing)}{unknown}',
                                "upstream removed or renamed these labels: update db/upstream.py and the "
                                "queries that filter on them"))
        elif extra:
            checks.append(Check("enum labels", Status.OK, f'"{name}" has every label we read',
                                note=f"upstream added {', '.join(extra)}: counted under its own name; "
                                     "add it to db/upstream.py"))
        else:
            exact += 1
    if exact:
        checks.insert(0, Check("enum labels", Status.OK, f"{exact} enum type(s) match exactly"))
    return checks


# -- roles ----------------------------------------------------------------------------------------



def _names(names: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(f'"{n}"' for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def judge_read_access(facts: ReadFacts) -> Check:
    if facts.not_selectable:
        upstream = [t for t in facts.not_selectable if not t.startswith("canarywatch.")]
        state = [t for t in facts.not_selectable if t.startswith("canarywatch.")]
        fixes = [f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {facts.role}"] if upstream else []
        if state:
            fixes += [f"GRANT USAGE ON SCHEMA canarywatch TO {facts.role}",
                      f"GRANT SELECT ON ALL TABLES IN SCHEMA canarywatch TO {facts.role}"]
        return Check("read access", Status.FAIL, f"role {facts.role} may not SELECT {_names(facts.not_selectable)}",
                     "; ".join(fixes))
    return Check("read access", Status.OK, f"role {facts.role} may SELECT every table canarywatch reads")


def judge_lead_visibility(facts: ReadFacts) -> Check:
    """The row-level-security caveat (DATA_CONTRACT.md): zero Lead rows visible while AIDraft has rows."""
    if facts.lead_visible is None:
        return Check("Lead rows", Status.FAIL, f'role {facts.role} cannot read "Lead"',
                     f'GRANT SELECT ON "Lead" TO {facts.role}')
    if not facts.lead_visible and facts.draft_visible:
        rls = "row-level security is on" if facts.lead_rls else "row-level security is off"
        return Check("Lead rows", Status.FAIL,
                     f'role {facts.role} sees no "Lead" rows while "AIDraft" has rows ({rls})',
                     f"ALTER ROLE {facts.role} BYPASSRLS, or CREATE POLICY canarywatch_read ON \"Lead\" "
                     f"FOR SELECT TO {facts.role} USING (true)")
    if not facts.lead_visible:
        return Check("Lead rows", Status.OK, 'no "Lead" or "AIDraft" rows yet (nothing to compare)')
    note = "row-level security is on, and this role passes it" if facts.lead_rls and not facts.bypass_rls else ""
    return Check("Lead rows", Status.OK, f'role {facts.role} sees "Lead" rows', note=note)


def judge_read_only(facts: ReadFacts) -> Check:
    if not facts.transaction_read_only:
        return Check("read-only reads", Status.FAIL, "the read connection's transactions are not read-only",
                     "connect through db.engine.read_engine (default_transaction_read_only=on)")
    if facts.writable:
        names = ", ".join(f'"{t}"' for t in facts.writable[:4]) + (" ..." if len(facts.writable) > 4 else "")
        return Check("read-only reads", Status.WARN,
                     f"reads are read-only by session setting only: role {facts.role} may write {names}",
                     f"use a SELECT-only role for DATABASE_URL and the writer in CANARYWATCH_WRITE_URL "
                     f"(REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public FROM {facts.role})")
    return Check("read-only reads", Status.OK, f"read transactions are read-only and role {facts.role} "
                                               "holds no write privilege")




def judge_write_role(facts: WriteFacts | None) -> Check:
    if facts is None:
        return Check("write role", Status.WARN, "no write role configured: toggles cannot be changed and the "
                                                "sign-in throttle is per replica",
                     "set CANARYWATCH_WRITE_URL to a role that may write \"WorkspaceSettings\" and the canarywatch "
                     "schema")
    role = facts.role
    lacking, fixes = [], []
    settings = [priv for priv, ok in facts.settings_privileges.items() if not ok]
    if settings:
        lacking.append(f'{"/".join(settings)} on "WorkspaceSettings"')
        fixes.append(f'GRANT {", ".join(settings)} ON "WorkspaceSettings" TO {role}')
    if not facts.client_select:
        lacking.append('SELECT on "Client"')
        fixes.append(f'GRANT SELECT ON "Client" TO {role}')
    if facts.state_schema_exists and not facts.state_schema_create:
        lacking.append("CREATE on schema canarywatch")
        fixes.append(f"ALTER SCHEMA canarywatch OWNER TO {role}")
    if not facts.state_schema_exists and not facts.database_create:
        lacking.append("CREATE on the database (to create schema canarywatch)")
        fixes.append(f"CREATE SCHEMA canarywatch AUTHORIZATION {role}")
    if facts.state_tables_missing_privileges:
        pairs = [item.split(" on ", 1) for item in facts.state_tables_missing_privileges]
        privileges = list(dict.fromkeys(priv for priv, _ in pairs))
        tables = list(dict.fromkeys(table for _, table in pairs))
        lacking.append(f"{'/'.join(privileges)} on {len(tables)} canarywatch table(s)")
        fixes.append(f"GRANT {', '.join(privileges)} ON ALL TABLES IN SCHEMA canarywatch TO {role}")
    if lacking:
        return Check("write role", Status.FAIL, f"role {role} lacks {', '.join(lacking)}", "; ".join(fixes))
    return Check("write role", Status.OK, f"role {role} may write \"WorkspaceSettings\" and own "
                                          "canarywatch's schema (checked in the privilege catalogs, nothing written)")


def judge_state_revision(found: str | None, head: str, *, known: Iterable[str]) -> Check:
    if found == head:
        return Check("state schema", Status.OK, f"at revision {head}")
    if found is not None and found not in set(known):
        return Check("state schema", Status.WARN, f"at revision {found}, newer than this canarywatch ({head})",
                     "run the newer canarywatch everywhere")
    return Check("state schema", Status.WARN, f"at revision {found or 'nothing'}, newest is {head}",
                 "run `canarywatch migrate` (the write role also migrates on first start when it may)")


# -- kill switches --------------------------------------------------------------------------------

#: values that plainly mean "off", so they are not reported as unparseable
_OFF_VALUES = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class SwitchValue:
    name: str
    raw: str | None
    engaged: bool
    accepts: str  # what upstream reads as engaged


def judge_kill_switches(values: Sequence[SwitchValue] | None, *, source: str, error: str | None = None) -> Check:
    if error is not None:
        return Check("kill switches", Status.FAIL, error,
                     "fix CANARYWATCH_UPSTREAM_ENV_FILE (a readable dotenv export of upstream's env) or unset it")
    unclear = [v for v in values or () if v.raw is not None and not v.engaged
               and v.raw.strip().lower() not in _OFF_VALUES]
    if unclear:
        shown = "; ".join(f"{v.name}={v.raw.strip()[:20]!r} reads as NOT engaged (upstream engages on {v.accepts})"
                          for v in unclear)
        return Check("kill switches", Status.FAIL, shown,
                     "set each to an engaging value or 0 (a value upstream does not read as engaged does nothing)")
    engaged = [v.name for v in values or () if v.engaged]
    state = f"engaged: {', '.join(engaged)}" if engaged else "none engaged"
    return Check("kill switches", Status.OK, f"{len(values or ())} parsed from {source}, {state}")


def not_applicable(name: str, why: str = "not applicable on SQLite") -> Check:
    return Check(name, Status.NA, why)


def exit_code(checks: Iterable[Check]) -> int:
    """0 when no check failed (WARN and N/A do not fail), else 1."""
    return 1 if any(c.status is Status.FAIL for c in checks) else 0


def summary_line(checks: Sequence[Check]) -> str:
    counts = {s: sum(1 for c in checks if c.status is s) for s in Status}
    return "doctor: " + ", ".join(f"{n} {s.value}" for s, n in counts.items() if n) + \
        (" -> all pass" if exit_code(checks) == 0 else " -> FAIL")
