"""The app's databases, built once per process and shared across sessions (st.cache_resource)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from db.config import DatabaseConfig, load_config
from db.engine import read_engine, write_engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppContext:
    config: DatabaseConfig
    read: Engine
    write: Engine
    demo_end: object = None  # the demo Story when running on the embedded demo
    demo_build: object = None  # a demo.embedded.DemoBuild while the demo database is being built

    @property
    def ready(self) -> bool:
        """False while the embedded demo database is still being built (sign-in works, pages wait)."""
        return self.demo_build is None or self.demo_build.done.is_set()

    @property
    def demo(self) -> bool:
        return self.config.demo

    def describe_database(self) -> str:
        url = make_url(self.config.read_url)
        if url.get_backend_name() == "sqlite":
            return f"SQLite file {Path(url.database or '').name}"
        return f"{url.get_backend_name()} database {url.database} on {url.host}"


@st.cache_resource(show_spinner="Opening the database…")
def app_context() -> AppContext:
    config = load_config()
    story = build = None
    if config.demo:
        from demo.embedded import prepare_demo_database

        # built in the background: the sign-in form must not wait for the demo data (issue 13)
        story, build = prepare_demo_database(Path(make_url(config.read_url).database or ""))
    ctx = AppContext(
        config,
        read_engine(config.read_url, statement_timeout_ms=config.statement_timeout_ms),
        write_engine(config.write_url, statement_timeout_ms=config.statement_timeout_ms),
        story,
        build,
    )
    if build is not None:
        # pooled connections still hold the file the build renamed over: open the new one
        build.when_done(lambda: (ctx.read.dispose(), ctx.write.dispose()))
    elif not config.demo:
        migrate_where_allowed(ctx.write)
    return ctx


def migrate_where_allowed(write: Engine) -> None:
    """Bring canarywatch's state schema to the newest revision on start, where the write role may (under
    the migrations' advisory lock, so replicas can start together). A read-only deployment, or one whose
    operators run `canarywatch migrate` themselves, carries on: the writes that need the schema say so."""
    from db.state import StateSchemaError, ensure_state_schema  # not on the demo's first run (the sign-in form)

    try:
        ensure_state_schema(write)
    except (SQLAlchemyError, StateSchemaError) as exc:
        log.warning("canarywatch state schema not migrated on start (%s); run `canarywatch migrate` with the "
                    "write role", type(exc).__name__)
