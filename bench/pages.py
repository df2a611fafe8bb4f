"""The full page run as a user feels it, server side: `python -m bench.pages [--db NAME | --database-url URL]`.

The real app (app.py) is signed in through its login form in Streamlit's AppTest and every page the
role may open is run. Two tables:

- the demo table (default, the embedded demo; every role): per page cold (its first run in this
  sign-in, caches empty), warm (the median of `--reps` reruns: script + cached queries + figures) and a
  filter change (the window 24h -> 7d, the queries not cached yet);
- the grid (`--db NAME` for a generated bench database, or `--grid` on the demo): per page, scope (all
  workspaces, the largest one) and window (24h, 7d, 30d, 90d), cold (every cache emptied first, then the
  widgets set: the run a person waits for after changing the filter) and warm, with the database time
  of the cold run (`db_s`: statement execution plus turning results into frames) beside it. The canary
  page has no sidebar window: its canary is the largest workspace with the split `window` before now
  (its baseline the equal window before that).

The summaries are back-filled first through `canarywatch summaries --backfill` (`--no-refresh` to
measure them as they are). The load average (1 min) is read beside every figure. `--profile` writes a
cProfile of every cold and warm run to bench/out/profile-<name>-<page>-<scope>-<window>-<run>.txt.
Writes bench/out/pages-<name>.csv and .md and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
COLUMNS = ("role", "page", "cold_s", "cold_load", "warm_s", "warm_load", "filter_s", "filter_load", "error")
GRID_COLUMNS = ("role", "page", "scope", "window", "cold_s", "cold_db_s", "cold_load", "warm_s", "warm_db_s",
                "warm_load", "next_s", "next_db_s", "next_load", "error")
ROLES = ("super_admin", "operator", "analyst")
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}
GOAL_WARM_S, GOAL_FILTER_S, GOAL_QUERIES_S = 1.0, 1.5, 0.3
USERNAMES = {"super_admin": "admin", "operator": "operator", "analyst": "analyst"}
CANARY_PAGE = "canary"
CANARY_WORKSPACES, CANARY_LIVE = "cw_canary_workspaces", "cw_canary_live"


def load1() -> float:
    return os.getloadavg()[0]


def timed(run) -> tuple[float, float]:
    """Seconds the call took, and the load average just before it."""
    load = load1()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started, load


# -- database time and profiles of the script thread ------------------------------------------------

class DbClock:
    """Seconds spent executing statements (cursor.execute) and building frames from their results, in any
    thread: AppTest runs the script in a thread of its own."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started: dict[int, float] = {}

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        import queries.frame

        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)
        build = queries.frame.frame_from_result

        def frame_from_result(result):
            started = time.perf_counter()
            try:
                return build(result)
            finally:
                self.seconds += time.perf_counter() - started

        queries.frame.frame_from_result = frame_from_result  # read_frame looks it up at call time

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        started = self._started.pop(id(cursor), None)
        if started is not None:
            self.seconds += time.perf_counter() - started


CLOCK = DbClock()
PROFILE: dict[str, cProfile.Profile | None] = {"current": None}


def _profile_script_thread() -> None:
    """Profile the script thread while PROFILE['current'] is set (cProfile sees one thread only)."""
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    original = LocalScriptRunner._run_script_thread

    def run_script_thread(self) -> None:
        profiler = PROFILE["current"]
        if profiler is None:
            return original(self)
        profiler.enable()
        try:
            return original(self)
        finally:
            profiler.disable()

    LocalScriptRunner._run_script_thread = run_script_thread


def measured(run: Callable[[], object], profile_to: Path | None = None) -> tuple[float, float, float]:
    """(seconds, database seconds, load average before) of one run, profiled into `profile_to` if given."""
    if profile_to is not None:
        PROFILE["current"] = cProfile.Profile()
    before = CLOCK.seconds
    try:
        seconds, load = timed(run)
    finally:
        profiler, PROFILE["current"] = PROFILE["current"], None
    if profiler is not None and profile_to is not None:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text).sort_stats("cumulative")
        stats.print_stats(60)
        stats.sort_stats("tottime").print_stats(40)
        profile_to.write_text(text.getvalue())
    return seconds, CLOCK.seconds - before, load


# -- signing in ------------------------------------------------------------------------------------

def _bench_credentials() -> tuple[Path, dict[str, str]]:
    """Users with the demo's usernames and roles and random passwords (the shipped demo users are refused
    against a real database)."""
    import secrets

    import bcrypt
    import yaml

    passwords = {name: secrets.token_urlsafe(16) for name in USERNAMES.values()}
    users = {name: {"name": f"Bench {role}", "roles": [role],
                    "password": bcrypt.hashpw(passwords[name].encode(), bcrypt.gensalt(rounds=4)).decode()}
             for role, name in USERNAMES.items()}
    path = Path(tempfile.mkdtemp(prefix="canarywatch-bench-creds-")) / "credentials.yaml"
    path.write_text(yaml.safe_dump({"credentials": {"usernames": users}}), encoding="utf-8")
    return path, passwords


PASSWORDS: dict[str, str] = {}


def _environment(url: str | None) -> None:
    import secrets

    os.environ.update({"CANARYWATCH_LOGIN_SLEEP": "0", "CANARYWATCH_COOKIE_KEY": secrets.token_hex(32),
                       "CANARYWATCH_SUMMARY_REFRESH": "off"})
    if url:
        path, passwords = _bench_credentials()
        os.environ["DATABASE_URL"] = url
    else:
        from auth.credentials import DEMO_CREDENTIALS
        from auth.session import DEMO_PASSWORDS

        path, passwords = DEMO_CREDENTIALS, DEMO_PASSWORDS
        os.environ.pop("DATABASE_URL", None)
    os.environ["CANARYWATCH_CREDENTIALS"] = str(path)
    PASSWORDS.update(passwords)


def _signed_in(role: str):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    username = USERNAMES[role]
    st.cache_data.clear()
    st.cache_resource.clear()
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    app.run()
    inputs = {t.label: t for t in app.text_input}
    inputs["Username"].input(username)
    inputs["Password"].input(PASSWORDS[username])
    next(b for b in app.button if b.label == "Login").click()
    app.run()
    return app


def _pages(role: str, wanted: list[str] | None):
    from auth.roles import Role
    from ui.navigation import PAGES, allowed

    specs = [spec for spec in PAGES if allowed(spec, frozenset({Role(role)}))]
    if wanted is None:
        return specs
    by_stem = {Path(spec.path).stem: spec for spec in specs}
    return [by_stem[stem] for stem in wanted if stem in by_stem]


# -- the demo table: every page, cold / warm / 24h -> 7d --------------------------------------------

def measure_role(role: str, reps: int, wanted: list[str] | None = None) -> list[dict]:
    from ui.filters import KEY_PRESET

    rows = []
    app = _signed_in(role)
    for spec in _pages(role, wanted):
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


# -- the grid: page x scope x window, cold and warm -------------------------------------------------

def largest_workspace(url: str | None) -> str:
    """The workspace with the most leads (bench.run's "one workspace")."""
    from sqlalchemy import func, select

    from db.upstream import lead
    from ui.context import app_context

    with app_context().read.connect() as conn:
        return conn.execute(select(lead.c.clientId).group_by(lead.c.clientId)
                            .order_by(func.count().desc(), lead.c.clientId).limit(1)).scalar_one()


def _set_filters(app, page: str, scope_ws: list[str], window: str, canary_ws: str) -> None:
    """Set this page's widgets to the scope and window, without running (the next run applies them)."""
    from ui.filters import KEY_PRESET, KEY_WORKSPACES, now_minute

    if page == CANARY_PAGE:
        app.multiselect(key=CANARY_WORKSPACES).set_value([canary_ws])
        split = next(d for d in app.get("date_time_input") if d.label.startswith("Split"))
        split.set_value((now_minute() - WINDOWS[window]).replace(tzinfo=None))
        return
    app.multiselect(key=KEY_WORKSPACES).set_value(scope_ws)
    app.selectbox(key=KEY_PRESET).set_value(window)


PINNED: dict[str, datetime] = {}


def pin_clock() -> None:
    """Pages end their windows at ui.filters.now_minute(); the bench pins it so that a warm rerun is warm
    (a real rerun within the same minute), and moves it on by one minute to time what the next minute
    costs a page left open (its windows moved on: the edges are read again)."""
    from ui import filters

    real = filters.now_minute
    filters.now_minute = lambda: PINNED.get("now") or real()


def clear_caches() -> None:
    """Every cached read (cache_data) and the canary's judged windows (a cache_resource); the engines and
    the sign-in stay."""
    import streamlit as st

    from ui import canary

    st.cache_data.clear()
    canary._evaluated.clear()


def measure_grid(role: str, reps: int, windows: list[str], scopes: list[str], one: str, wanted: list[str] | None,
                 profile: str | None, on_row: Callable[[list[dict]], None] = lambda rows: None) -> list[dict]:
    from ui import filters

    rows = []
    app = _signed_in(role)
    for spec in _pages(role, wanted):
        page = Path(spec.path).stem
        app.switch_page(spec.path).run()
        if page == CANARY_PAGE:  # choose the canary once (live: the window ends now)
            app.multiselect(key=CANARY_WORKSPACES).set_value([one]).run()
        has_window = page == CANARY_PAGE or any(s.key == "cw_filter_window" for s in app.selectbox)
        has_scope = page != CANARY_PAGE and any(m.key == "cw_filter_workspaces" for m in app.multiselect)
        for scope in (scopes if has_scope else scopes[-1:]):
            for window in (windows if has_window else windows[:1]):
                row: dict = {"role": role, "page": page, "scope": scope if has_scope else "–",
                             "window": window if has_window else "–", "error": ""}
                tag = f"{page}-{row['scope']}-{row['window']}"
                try:
                    PINNED.pop("now", None)
                    PINNED["now"] = filters.now_minute()
                    if has_window or has_scope:
                        _set_filters(app, page, [one] if scope == "one" else [], window, one)
                    clear_caches()
                    cold = measured(app.run, OUT / f"profile-{profile}-{tag}-cold.txt" if profile else None)
                    row["cold_s"], row["cold_db_s"], row["cold_load"] = cold
                    warm = [measured(app.run, OUT / f"profile-{profile}-{tag}-warm.txt" if profile and i == 0
                                     else None) for i in range(reps)]
                    row["warm_s"] = statistics.median(s for s, _, _ in warm)
                    row["warm_db_s"] = statistics.median(d for _, d, _ in warm)
                    row["warm_load"] = statistics.mean(load for _, _, load in warm)
                    PINNED["now"] += timedelta(minutes=1)
                    row["next_s"], row["next_db_s"], row["next_load"] = measured(
                        app.run, OUT / f"profile-{profile}-{tag}-next.txt" if profile else None)
                    if app.exception:
                        row["error"] = str(app.exception[0].message)[:80]
                except Exception as exc:  # noqa: BLE001 - one page's failure is reported in its row
                    row["error"] = f"{type(exc).__name__}: {str(exc)[:60]}"
                rows.append(row)
                on_row(rows)
                print(f"{role:12} {page:11} {row['scope']:4} {row['window']:4} cold {row.get('cold_s', 0):6.2f} s "
                      f"(db {row.get('cold_db_s', 0):5.2f}, load {row.get('cold_load', 0):4.1f})  warm "
                      f"{row.get('warm_s', 0):5.2f} s (load {row.get('warm_load', 0):4.1f})  next minute "
                      f"{row.get('next_s', 0):5.2f} s "
                      f"(db {row.get('next_db_s', 0):5.2f}) {row['error']}",
                      file=sys.stderr, flush=True)
    return rows


def grid_markdown(rows: list[dict], header: str) -> str:
    def cell(row: dict, key: str, goal: float | None, load: str) -> str:
        if key not in row:
            return "–"
        mark = "" if goal is None else (" ✓" if row[key] < goal else " ✗")
        return f"{row[key]:.2f}{mark} (load {row[load]:.1f})"

    lines = [header, "",
             "| role | page | scope | window | warm s (goal < 1) | cold s | cold: db s (goal < 0.3) "
             "| next minute s | next minute: db s | error |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['role']} | {row['page']} | {row['scope']} | {row['window']} "
                     f"| {cell(row, 'warm_s', GOAL_WARM_S, 'warm_load')} | {cell(row, 'cold_s', None, 'cold_load')} "
                     f"| {cell(row, 'cold_db_s', GOAL_QUERIES_S, 'cold_load')} "
                     f"| {cell(row, 'next_s', None, 'next_load')} "
                     f"| {cell(row, 'next_db_s', None, 'next_load')} | {row['error']} |")
    return "\n".join(lines)


def backfill(url: str | None) -> str:
    from canarywatch_cli import main as cli

    load = load1()
    started = time.perf_counter()
    code = cli(["summaries", "--backfill", *(["--database-url", url] if url else [])])
    line = (f"Summaries back-filled first (`canarywatch summaries --backfill`, exit {code}) in "
            f"{time.perf_counter() - started:.1f} s (load {load:.1f}).")
    print(line, file=sys.stderr, flush=True)
    return line


def _wait_for_demo() -> None:
    """The embedded demo is built in the background on first use: wait for it before timing anything."""
    from ui.context import app_context

    build = app_context().demo_build
    if build is not None:
        build.done.wait(600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--db", help="a generated bench database on the local server (canarywatch_bench_small)")
    target.add_argument("--database-url", help="default: the embedded demo database")
    parser.add_argument("--grid", action="store_true", help="the page x scope x window grid (default with --db)")
    parser.add_argument("--roles", help=f"default: {','.join(ROLES)} (demo table), super_admin (grid)")
    parser.add_argument("--pages", help="page stems, comma-separated (default: every page the role may open)")
    parser.add_argument("--windows", default=",".join(WINDOWS))
    parser.add_argument("--scopes", default="all,one")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--name", help="output name (default: the database name, or demo)")
    parser.add_argument("--no-refresh", action="store_true", help="measure with the summaries as they are")
    parser.add_argument("--profile", action="store_true", help="cProfile every cold and first warm run")
    args = parser.parse_args(argv)
    url = args.database_url
    if args.db:
        from bench.generate import db_url

        url = db_url(args.db)
    name = args.name or args.db or (url.rsplit("/", 1)[-1] if url else "demo")
    grid = args.grid or bool(args.db)
    roles = (args.roles or ("super_admin" if grid else ",".join(ROLES))).split(",")
    wanted = args.pages.split(",") if args.pages else None
    _environment(url)
    CLOCK.install()
    if grid:
        pin_clock()
    _profile_script_thread()
    OUT.mkdir(parents=True, exist_ok=True)
    _wait_for_demo()
    refreshed = "" if args.no_refresh else backfill(url)
    started = datetime.now(UTC)
    header = (f"Full page runs (AppTest: app.py signed in, script + queries + figures), database "
              f"{args.db or url or 'embedded demo'}, {os.cpu_count()} CPUs, load average (1 min) beside each "
              f"figure; {started:%Y-%m-%d %H:%M} UTC. Reproduce: `python -m bench.pages "
              f"{' '.join(argv if argv is not None else sys.argv[1:])}`. {refreshed}")

    def save(rows: list[dict], columns: tuple[str, ...], table: str) -> None:
        with (OUT / f"pages-{name}.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        (OUT / f"pages-{name}.md").write_text(table + "\n")

    if grid:
        one = largest_workspace(url)
        header += f" One workspace = the largest ({one}); cold = every cache emptied, then the run."
        done: list[dict] = []

        def keep(rows: list[dict]) -> None:  # a long run keeps what it has measured so far
            save(done + rows, GRID_COLUMNS, grid_markdown(done + rows, header))

        for role in roles:
            done += measure_grid(role, args.reps, args.windows.split(","), args.scopes.split(","), one, wanted,
                                 name if args.profile else None, keep)
        rows, table = done, grid_markdown(done, header)
        save(rows, GRID_COLUMNS, table)
    else:
        rows = [row for role in roles for row in measure_role(role, args.reps, wanted)]
        table = markdown(rows, header)
        save(rows, COLUMNS, table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
