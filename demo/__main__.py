"""Seed the demo data set into any database: `python -m demo --url URL [--seed 7] [--scale N] [--end ISO8601]`.

Creates the schema first, refuses a database that already holds upstream rows, then prints the
rows written per table and the seconds it took.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

from sqlalchemy import Engine, func, select

from db import upstream as up
from db.engine import write_engine
from demo.embedded import DEFAULT_SEED, record_demo_info
from demo.generate import DEFAULT_SCALE, seed_demo
from demo.schema import create_schema
from queries.filters import as_utc


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL, e.g. sqlite:////tmp/demo.sqlite or "
                                                     "postgresql+psycopg://user@host/db")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--scale", type=int, default=DEFAULT_SCALE, help="drafts per day per workspace")
    parser.add_argument("--end", type=_iso, default=None,
                        help="end of the data, ISO 8601 (naive = UTC; default: now floored to the hour)")
    return parser.parse_args(argv)


def _iso(text: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc


def _non_empty_tables(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [t.name for t in up.upstream_metadata.sorted_tables
                if conn.execute(select(func.count()).select_from(t)).scalar_one() > 0]


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.perf_counter()
    engine = write_engine(args.url, statement_timeout_ms=600_000)
    try:
        create_schema(engine)
        occupied = _non_empty_tables(engine)
        if occupied:
            print(f"refusing to seed: the database already has rows in {', '.join(occupied)}; "
                  "point --url at an empty database", file=sys.stderr)
            return 2
        story = seed_demo(engine, seed=args.seed, scale=args.scale, end=args.end)
        record_demo_info(engine, story, seed=args.seed, scale=args.scale)
        with engine.connect() as conn:
            counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                      for t in up.upstream_metadata.sorted_tables}
    finally:
        engine.dispose()
    width = max(len(name) for name in counts)
    for name, count in counts.items():
        print(f"{name:<{width}}  {count:>8}")
    print(f"{'total':<{width}}  {sum(counts.values()):>8}")
    print(f"seeded seed={args.seed} scale={args.scale} end={story.end:%Y-%m-%dT%H:%M}Z "
          f"canary={story.canary} rollout_at={story.rollout_at:%Y-%m-%dT%H:%M}Z "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
