"""The full page run as a user feels it, server side: `python -m bench.pages [--database-url URL]`.

For each role (super-admin, operator, analyst) the real app (app.py) is signed in through its login
form in Streamlit's AppTest, then every page the role may open is run: cold (its first run in this
sign-in, caches empty), warm (the median of `--reps` reruns: script + cached queries + figures), and a
filter change (the window 24h -> 7d, the queries not cached yet). The load average (1 min) is read
beside every figure. Default database: the embedded demo (no DATABASE_URL), with its summaries
back-filled first. Writes bench/out/pages-<name>.csv and .md and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
COLUMNS = ("role", "page", "cold_s", "cold_load", "warm_s", "warm_load", "filter_s", "filter_load", "error")
ROLES = ("super_admin", "operator", "analyst")
GOAL_WARM_S, GOAL_FILTER_S = 1.0, 1.5


def load1() -> float:
    return os.getloadavg()[0]


def timed(run) -> tuple[float, float]:
    """Seconds the call took, and the load average just before it."""
    load = load1()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started, load


def _environment(url: str | None) -> None:
    from auth.credentials import DEMO_CREDENTIALS

    os.environ.update({"CANARYWATCH_CREDENTIALS": str(DEMO_CREDENTIALS), "CANARYWATCH_LOGIN_SLEEP": "0",
                       "CANARYWATCH_COOKIE_KEY": "bench-cookie-key-" + "x" * 40,
                       "CANARYWATCH_SUMMARY_REFRESH": "off"})
    if url:
        os.environ["DATABASE_URL"] = url
    else:
        os.environ.pop("DATABASE_URL", None)


def _signed_in(role: str):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from auth.roles import Role
    from auth.session import DEMO_PASSWORDS

    username = {Role.SUPER_ADMIN: "admin", Role.OPERATOR: "operator", Role.ANALYST: "analyst"}[Role(role)]
    st.cache_data.clear()
    st.cache_resource.clear()
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.run()
    inputs = {t.label: t for t in app.text_input}
    inputs["Username"].input(username)
    inputs["Password"].input(DEMO_PASSWORDS[username])
    next(b for b in app.button if b.label == "Login").click()
    app.run()
    return app


def measure_role(role: str, reps: int) -> list[dict]:
    from auth.roles import Role
    from ui.filters import KEY_PRESET
    from ui.navigation import PAGES, allowed

    rows = []
    app = _signed_in(role)
    for spec in PAGES:
        if not allowed(spec, frozenset({Role(role)})):
            continue
        row: dict = {"role": role, "page": Path(spec.path).stem, "error": ""}
        try:
            row["cold_s"], row["cold_load"] = timed(lambda spec=spec: app.switch_page(spec.path).run())
            warm = [timed(app.run) for _ in range(reps)]
            row["warm_s"] = statistics.median(s for s, _ in warm)
            row["warm_load"] = statistics.mean(load for _, load in warm)
            window = [s for s in app.selectbox if s.key == KEY_PRESET]
            if window:
                row["filter_s"], row["filter_load"] = timed(lambda w=window[0]: w.set_value("7d").run())
                window[0].set_value("24h").run()
            if app.exception:
                row["error"] = str(app.exception[0].message)[:80]
        except Exception as exc:  # noqa: BLE001 - one page's failure is reported in its row
            row["error"] = type(exc).__name__
        rows.append(row)
        print(f"{role:12} {row['page']:11} cold {row.get('cold_s', 0):.2f} s  warm {row.get('warm_s', 0):.2f} s  "
              f"7d {row.get('filter_s', 0):.2f} s  (load {row.get('warm_load', 0):.1f}) {row['error']}",
              file=sys.stderr, flush=True)
    return rows


def markdown(rows: list[dict], header: str) -> str:
    def cell(row: dict, key: str, goal: float | None = None) -> str:
        if key not in row:
            return "–"
        mark = "" if goal is None else (" ✓" if row[key] < goal else " ✗")
        return f"{row[key]:.2f}{mark} (load {row[key.replace('_s', '_load')]:.1f})"

    lines = [header, "", "| role | page | cold s | warm s (goal < 1) | window 24h→7d s (goal < 1.5) | error |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['role']} | {row['page']} | {cell(row, 'cold_s')} | {cell(row, 'warm_s', GOAL_WARM_S)} "
                     f"| {cell(row, 'filter_s', GOAL_FILTER_S)} | {row['error']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: the embedded demo database")
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--name", default="demo")
    parser.add_argument("--no-refresh", action="store_true", help="measure with the summaries as they are")
    args = parser.parse_args(argv)
    _environment(args.database_url)
    if not args.no_refresh:
        from canarywatch_cli import main as cli

        started = time.perf_counter()
        code = cli(["summaries", "--backfill", *(["--database-url", args.database_url] if args.database_url else [])])
        print(f"summaries back-filled (exit {code}) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    rows = [row for role in args.roles.split(",") for row in measure_role(role, args.reps)]
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / f"pages-{args.name}.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    header = (f"Full page runs (AppTest: app.py signed in, script + queries + figures), database "
              f"{args.database_url or 'embedded demo'}, {os.cpu_count()} CPUs, load average (1 min) beside each "
              f"figure; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
    table = markdown(rows, header)
    (OUT / f"pages-{args.name}.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
