"""Build an upstream-shaped dataset inside PostgreSQL: `python -m bench.generate --size small`.

A fresh database on the local server (or `--reuse NAME`: keep a finished one and do nothing), the
schema from demo/schema.create_schema, then every table filled by INSERT ... SELECT over
generate_series in time order, at most `--workers` (2) tables at a time. Indexes and constraints are
dropped for the load and rebuilt afterwards exactly as create_schema made them (the upstream indexes
only), then VACUUM ANALYZE. Prints the time each table took.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, create_engine, text

from bench import sql, sql_more
from demo.schema import create_schema

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
DAYS = 90
CHUNK = 500_000

#: rows per table at each size (AIDraft, AIInteraction, overseer, webhook and function runs as issue 6 says)
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"Lead": 10_000, "AIDraft": 100_000, "AIInteraction": 200_000, "MeetingOverseerDecision": 30_000,
             "WebhookEvent": 10_000, "BackgroundFunctionRun": 10_000, "Appointment": 2_000,
             "FollowUpTask": 4_000, "BackgroundJob": 20_000},
    "small": {"Lead": 100_000, "AIDraft": 1_000_000, "AIInteraction": 2_000_000,
              "MeetingOverseerDecision": 300_000, "WebhookEvent": 100_000, "BackgroundFunctionRun": 100_000,
              "Appointment": 20_000, "FollowUpTask": 40_000, "BackgroundJob": 200_000},
    "large": {"Lead": 1_000_000, "AIDraft": 10_000_000, "AIInteraction": 20_000_000,
              "MeetingOverseerDecision": 3_000_000, "WebhookEvent": 1_000_000, "BackgroundFunctionRun": 1_000_000,
              "Appointment": 200_000, "FollowUpTask": 400_000, "BackgroundJob": 2_000_000},
}

STATEMENTS = {
    "Lead": sql.LEAD, "AIDraft": sql.DRAFT, "MeetingOverseerDecision": sql.OVERSEER,
    "AIInteraction": sql_more.INTERACTION, "WebhookEvent": sql_more.WEBHOOK,
    "BackgroundFunctionRun": sql_more.FUNCTION_RUN, "Appointment": sql_more.APPOINTMENT,
    "FollowUpTask": sql_more.TASK, "BackgroundJob": sql_more.JOB,
}

SESSION = ("SET synchronous_commit = off", "SET maintenance_work_mem = '1GB'", "SET work_mem = '64MB'",
           "SET max_parallel_maintenance_workers = 0", "SET statement_timeout = 0")

_print_lock = threading.Lock()


def say(message: str) -> None:
    with _print_lock:
        print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def db_url(name: str) -> str:
    return f"{SERVER}/{name}"


@dataclass(frozen=True)
class Plan:
    t0: datetime  # naive UTC
    span: int  # seconds
    sizes: dict[str, int]

    def params(self, table: str, lo: int, hi: int) -> dict:
        return {"lo": lo, "hi": hi, "n": self.sizes[table], "t0": self.t0, "span": self.span,
                "leads": self.sizes["Lead"]}


@dataclass(frozen=True)
class SavedIndexes:
    constraints: list[tuple[str, str, str]]  # table, constraint name, definition
    indexes: list[tuple[str, str]]  # table, CREATE INDEX statement


def database_exists(name: str) -> bool:
    admin = create_engine(db_url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    admin.dispose()
    return found is not None


def recreate_database(name: str) -> None:
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"database name must be letters, digits and underscores: {name!r}")
    admin = create_engine(db_url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def is_complete(engine: Engine) -> bool:
    with engine.connect() as conn:
        has = conn.execute(text("SELECT to_regclass('bench.meta') IS NOT NULL")).scalar()
        return bool(has) and conn.execute(text("SELECT value FROM bench.meta WHERE key = 'complete'")).scalar() == "yes"


def save_and_drop_indexes(engine: Engine) -> SavedIndexes:
    """Remember every public-schema constraint and index as create_schema made them, then drop them."""
    with engine.begin() as conn:
        constraints = [tuple(r) for r in conn.execute(text(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' AND c.contype IN ('p', 'u')"))]
        indexes = [tuple(r) for r in conn.execute(text(
            "SELECT format('%I', tablename), indexdef FROM pg_indexes i WHERE schemaname = 'public' AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"))]
        for table, name, _ in constraints:
            conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for _, indexdef in indexes:
            name = indexdef.split(" ON ")[0].split()[-1]
            conn.execute(text(f"DROP INDEX {name}"))
    return SavedIndexes(constraints, indexes)


def _session(conn: Connection) -> None:
    for statement in SESSION:
        conn.execute(text(statement))


def load_table(engine: Engine, plan: Plan, table: str, saved: SavedIndexes) -> dict[str, float]:
    """Fill one table chunk by chunk, rebuild its indexes, VACUUM ANALYZE it; seconds per phase."""
    n, statement = plan.sizes[table], STATEMENTS[table]
    started = time.monotonic()
    with engine.connect() as conn:
        _session(conn)
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK) - 1
            conn.execute(text(statement), plan.params(table, lo, hi))
            conn.commit()
            rate = (hi + 1) / max(time.monotonic() - started, 1e-6)
            say(f"{table}: {hi + 1:,}/{n:,} rows ({rate:,.0f} rows/s)")
        loaded = time.monotonic()
        quoted = f'"{table}"'
        for owner, name, definition in saved.constraints:
            if owner == quoted:
                conn.execute(text(f'ALTER TABLE {owner} ADD CONSTRAINT "{name}" {definition}'))
                conn.commit()
        for owner, indexdef in saved.indexes:
            if owner == quoted:
                conn.execute(text(indexdef))
                conn.commit()
        indexed = time.monotonic()
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(f"VACUUM ANALYZE {quoted}"))
    done = time.monotonic()
    timing = {"load_s": loaded - started, "index_s": indexed - loaded, "vacuum_s": done - indexed,
              "total_s": done - started}
    say(f"{table} done: {n:,} rows, load {timing['load_s']:.1f}s, indexes {timing['index_s']:.1f}s, "
        f"vacuum analyze {timing['vacuum_s']:.1f}s, total {timing['total_s']:.1f}s")
    return timing


def generate(name: str, size: str, workers: int) -> dict[str, dict[str, float]]:
    sizes = SIZES[size]
    end = datetime.now(UTC).replace(second=0, microsecond=0, tzinfo=None)
    plan = Plan(end - timedelta(days=DAYS), DAYS * 86400, sizes)
    recreate_database(name)
    engine = create_engine(db_url(name), pool_size=workers + 1)
    create_schema(engine)
    saved = save_and_drop_indexes(engine)
    with engine.begin() as conn:
        for statement in sql.HELPERS.split(";\n"):
            if statement.strip():
                conn.execute(text(statement))
        for statement in sql.WORKSPACE_ROWS.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), {"t0": plan.t0})
    small = {owner.strip('"') for owner, _ in saved.indexes} | {owner.strip('"') for owner, _, _ in saved.constraints}
    with engine.connect() as conn:
        for table in sorted(small - set(STATEMENTS)):
            _rebuild_small(conn, table, saved)
    say(f"database {name}: {size}, {DAYS} days ending {end:%Y-%m-%d %H:%M} UTC, {workers} workers")
    started = time.monotonic()
    order = sorted(STATEMENTS, key=lambda t: -sizes[t])
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {table: pool.submit(load_table, engine, plan, table, saved) for table in order}
        timings = {table: future.result() for table, future in futures.items()}
    with engine.begin() as conn:
        meta = {"size": size, "start": plan.t0.isoformat(), "end": end.isoformat(), "complete": "yes",
                "generation_s": f"{time.monotonic() - started:.1f}"}
        for key, value in meta.items():
            conn.execute(text("INSERT INTO bench.meta VALUES (:k, :v) ON CONFLICT (key) DO UPDATE SET value = :v"),
                         {"k": key, "v": value})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    say(f"generation finished in {time.monotonic() - started:.0f}s")
    return timings


def _rebuild_small(conn: Connection, table: str, saved: SavedIndexes) -> None:
    quoted = f'"{table}"'
    for owner, name, definition in saved.constraints:
        if owner == quoted:
            conn.execute(text(f'ALTER TABLE {owner} ADD CONSTRAINT "{name}" {definition}'))
    for owner, indexdef in saved.indexes:
        if owner == quoted:
            conn.execute(text(indexdef))
    conn.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--name", help="database name (default canarywatch_bench_<size>)")
    parser.add_argument("--reuse", metavar="NAME", help="keep this database if its generation finished")
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2))
    args = parser.parse_args(argv)
    name = args.reuse or args.name or f"canarywatch_bench_{args.size}"
    if args.reuse and database_exists(name):
        engine = create_engine(db_url(name))
        complete = is_complete(engine)
        engine.dispose()
        if complete:
            say(f"reusing {name} (generation finished earlier)")
            return 0
    timings = generate(name, args.size, args.workers)
    print("\n| table | rows | load s | indexes s | vacuum analyze s | total s |\n|---|---:|---:|---:|---:|---:|")
    for table, t in timings.items():
        print(f"| {table} | {SIZES[args.size][table]:,} | {t['load_s']:.1f} | {t['index_s']:.1f} | "
              f"{t['vacuum_s']:.1f} | {t['total_s']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
