"""Fixtures: every database test runs once on SQLite and once on PostgreSQL.

- `backend` (session): the test database of each backend; `db` empties it before every test.
- `demo_backend` (session): a second database of each backend holding the demo data set (scale 120,
  ending DEMO_END), seeded once per session and never cleared: for read-only use through `demo_db`.
  Tests that plant rows (`db`) cannot wipe it, whatever order pytest runs modules in.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection

from demo.generate import seed_demo
from demo.story import Story
from tests.backends import Backend, empty, open_backend
from tests.seed import Seed

BACKENDS = ("sqlite", "postgresql")

# No background summary refresher in the app under test (tests refresh explicitly, tests/test_summaries.py).
os.environ.setdefault("CANARYWATCH_SUMMARY_REFRESH", "off")


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    opened = open_backend(request.param, tmp_path_factory.mktemp(request.param))
    yield opened
    opened.dispose()


@dataclass
class DB:
    backend: Backend
    conn: Connection
    seed: Seed

    @property
    def name(self) -> str:
        return self.backend.name


@pytest.fixture
def db(backend: Backend) -> Iterator[DB]:
    """An empty database (both backends), a read-only connection to it, and a seeder."""
    empty(backend.write)
    with backend.read.connect() as conn:
        yield DB(backend, conn, Seed(backend.write))


DEMO_END = datetime(2026, 2, 20, 0, 0, tzinfo=UTC)


@dataclass
class DemoDB:
    backend: Backend
    conn: Connection
    story: Story


@pytest.fixture(scope="session")
def demo_backend(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backend, Story]]:
    """Its own database per backend with the demo data set at its default scale, seeded once per session."""
    opened = open_backend(backend.name, tmp_path_factory.mktemp(f"{backend.name}-demo"), prefix="cw_test_demo")
    story = seed_demo(opened.write, scale=120, end=DEMO_END)
    yield opened, story
    opened.dispose()


@pytest.fixture(scope="module")
def demo_db(demo_backend: tuple[Backend, Story]) -> Iterator[DemoDB]:
    """The demo data set at its default scale on each backend (read-only use: it is shared by the session)."""
    backend, story = demo_backend
    with backend.read.connect() as conn:
        yield DemoDB(backend, conn, story)


LIVE_SCALE = 30  # drafts per day per workspace: enough for every chart, quick to seed


@pytest.fixture(scope="session")
def live_backend(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backend, Story]]:
    """Its own database per backend with the demo data set ending when the session started (so the pages'
    default 24h window has data), seeded once per session; used through tests/pages_support.live_demo."""
    opened = open_backend(backend.name, tmp_path_factory.mktemp(f"{backend.name}-live"), prefix="cw_test_live")
    story = seed_demo(opened.write, scale=LIVE_SCALE, end=datetime.now(UTC))
    yield opened, story
    opened.dispose()
