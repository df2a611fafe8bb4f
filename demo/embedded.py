"""The embedded default: a seeded SQLite demo database the app creates for itself.

Used when DATABASE_URL is unset. The file is (re)built when it is missing, unreadable, was built
with another seed or scale, or its data ends more than 24 hours ago (the dashboards look at recent
hours). Builds go to a temp file in the same folder and are renamed into place atomically, so two
processes starting at once each end up with a complete database (the last rename wins).
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from db.config import demo_url
from db.engine import read_engine, write_engine
from db.state import demo_info, ensure_state_schema
from demo.generate import DEFAULT_SCALE, seed_demo
from demo.schema import create_schema
from demo.story import Story, floor_hour, story_for
from queries.filters import as_utc, naive_utc

DEFAULT_SEED = 7
MAX_AGE = timedelta(hours=24)


def record_demo_info(engine: Engine, story: Story, *, seed: int, scale: int) -> None:
    """Store the generation parameters beside the data (canarywatch's state schema)."""
    ensure_state_schema(engine)
    with engine.begin() as conn:
        conn.execute(demo_info.delete())
        conn.execute(insert(demo_info).values(id=1, generatedEnd=naive_utc(story.end), seed=seed, scale=scale,
                                              builtAt=naive_utc(datetime.now(UTC))))


def stored_demo_info(path: Path) -> tuple[datetime, int, int] | None:
    """(end, seed, scale) of the demo database at `path`, or None if it has none or cannot be read."""
    if not path.is_file():
        return None
    engine = read_engine(demo_url(path))
    try:
        with engine.connect() as conn:
            row = conn.execute(select(demo_info.c.generatedEnd, demo_info.c.seed, demo_info.c.scale)).first()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    return None if row is None else (as_utc(row[0]), int(row[1]), int(row[2]))


def ensure_demo_database(path: Path, *, seed: int = DEFAULT_SEED, scale: int = DEFAULT_SCALE,
                         now: datetime | None = None) -> Story:
    """Make sure a fresh demo database is at `path`, building it if needed; return its story."""
    now = as_utc(now or datetime.now(UTC))
    info = stored_demo_info(path)
    if info is not None:
        end, stored_seed, stored_scale = info
        if (stored_seed, stored_scale) == (seed, scale) and now - end <= MAX_AGE:
            _migrate(path)  # a demo file kept from an older canarywatch gets the newer state revisions
            return story_for(end)
    return build_demo_database(path, seed=seed, scale=scale, end=floor_hour(now))


def _migrate(path: Path) -> None:
    engine = write_engine(demo_url(path))
    try:
        ensure_state_schema(engine)
    finally:
        engine.dispose()


def build_demo_database(path: Path, *, seed: int, scale: int, end: datetime) -> Story:
    """Build into a temp file beside `path`, then atomically rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        engine = write_engine(demo_url(tmp))
        try:
            create_schema(engine)
            story = seed_demo(engine, seed=seed, scale=scale, end=end)
            record_demo_info(engine, story, seed=seed, scale=scale)
        finally:
            engine.dispose()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return story
