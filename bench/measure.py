"""One measurement in its own process (so its peak memory is its own): `python -m bench.measure '<json>'`.

Input: {"url", "page", "method", "start", "end", "workspaces", "reps"}. Output (one JSON line on stdout):
cold seconds (first run on a fresh connection after DISCARD ALL), warm seconds (median of `reps` further
runs on that connection), result bytes (the frames the page gets), raw bytes (rows pulled into pandas by
the naive way), raw rows, the process's peak RSS in MiB and the RSS right after imports.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from bench import naive
from db.engine import READ_WORK_MEM
from queries import booking, bundle, drafts, offload, overseer, revision, telemetry  # noqa: F401
from queries.filters import Window
from queries.registry import REGISTRY, QuerySpec
from summaries.reading import SummaryReader

#: page -> the registry prefix of its queries (issue 6's grouping)
PAGES = {"confidence": "drafts", "revision": "revision", "overseer": "overseer", "bundle": "bundle",
         "booking": "booking", "offload": "offload", "telemetry": "telemetry"}


def page_queries(page: str) -> list[QuerySpec]:
    prefix = PAGES[page] + "."
    return [spec for name, spec in sorted(REGISTRY.items()) if name.startswith(prefix)]


def frame_bytes(frames) -> int:
    return int(sum(f.memory_usage(deep=True).sum() for f in frames if isinstance(f, pd.DataFrame)))


def run_bare(conn: Connection, page: str, f: Window) -> tuple[int, int, int]:
    """Every registered query of the page over the raw rows (aggregated in SQL, no summaries)."""
    frames = [spec.raw(conn, f) for spec in page_queries(page)]
    return frame_bytes(frames), 0, 0


def run_summary(conn: Connection, page: str, f: Window) -> tuple[int, int, int]:
    """Every registered query of the page as the dashboard calls it: stored days plus raw edges."""
    reader = SummaryReader(conn)
    frames = [spec.func(reader, f) for spec in page_queries(page)]
    return frame_bytes(frames), 0, 0


def run_naive(conn: Connection, page: str, f: Window) -> tuple[int, int, int]:
    raw, out = naive.NAIVE[page](conn, f)
    return frame_bytes(out.values()), frame_bytes(raw.values()), int(sum(len(r) for r in raw.values()))


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    args = json.loads(argv[0])
    runner = {"bare": run_bare, "naive": run_naive, "summary": run_summary}[args["method"]]
    f = Window(datetime.fromisoformat(args["start"]), datetime.fromisoformat(args["end"]),
               workspaces=tuple(args["workspaces"]))
    engine = create_engine(args["url"], poolclass=NullPool)
    base_rss = rss_mib()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # as the dashboard: no open txn
        conn.execute(text("DISCARD ALL"))
        if args["method"] == "summary":  # as the dashboard's read engine sets it at connect
            conn.execute(text(f"SET work_mem = '{READ_WORK_MEM}'"))
        t = time.perf_counter()
        result_bytes, raw_bytes, raw_rows = runner(conn, args["page"], f)
        cold = time.perf_counter() - t
        conn.rollback()
        warm_times = []
        for _ in range(args["reps"] if cold < 20 else 1):
            t = time.perf_counter()
            runner(conn, args["page"], f)
            warm_times.append(time.perf_counter() - t)
            conn.rollback()
    print(json.dumps({"cold_s": cold, "warm_s": statistics.median(warm_times), "result_bytes": result_bytes,
                      "raw_bytes": raw_bytes, "raw_rows": raw_rows, "peak_rss_mib": rss_mib(),
                      "import_rss_mib": base_rss}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
