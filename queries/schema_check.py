"""Catalog reads for `canarywatch doctor`: what the configured database holds and what our roles may do.

Read-only and bound: the system catalogs (pg_catalog, visible to every role whatever its grants,
unlike information_schema) and the privilege functions (has_table_privilege, has_schema_privilege,
has_database_privilege). Nothing here writes, not even to probe a permission. On SQLite only the
tables and columns are read (PRAGMA table_info through the inspector).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, exists, inspect, select, text
from sqlalchemy.exc import DBAPIError

from db import upstream as up
from db.engine import STATE_SCHEMA
from db.schema_facts import FoundColumn, ReadFacts, WriteFacts

_COLUMNS = text("""
    SELECT pg_class.relname AS table_name, pg_attribute.attname AS column_name,
           pg_type.typname AS type_name, pg_type.typtype = 'e' AS is_enum,
           element.typname AS element_type, coalesce(element.typtype = 'e', false) AS element_is_enum
    FROM pg_catalog.pg_attribute
    JOIN pg_catalog.pg_class ON pg_class.oid = pg_attribute.attrelid
    JOIN pg_catalog.pg_namespace ON pg_namespace.oid = pg_class.relnamespace
    JOIN pg_catalog.pg_type ON pg_type.oid = pg_attribute.atttypid
    LEFT JOIN pg_catalog.pg_type AS element ON element.oid = pg_type.typelem AND pg_type.typcategory = 'A'
    WHERE pg_namespace.nspname = current_schema() AND pg_class.relname IN :tables
      AND pg_class.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND pg_attribute.attnum > 0 AND NOT pg_attribute.attisdropped
    ORDER BY pg_class.relname, pg_attribute.attnum
""").bindparams(bindparam("tables", expanding=True))

_ENUM_LABELS = text("""
    SELECT pg_type.typname AS type_name, pg_enum.enumlabel AS label
    FROM pg_catalog.pg_enum
    JOIN pg_catalog.pg_type ON pg_type.oid = pg_enum.enumtypid
    WHERE pg_type.typname IN :names
    ORDER BY pg_type.typname, pg_enum.enumsortorder
""").bindparams(bindparam("names", expanding=True))

#: the tables a role holds `:privilege` on (one privilege name; an IN list of relation names per schema)
_TABLES_WITH = text("""
    SELECT pg_class.relname AS table_name
    FROM pg_catalog.pg_class
    JOIN pg_catalog.pg_namespace ON pg_namespace.oid = pg_class.relnamespace
    WHERE pg_namespace.nspname = coalesce(:schema, current_schema()) AND pg_class.relname IN :tables
      AND pg_class.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND has_table_privilege(pg_class.oid, :privilege)
""").bindparams(bindparam("tables", expanding=True))

_PRESENT = text("""
    SELECT pg_class.relname AS table_name
    FROM pg_catalog.pg_class
    JOIN pg_catalog.pg_namespace ON pg_namespace.oid = pg_class.relnamespace
    WHERE pg_namespace.nspname = coalesce(:schema, current_schema()) AND pg_class.relname IN :tables
      AND pg_class.relkind IN ('r', 'p', 'v', 'm', 'f')
""").bindparams(bindparam("tables", expanding=True))

_ROLE = text("""
    SELECT current_user AS role_name, pg_roles.rolbypassrls OR pg_roles.rolsuper AS bypass_rls,
           current_setting('transaction_read_only') = 'on' AS read_only
    FROM pg_catalog.pg_roles WHERE pg_roles.rolname = current_user
""")

_LEAD_RLS = text("""
    SELECT pg_class.relrowsecurity FROM pg_catalog.pg_class
    JOIN pg_catalog.pg_namespace ON pg_namespace.oid = pg_class.relnamespace
    WHERE pg_namespace.nspname = current_schema() AND pg_class.relname = :table
""")

_SCHEMA_RIGHTS = text("""
    SELECT has_schema_privilege(pg_namespace.oid, 'CREATE') OR pg_has_role(pg_namespace.nspowner, 'USAGE')
    FROM pg_catalog.pg_namespace WHERE pg_namespace.nspname = :schema
""")

_DATABASE_CREATE = text("SELECT has_database_privilege(current_database(), 'CREATE')")

STATE_TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")


def found_columns(conn: Connection, tables: Sequence[str]) -> list[FoundColumn]:
    """The columns of `tables` as the database has them (PostgreSQL: catalog types; SQLite: declared)."""
    if conn.dialect.name != "postgresql":
        inspector = inspect(conn)
        present = set(inspector.get_table_names())
        return [FoundColumn(table, column["name"], str(column["type"]))
                for table in tables if table in present for column in inspector.get_columns(table)]
    rows = conn.execute(_COLUMNS, {"tables": list(tables)}).mappings()
    return [FoundColumn(r["table_name"], r["column_name"], r["type_name"], bool(r["is_enum"]),
                        r["element_type"], bool(r["element_is_enum"])) for r in rows]


def enum_labels(conn: Connection, names: Sequence[str]) -> dict[str, list[str]]:
    """Enum type name -> its labels in order (PostgreSQL)."""
    out: dict[str, list[str]] = {}
    for row in conn.execute(_ENUM_LABELS, {"names": list(names)}).mappings():
        out.setdefault(row["type_name"], []).append(row["label"])
    return out


def _tables_with(conn: Connection, tables: Sequence[str], privilege: str, schema: str | None = None) -> set[str]:
    rows = conn.execute(_TABLES_WITH, {"tables": list(tables), "privilege": privilege, "schema": schema})
    return set(rows.scalars())


def _present(conn: Connection, tables: Sequence[str], schema: str | None = None) -> list[str]:
    found = set(conn.execute(_PRESENT, {"tables": list(tables), "schema": schema}).scalars())
    return [t for t in tables if t in found]


def _any_row(conn: Connection, table) -> bool | None:  # noqa: ANN001 - a Table
    """Whether any row of `table` is visible to this role (None when the role may not read it)."""
    try:
        with conn.begin_nested():
            return bool(conn.execute(select(exists().select_from(table))).scalar())
    except DBAPIError:
        return None


def read_facts(conn: Connection, upstream_tables: Sequence[str], state_tables: Sequence[str]) -> ReadFacts:
    """What the read role may see and do (PostgreSQL). Runs inside one read-only transaction."""
    role = conn.execute(_ROLE).mappings().one()
    upstream_present = _present(conn, upstream_tables)
    state_present = _present(conn, state_tables, STATE_SCHEMA)
    readable = _tables_with(conn, upstream_present, "SELECT")
    state_readable = _tables_with(conn, state_present, "SELECT", STATE_SCHEMA)
    not_selectable = [t for t in upstream_present if t not in readable]
    not_selectable += [f"{STATE_SCHEMA}.{t}" for t in state_present if t not in state_readable]
    writable = set()
    for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
        writable |= _tables_with(conn, upstream_present, privilege)
    lead_rls = conn.execute(_LEAD_RLS, {"table": up.lead.name}).scalar()
    return ReadFacts(
        role=role["role_name"],
        not_selectable=tuple(not_selectable),
        lead_visible=_any_row(conn, up.lead),
        draft_visible=_any_row(conn, up.ai_draft),
        lead_rls=bool(lead_rls),
        bypass_rls=bool(role["bypass_rls"]),
        transaction_read_only=bool(role["read_only"]),
        writable=tuple(t for t in upstream_present if t in writable),
    )


def write_facts(conn: Connection, state_tables: Sequence[str]) -> WriteFacts:
    """What the write role may do, from the privilege catalogs only (nothing is written)."""
    role = conn.execute(_ROLE).mappings().one()["role_name"]
    settings = up.workspace_settings.name
    privileges = {p: settings in _tables_with(conn, [settings], p) for p in ("SELECT", "INSERT", "UPDATE")}
    schema_rights = conn.execute(_SCHEMA_RIGHTS, {"schema": STATE_SCHEMA}).scalar()
    state_present = _present(conn, state_tables, STATE_SCHEMA)
    lacking = []
    for privilege in STATE_TABLE_PRIVILEGES:
        held = _tables_with(conn, state_present, privilege, STATE_SCHEMA)
        lacking += [f"{privilege} on {STATE_SCHEMA}.{t}" for t in state_present if t not in held]
    return WriteFacts(
        role=role,
        settings_privileges=privileges,
        client_select=up.client.name in _tables_with(conn, [up.client.name], "SELECT"),
        state_schema_exists=schema_rights is not None,
        state_schema_create=bool(schema_rights),
        database_create=bool(conn.execute(_DATABASE_CREATE).scalar()),
        state_tables_missing_privileges=tuple(lacking),
    )
