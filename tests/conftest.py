"""Fixtures: every database test runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection

from demo.generate import seed_demo
from demo.schema import clear_all
from demo.story import Story
from tests.backends import Backend, open_backend
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
    clear_all(backend.write)
    with backend.read.connect() as conn:
        yield DB(backend, conn, Seed(backend.write))


DEMO_END = datetime(2026, 2, 20, 0, 0, tzinfo=UTC)


@dataclass
class DemoDB:
    backend: Backend
    conn: Connection
    story: Story


@pytest.fixture(scope="module")
def demo_db(backend: Backend) -> Iterator[DemoDB]:
    """The demo data set at its default scale, seeded once per test module and backend (read-only use)."""
    clear_all(backend.write)
    story = seed_demo(backend.write, scale=120, end=DEMO_END)
    with backend.read.connect() as conn:
        yield DemoDB(backend, conn, story)
    clear_all(backend.write)
