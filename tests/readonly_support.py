"""A fresh PostgreSQL database with the upstream schema and a login role that may only read it:
the README's production set-up (a read-only `DATABASE_URL`, `CANARYWATCH_WRITE_URL` unset)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from db.engine import write_engine
from demo.schema import create_schema
from tests.backends import new_postgres_database


@contextmanager
def read_only_database(seed=None) -> Iterator[str]:
    """Yields the read-only role's URL; `seed(engine)` may plant rows first. Drops role and database after."""
    url, drop = new_postgres_database("cw_readonly")
    owner = write_engine(url)
    create_schema(owner)
    if seed is not None:
        seed(owner)
    owner.dispose()
    role = f"cw_ro_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f'REVOKE CREATE ON DATABASE "{make_url(url).database}" FROM PUBLIC'))
        conn.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
        conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
    try:
        yield make_url(url).set(username=role).render_as_string(hide_password=False)
    finally:
        admin.dispose()
        drop()  # drops the database (terminating the role's connections) ...
        cleanup = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with cleanup.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))  # ... then the role
        cleanup.dispose()
