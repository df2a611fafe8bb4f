"""Measure every page's queries on a generated database: `python -m bench.run --db NAME`.

First the summaries are brought up to date as of the dataset's end (a full back-fill the first time)
and one ordinary refresh cycle is timed 6 minutes later (the two recent days are due again). Then for
each page, window (24h, 7d, 30d, 90d ending at the dataset's end) and scope (all workspaces, the
largest one), each method runs in its own subprocess (bench/measure.py): summary-backed (what the
dashboard calls), the bare SQL aggregate (the same queries over the raw rows) and the naive way (raw
rows into pandas, bench/naive.py). Writes bench/out/<db>.csv and .md and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from bench.generate import db_url
from bench.measure import PAGES
from bench.naive import NAIVE_TABLES
from db.engine import write_engine
from summaries.declarations import summary_day
from summaries.refresh import RefreshPolicy, refresh_summaries

OUT = Path(__file__).resolve().parent / "out"
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}
METHODS = ("summary", "bare", "naive")
COLUMNS = ("page", "window", "scope", "method", "cold_s", "warm_s", "load1", "result_bytes", "raw_rows", "raw_bytes",
           "peak_rss_mib", "note")


def dataset(url: str) -> tuple[datetime, datetime, str, dict[str, float]]:
    """The dataset's [start, end), its largest workspace and the estimated rows per table."""
    engine = create_engine(url)
    with engine.connect() as conn:
        meta = dict(conn.execute(text("SELECT key, value FROM bench.meta")).all())
        largest = conn.execute(text('SELECT "clientId" FROM "Lead" GROUP BY 1 ORDER BY count(*) DESC LIMIT 1')).scalar()
        rows = dict(conn.execute(text("SELECT relname, reltuples FROM pg_class c JOIN pg_namespace n "
                                      "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND relkind = 'r'")).all())
    engine.dispose()
    return datetime.fromisoformat(meta["start"]), datetime.fromisoformat(meta["end"]), largest, rows


def refresh(url: str, end: datetime, keep_days: int | None = None) -> str:
    """Back-fill the summaries as of the dataset's end (the last `keep_days` days only, when given),
    then time one ordinary cycle 6 minutes later (after the newest stored refresh, so a second run
    measures a cycle too), and measure the summaries' storage."""
    engine = write_engine(url, statement_timeout_ms=600_000)
    policy = RefreshPolicy(keep_days=keep_days) if keep_days else RefreshPolicy()
    try:
        backfill = refresh_summaries(engine, now=end, backfill=True, policy=policy)
        with engine.connect() as conn:  # a run after an earlier one: 6 minutes after its last refresh
            newest = conn.execute(select(func.max(summary_day.c.refreshedAt))).scalar() or end
        later = max(end, newest) + timedelta(minutes=6)
        cycle = refresh_summaries(engine, now=later, policy=policy)
        load = os.getloadavg()[0]
        rotation = [cycle]  # the cycles (at the same moment) until nothing due is left over
        while rotation[-1].deferred and len(rotation) < 200:
            rotation.append(refresh_summaries(engine, now=later, policy=policy))
    finally:
        engine.dispose()
    slowest = max(backfill.day_seconds.values(), default=0.0)
    longest = max(rotation, key=lambda report: report.seconds)
    lines = [f"Summaries back-fill: {backfill.line()} (slowest day {slowest:.1f} s).",
             f"One refresh cycle (the two recent days and today's hours due again): {cycle.line()} (load {load:.1f}).",
             f"Slowest queries of that cycle: {cycle.slowest()}.",
             f"All that was due took {len(rotation)} cycle(s), {sum(r.seconds for r in rotation):.1f} s in all; the "
             f"longest cycle {longest.seconds:.2f} s ({longest.planning_seconds:.2f} s choosing the days); "
             f"at one cycle a minute the recent answers are re-aggregated every {max(len(rotation), 5)} minutes "
             f"(load {os.getloadavg()[0]:.1f}).",
             f"Summary storage: {storage(url)}.",
             *(f"FAIL {line}" for line in [*backfill.failure_lines(), *cycle.failure_lines()])]
    for line in lines:
        print(line, file=sys.stderr, flush=True)
    return "\n".join(f"- {line}" for line in lines)


def storage(url: str) -> str:
    """The summary tables' size (tables, indexes, TOAST) against the upstream tables', and their rows."""
    engine = create_engine(url)
    with engine.connect() as conn:
        sizes = dict(conn.execute(text(
            "SELECT n.nspname = 'public', sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND (n.nspname = 'public' "
            "OR (n.nspname = 'canarywatch' AND c.relname LIKE 'summary%')) GROUP BY 1")).all())
        rows = conn.execute(text("SELECT sum(reltuples) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                 "WHERE n.nspname = 'canarywatch' AND c.relname LIKE 'summary%' "
                                 "AND c.relkind = 'r' AND c.reltuples > 0")).scalar()
    engine.dispose()
    summaries, source = float(sizes.get(False) or 0), float(sizes.get(True) or 0)
    return (f"{summaries / 2**20:,.0f} MiB in ~{float(rows or 0):,.0f} rows, {summaries / max(source, 1):.1%} of the "
            f"upstream tables' {source / 2**20:,.0f} MiB")


def measure(url: str, page: str, method: str, start: datetime, end: datetime, workspaces: list[str],
            reps: int, limit_s: float) -> dict:
    args = {"url": url, "page": page, "method": method, "start": start.isoformat(), "end": end.isoformat(),
            "workspaces": workspaces, "reps": reps}
    load = os.getloadavg()[0]  # beside every figure: the machine is shared
    try:
        done = subprocess.run([sys.executable, "-m", "bench.measure", json.dumps(args)], capture_output=True,
                              text=True, cwd=Path(__file__).resolve().parent.parent, timeout=limit_s)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped: over {limit_s:.0f} s"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "load1": load}


def markdown(rows: list[dict]) -> str:
    """One line per page, window and scope; the methods side by side."""
    head = ("| page | window | scope | summary warm/cold s | bare warm/cold s | naive warm/cold s | "
            "30x/10x: naive÷summary, bare÷summary | result KB (summary/bare/naive) | naive raw rows / MB | "
            "peak RSS MiB (summary/bare/naive) |")
    lines = [head, "|" + "---|" * 10]
    keyed = {(r["page"], r["window"], r["scope"], r["method"]): r for r in rows}
    for page in PAGES:
        for window in WINDOWS:
            for scope in ("all", "one"):
                cells = [keyed.get((page, window, scope, m)) for m in METHODS]
                if not any(cells):
                    continue
                lines.append(_line(page, window, scope, cells))
    return "\n".join(lines)


def _line(page: str, window: str, scope: str, cells: list[dict | None]) -> str:
    def times(c):
        if c is None:
            return "–"
        return c["note"] if c.get("note") else f"{c['warm_s']:.3f} / {c['cold_s']:.3f} (load {c['load1']:.1f})"

    def num(c, key, scale=1.0, fmt="{:.1f}"):
        return fmt.format(c[key] / scale) if c and not c.get("note") else "–"

    s, b, n = cells
    ratio = "–"
    if s and not s.get("note"):
        parts = [f"{x['warm_s'] / max(s['warm_s'], 1e-6):.0f}x" if x and not x.get("note") else "–" for x in (n, b)]
        ratio = ", ".join(parts)
    kb = " / ".join(num(c, "result_bytes", 1024) for c in cells)
    raw = f"{n['raw_rows']:,} / {n['raw_bytes'] / 2**20:.0f}" if n and not n.get("note") else "–"
    rss = " / ".join(num(c, "peak_rss_mib", fmt="{:.0f}") for c in cells)
    return f"| {page} | {window} | {scope} | {times(s)} | {times(b)} | {times(n)} | {ratio} | {kb} | {raw} | {rss} |"


def write_outputs(db: str, rows: list[dict], start: datetime, end: datetime, largest: str, refreshed: str) -> str:
    """bench/out/<db>.csv and .md from the rows measured so far; returns the Markdown table."""
    with (OUT / f"{db}.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    table = markdown(rows)
    (OUT / f"{db}.md").write_text(f"Dataset {db}: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC, "
                                  f"one workspace = the largest ({largest}).\n\n{refreshed}\n\n{table}\n")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--windows", default=",".join(WINDOWS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--scopes", default="all,one")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--limit-s", type=float, default=1800, help="stop one measurement after this long")
    parser.add_argument("--name", help="output file name (default: the database name)")
    parser.add_argument("--no-refresh", action="store_true", help="measure with the summaries as they are")
    parser.add_argument("--keep-days", type=int, help="back-fill only the last N days (a shorter first run)")
    parser.add_argument("--refresh-only", action="store_true",
                        help="back-fill, time one refresh cycle and measure the summaries' storage; no pages")
    parser.add_argument("--naive-max-rows", type=float, default=4e6,
                        help="skip the naive way when its estimated raw rows exceed this (memory guard)")
    args = parser.parse_args(argv)
    url = db_url(args.db)
    start, end, largest, table_rows = dataset(url)
    days = (end - start).total_seconds() / 86400
    refreshed = "" if args.no_refresh else refresh(url, end, args.keep_days)
    if args.refresh_only:
        return 0
    rows: list[dict] = []
    OUT.mkdir(exist_ok=True)
    began = time.monotonic()
    for page in args.pages.split(","):
        for window in args.windows.split(","):
            for scope in args.scopes.split(","):
                for method in args.methods.split(","):
                    row = {"page": page, "window": window, "scope": scope, "method": method, "note": ""}
                    estimate = sum(table_rows.get(t, 0) for t in NAIVE_TABLES[page]) * min(
                        1.0, WINDOWS[window].total_seconds() / 86400 / days)
                    if method == "naive" and scope == "all" and estimate > args.naive_max_rows:
                        row["note"] = f"skipped: ~{estimate / 1e6:.1f}M raw rows"
                    else:
                        got = measure(url, page, method, end - WINDOWS[window], end,
                                      [largest] if scope == "one" else [], args.reps, args.limit_s)
                        if "error" in got:
                            row["note"] = got["error"][:80]
                        row.update({k: v for k, v in got.items() if k != "error"})
                    rows.append(row)
                    # a long run keeps what it has measured so far
                    write_outputs(args.name or args.db, rows, start, end, largest, refreshed)
                    print(f"[{time.monotonic() - began:6.0f}s] {page} {window} {scope} {method}: "
                          f"{row.get('warm_s', row['note'])}", file=sys.stderr, flush=True)
    table = write_outputs(args.name or args.db, rows, start, end, largest, refreshed)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
