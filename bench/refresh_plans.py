"""Where a refresh cycle's time goes: `python -m bench.refresh_plans --db NAME [--day YYYY-MM-DD] [--top N]`.

For every summarised query and stored variant, the SELECT the refresh inserts from for one day (the
query's own statement grouped by hour, over the day's temporary copies of AIDraft and Lead unless
--no-copies, summaries/refresh.py) is run under EXPLAIN (ANALYZE, BUFFERS) in a transaction that is
rolled back (only the temporary copies are made); prints the copies' time, each statement's time,
sorted, and the plans of the slowest. Runs with the refresh's work_mem.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta

from sqlalchemy import create_engine, text

from bench.generate import db_url
from queries.filters import Window
from summaries.declarations import DAY, HOUR_GRAIN, summarised_specs
from summaries.refresh import REFRESH_WORK_MEM, day_sources, query_statement, slot_grouped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--day", help="the UTC day (default: the day before the dataset's end)")
    parser.add_argument("--top", type=int, default=3, help="print the plans of this many slowest statements")
    parser.add_argument("--no-copies", action="store_true", help="read the upstream tables, as before issue 11")
    args = parser.parse_args(argv)
    engine = create_engine(db_url(args.db))
    timings: list[tuple[float, str, str]] = []
    with engine.connect() as conn:
        conn.execute(text(f"SET LOCAL work_mem = '{REFRESH_WORK_MEM}'"))
        if args.day:
            day = datetime.fromisoformat(args.day)
        else:
            end = datetime.fromisoformat(conn.execute(text("SELECT value FROM bench.meta WHERE key = 'end'")).scalar())
            day = end.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
        window = Window(day, day + DAY)
        began = time.perf_counter()
        sources = None if args.no_copies else day_sources(conn, day)
        copies_s = time.perf_counter() - began
        for spec in summarised_specs():
            for variant, options in spec.summary.stored_variants(spec.raw).items():
                if not spec.summary.in_sql:
                    continue
                stmt = query_statement(conn, spec, window, options)
                if spec.summary.hourly:
                    stmt = slot_grouped(stmt, spec.summary.time, HOUR_GRAIN)
                if sources is not None:
                    stmt = sources.apply(stmt)
                compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
                explain = f"EXPLAIN (ANALYZE, BUFFERS) {compiled}"
                plan = [row[0] for row in conn.exec_driver_sql(explain, compiled.params)]
                ms = float(plan[-1].split(":")[1].split()[0])  # "Execution Time: 12.345 ms"
                timings.append((ms, f"{spec.name} {variant}".rstrip(), "\n".join(plan)))
        conn.rollback()
    engine.dispose()
    timings.sort(reverse=True)
    copies = "no copies" if args.no_copies else f"the day's copies of AIDraft and Lead made in {copies_s:.2f} s"
    print(f"day {day:%Y-%m-%d}, load {os.getloadavg()[0]:.1f}: {copies}; {len(timings)} statements, "
          f"{sum(t for t, *_ in timings) / 1000:.2f} s of execution in all")
    for ms, name, _ in timings:
        print(f"{ms:9.1f} ms  {name}")
    for ms, name, plan in timings[: args.top]:
        print(f"\n--- {name} ({ms:.1f} ms)\n{plan}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
