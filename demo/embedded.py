"""The embedded default: a seeded SQLite demo database the app creates for itself.

Used when DATABASE_URL is unset. The file is (re)built when it is missing, unreadable, was built
with another seed or scale, or its data ends more than 24 hours ago (the dashboards look at recent
hours). Builds go to a temp file in the same folder and are renamed into place atomically, so two
processes starting at once each end up with a complete database (the last rename wins).

The dashboard builds in the background (`prepare_demo_database`): a missing database is first
replaced by an empty one with every table, so the sign-in form (and its failed-sign-in records)
works at once while the data is generated; the app shows the build's progress until it is done.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from db.config import demo_url
from db.engine import read_engine, write_engine
from demo.story import DEFAULT_SCALE, Story, floor_hour, story_for
from queries.filters import as_utc, naive_utc

DEFAULT_SEED = 7
ROOT = Path(__file__).resolve().parent.parent
MAX_AGE = timedelta(hours=24)


def record_demo_info(engine: Engine, story: Story, *, seed: int, scale: int) -> None:
    """Store the generation parameters beside the data (canarywatch's state schema)."""
    from db.state import demo_info, ensure_state_schema

    ensure_state_schema(engine)
    with engine.begin() as conn:
        conn.execute(demo_info.delete())
        conn.execute(insert(demo_info).values(id=1, generatedEnd=naive_utc(story.end), seed=seed, scale=scale,
                                              builtAt=naive_utc(datetime.now(UTC))))


def stored_demo_info(path: Path) -> tuple[datetime, int, int] | None:
    """(end, seed, scale) of the demo database at `path`, or None if it has none or cannot be read."""
    if not path.is_file():
        return None
    from db.state import demo_info  # the tables are imported only when there is a file to read

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
    from db.state import ensure_state_schema

    engine = write_engine(demo_url(path))
    try:
        ensure_state_schema(engine)
    finally:
        engine.dispose()


def build_demo_database(path: Path, *, seed: int, scale: int, end: datetime) -> Story:
    """Build into a temp file beside `path`, then atomically rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    from demo.generate import seed_demo  # imports the tables and pandas: only where a database is built
    from demo.schema import create_schema

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


#: how long a default build usually takes on 2 busy cores (for the progress bar; measured ~7 s)
TYPICAL_BUILD_SECONDS = 10.0


@dataclass
class DemoBuild:
    """A demo database being built in a background thread."""

    path: Path
    story: Story
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    _callbacks: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def progress(self) -> float:
        """1.0 when done, else the elapsed share of a typical build, at most 0.95."""
        return 1.0 if self.done.is_set() else min(0.95, self.elapsed() / TYPICAL_BUILD_SECONDS)

    def when_done(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the build is done (at once if it is)."""
        with self._lock:
            if not self.done.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def _finish(self, error: str | None) -> None:
        with self._lock:
            self.error = error
            self.done.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


def fresh_demo_story(path: Path, *, seed: int = DEFAULT_SEED, scale: int = DEFAULT_SCALE,
                     now: datetime | None = None) -> Story | None:
    """The story of the demo database at `path` when it is fresh and was built this way, else None."""
    now = as_utc(now or datetime.now(UTC))
    info = stored_demo_info(path)
    if info is not None:
        end, stored_seed, stored_scale = info
        if (stored_seed, stored_scale) == (seed, scale) and now - end <= MAX_AGE:
            return story_for(end)
    return None


def place_empty_database(path: Path) -> None:
    """Atomically put a database with every table and no rows at `path`."""
    from demo.schema import create_schema

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.empty.tmp"
    try:
        engine = write_engine(demo_url(tmp))
        try:
            create_schema(engine)
        finally:
            engine.dispose()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def prepare_demo_database(path: Path, *, seed: int = DEFAULT_SEED, scale: int = DEFAULT_SCALE,
                          now: datetime | None = None) -> tuple[Story, DemoBuild | None]:
    """The demo story at once: (story, None) when a fresh database is at `path`; else (story, build)
    with the build running in a child process (which first puts an empty database with every table in
    place when the file has no usable tables, so sign-in can record failures meanwhile)."""
    now = as_utc(now or datetime.now(UTC))
    story = fresh_demo_story(path, seed=seed, scale=scale, now=now)
    if story is not None:
        return story, None
    end = floor_hour(now)
    build = DemoBuild(path, story_for(end))
    # a child process, not a thread: generating the data is CPU-bound Python and would hold the GIL
    # the first page runs need
    proc = subprocess.Popen(
        [sys.executable, "-m", "demo.embedded", str(path), str(seed), str(scale), end.isoformat()],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )

    def wait() -> None:
        _, err = proc.communicate()
        lines = (err or "").strip().splitlines()
        build._finish(None if proc.returncode == 0 else (lines[-1] if lines else f"exit code {proc.returncode}"))

    threading.Thread(target=wait, name="canarywatch-demo-build", daemon=True).start()
    return build.story, build


def _main(argv: list[str]) -> int:
    """`python -m demo.embedded PATH SEED SCALE END`: build the demo database (the app's child process)."""
    path, seed, scale, end = argv
    if hasattr(os, "nice"):
        os.nice(10)  # the dashboard's first runs (the sign-in form) come before the demo data on a busy machine
    if stored_demo_info(Path(path)) is None:
        place_empty_database(Path(path))
    build_demo_database(Path(path), seed=int(seed), scale=int(scale), end=as_utc(datetime.fromisoformat(end)))
    return 0



def __getattr__(name: str) -> object:
    """`demo.embedded.demo_info` as before, imported on first use (the app's first run does without it)."""
    if name == "demo_info":
        from db.state import demo_info

        return demo_info
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
