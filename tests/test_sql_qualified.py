"""Every registered query runs on the full upstream schema, and none of its SQL names a bare column.

The fixture carries every upstream column (db/upstream.py), so a bare name two joined tables share
(`status` is on Lead, AIDraft, Appointment, FollowUpTask, ...) fails here as it fails in production.
Running each query is not enough: PostgreSQL resolves a bare GROUP BY name to an *input* column
before an output label, so `lower(x) AS stage ... GROUP BY stage` silently groups by the raw column.
So each statement a query executes is also inspected: every column is bound to a table, and every
GROUP BY / ORDER BY name that refers to an output label collides with no column of its FROM tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Select, event
from sqlalchemy.sql import elements, visitors
from sqlalchemy.sql.util import find_tables

from queries.frame import REGISTRY
from tests.test_personal_data import WIDE, plant_everything


@contextmanager
def captured(engine) -> Iterator[list]:
    statements: list = []

    def record(_conn, clauseelement, *_args, **_kw):  # noqa: ANN001 - SQLAlchemy event signature
        statements.append(clauseelement)

    event.listen(engine, "before_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_execute", record)


def _selects(stmt) -> Iterator[Select]:
    """The statement and every SELECT nested in it (subqueries, CTEs, unions)."""
    for element in visitors.iterate(stmt):
        if isinstance(element, Select):
            yield element


def problems(stmt) -> list[str]:
    found = []
    for select_ in _selects(stmt):
        froms = [*select_._from_obj, *select_.columns_clause_froms]  # noqa: SLF001 - no public accessor
        names = {column.name for clause in froms for table in find_tables(clause, include_joins=True)
                 for column in getattr(table, "c", ())}
        for kind, clauses in (("GROUP BY", select_._group_by_clauses), ("ORDER BY", select_._order_by_clauses)):  # noqa: SLF001
            for clause in clauses:
                inner = getattr(clause, "element", clause)
                if isinstance(clause, elements._textual_label_reference) and inner in names:  # noqa: SLF001
                    found.append(f"{kind} {inner!r} is also a column of a table in FROM")
    for element in visitors.iterate(stmt):
        if (isinstance(element, elements.ColumnClause) and not isinstance(element, elements.Label)
                and element.table is None and not element.is_literal):
            found.append(f"bare column {element.name!r}")
    return found


def test_the_inspection_catches_a_colliding_group_by_name():
    from sqlalchemy import func, select

    from db import upstream as up

    appt, lead = up.appointment, up.lead
    bad = (select(lead.c.clientId.label("workspace"), appt.c.status.label("status"), func.count())
           .select_from(appt.join(lead, lead.c.id == appt.c.leadId)).group_by("workspace", "status"))
    assert problems(bad) == ["GROUP BY 'status' is also a column of a table in FROM"]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_query_runs_on_the_full_schema_and_names_no_bare_column(db, name):
    plant_everything(db)
    spec = REGISTRY[name]
    with captured(db.backend.read) as statements:
        spec.raw(db.conn, WIDE)
    assert statements, f"{name} executed nothing"
    found = [p for stmt in statements for p in problems(stmt)]
    assert not found, f"{name}: {found}"
