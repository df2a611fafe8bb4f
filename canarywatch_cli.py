"""`canarywatch check`: the canary evaluation from a terminal or a cron job.

Exit codes: 0 PASS, 1 FAIL, 2 MARGINAL, INSUFFICIENT_DATA or PLATFORM_INCIDENT (not judged), 3 bad
arguments or an unreachable database; a one-line reason always goes to stderr. The evidence packet
is written to --out. With --watch SECONDS it re-evaluates the window ending now on always-valid
intervals (analysis/sequential.py) until FAIL or --looks looks, one line per look.

`canarywatch summaries [--backfill]`: one refresh cycle of the per-day summaries (for a cron job
when the dashboards run with CANARYWATCH_SUMMARY_REFRESH=off); exit 0, 1 when some query failed (the
others still stored; each failing query named on stderr), or 3 if it could not run.

`canarywatch migrate [--check]`: bring canarywatch's state schema to the newest revision (Alembic),
or with --check only report it; exit 0 at head, 1 if behind (--check) or refused, 3 unreachable.

`canarywatch doctor`: check the configured database and environment (schema, enum labels, role
rights, row-level security, kill switches); one line per check with its fix; exit 0 when none
FAILs, 1 otherwise, 3 when the database is unreachable.

`canarywatch watch [--once] [--interval S] [--dry-run]`: evaluate every active canary each interval,
store the verdicts, notify webhooks of state changes, roll back armed canaries (services/watch.py);
`--arm/--disarm WORKSPACE --field F --actor NAME --reason TEXT` arms a canary's automatic rollback.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

from sqlalchemy.exc import SQLAlchemyError

EXIT = {"PASS": 0, "FAIL": 1, "MARGINAL": 2, "INSUFFICIENT_DATA": 2, "PLATFORM_INCIDENT": 2}
BAD_INPUT = 3


class UsageError(Exception):
    """Bad arguments, unreadable files, an unreachable database: exit 3 with this message."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"seconds must be 0 or more, got {text!r}")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="canarywatch", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    check = sub.add_parser("check", help="evaluate a canary window and write the evidence packet")
    check.add_argument("--workspace", action="append", required=True, help="canary workspace id (repeatable)")
    check.add_argument("--split", type=_moment, help="rollout time (UTC); default: the latest enabling change")
    check.add_argument("--end", type=_moment, help="end of the canary window (UTC, exclusive); default: now")
    check.add_argument("--database-url", help="default: DATABASE_URL, else the embedded demo database")
    check.add_argument("--logs", type=Path, help="runtime log export (JSON lines or CSV)")
    check.add_argument("--log-format", choices=("auto", "jsonl", "csv"), default="auto")
    check.add_argument("--log-timestamp", help="column/key holding the time (default: guessed)")
    check.add_argument("--log-message", help="column/key holding the message (default: guessed)")
    check.add_argument("--log-source", help="column/key holding the route or function (optional)")
    check.add_argument("--rules", type=Path, help="a rules file (default: the packaged rules)")
    check.add_argument("--out", type=Path, default=Path("evidence"), help="folder for the packet (default ./evidence)")
    check.add_argument("--field", help="the rollout field the canary watches (default: its enabling change)")
    check.add_argument("--exclude", action="append", default=[], metavar="WORKSPACE",
                       help="keep a workspace out of the control group (repeatable)")
    check.add_argument("--watch", type=_seconds, metavar="SECONDS",
                       help="re-evaluate every SECONDS on always-valid intervals until FAIL (window ends now)")
    check.add_argument("--looks", type=_positive, help="with --watch: stop after this many looks")
    check.add_argument("--rollback", action="store_true",
                       help="did the rollback work: the window after the disabling change of --field against the "
                            "pre-rollout baseline (exit 0 RECOVERED, 1 NOT_RECOVERED, 2 INSUFFICIENT_DATA)")
    check.add_argument("--rolled-back-at", type=_moment, metavar="TIME",
                       help="with --rollback: the toggle-off at this UTC time, or when the field's kill switch "
                            "(engaged now) was engaged (default: the latest audited toggle-off)")
    summaries = sub.add_parser("summaries", help="refresh the per-day summaries once")
    summaries.add_argument("--database-url", help="default: DATABASE_URL, else the embedded demo database")
    summaries.add_argument("--backfill", action="store_true", help="every due day now, not a few per cycle")
    summaries.add_argument("--now", type=_moment, help="refresh as of this UTC time (default: now)")
    snapshot = sub.add_parser("offload-snapshot", help="write offload-monitoring-<T0>.md for [T0, T0+30m)")
    snapshot.add_argument("--t0", help="window start (ISO UTC, e.g. 2026-02-18T03:30:38Z; default: 30 minutes ago)")
    snapshot.add_argument("--workspace", action="append", help="workspace section to write (repeatable; "
                          "default: every workspace with events)")
    snapshot.add_argument("--database-url", help="default: DATABASE_URL, else the embedded demo database")
    snapshot.add_argument("--out", type=Path, default=Path("evidence"), help="folder for the file (default ./evidence)")
    migrate_cmd = sub.add_parser("migrate", help="create or upgrade canarywatch's state schema (Alembic)")
    migrate_cmd.add_argument("--database-url", help="default: CANARYWATCH_WRITE_URL / DATABASE_URL, else the demo")
    migrate_cmd.add_argument("--check", action="store_true", help="only report the revision; exit 1 if behind")
    doctor_cmd = sub.add_parser("doctor", help="check the database, the roles and the kill switches")
    doctor_cmd.add_argument("--database-url", help="default: DATABASE_URL, else the embedded demo database")
    watch_cmd = sub.add_parser("watch", help="evaluate every active canary each interval: store, notify, roll back")
    watch_cmd.add_argument("--database-url", help="default: DATABASE_URL, else the embedded demo database")
    watch_cmd.add_argument("--once", action="store_true", help="one cycle, then exit (for cron)")
    watch_cmd.add_argument("--interval", type=_seconds, help="seconds per cycle (default: CANARYWATCH_WATCH_INTERVAL)")
    watch_cmd.add_argument("--dry-run", action="store_true",
                           help="evaluate and log what it would store, notify and roll back; change nothing")
    watch_cmd.add_argument("--now", type=_moment, help="with --once: evaluate as of this UTC time (default: now)")
    arming = watch_cmd.add_mutually_exclusive_group()
    arming.add_argument("--arm", metavar="WORKSPACE", help="arm the automatic rollback of this active canary")
    arming.add_argument("--disarm", metavar="WORKSPACE", help="disarm the automatic rollback of this canary")
    watch_cmd.add_argument("--field", help="with --arm/--disarm: the canary's rollout field")
    watch_cmd.add_argument("--actor", help="with --arm/--disarm: a super_admin of CANARYWATCH_CREDENTIALS, "
                                           "recorded in the audit log")
    watch_cmd.add_argument("--reason", help="with --arm/--disarm: why (recorded in the audit log)")
    return top


def _config(url: str | None):
    """The database configuration (DATABASE_URL or --database-url; the demo database is built if needed)."""
    import os

    from db.config import ConfigError, load_config

    env = dict(os.environ)
    if url:
        env["DATABASE_URL"] = url
    try:
        config = load_config(env)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if config.demo:
        from demo.embedded import ensure_demo_database

        ensure_demo_database(Path(config.read_url.removeprefix("sqlite:///")))
    return config


def _engine(url: str | None):
    from db.engine import read_engine

    config = _config(url)
    return read_engine(config.read_url, statement_timeout_ms=config.statement_timeout_ms)


def _read_logs(args: argparse.Namespace):
    """The export parsed once (a watch re-judges the same parse at every look), through the canary service."""
    from services.canary import LogExportError, parse_logs

    if args.logs is None:
        return None
    try:
        data = args.logs.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the log export {args.logs}: {exc.strerror}") from None
    try:
        return parse_logs(data, fmt=args.log_format, timestamp=args.log_timestamp, message=args.log_message,
                          source=args.log_source)
    except LogExportError as exc:
        raise UsageError(f"{exc} (use --log-timestamp and --log-message)") from None


def _evaluate_once(args: argparse.Namespace, rules, end: datetime, parse, *, sequential: bool):
    """One look: gather and judge the window through the canary service (the page uses the same one)."""
    from analysis.canary.report import canary_field
    from queries import events
    from queries.canary import CanarySpec
    from queries.filters import FilterError, Window
    from services.canary import run
    from services.evidence import canary_rollback, complete_packet

    engine = _engine(args.database_url)
    try:
        with engine.connect() as conn:
            split = args.split
            if split is None:
                latest = events.latest_enabling_change(conn, Window(end - timedelta(days=3650), end,
                                                                    tuple(args.workspace)))
                if latest.empty:
                    raise UsageError("no enabling change for these workspaces in the audit log: pass --split")
                split = latest.iloc[0]["changed_at"].to_pydatetime()
            spec = CanarySpec(tuple(args.workspace), split, end, exclude=tuple(args.exclude))
            result = run(conn, spec, rules, parse=parse, field=args.field, sequential=sequential)
            field = canary_field(result.inputs, args.field)[0]
            packet = complete_packet(conn, spec, result.packet, rules, canary_rollback(conn, spec, field, rules))
    except FilterError as exc:
        raise UsageError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise UsageError(f"database unreachable or refused the query ({type(exc).__name__})") from None
    finally:
        engine.dispose()
    return result.evaluation, packet


def _write(args: argparse.Namespace, packet) -> None:
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, content in packet.files.items():
            (args.out / name).write_bytes(content)
    except OSError as exc:
        raise UsageError(f"cannot write the packet to {args.out}: {exc.strerror}") from None


def check(args: argparse.Namespace) -> int:
    import time

    from analysis.rules import RulesError, load_rules

    try:
        rules = load_rules(args.rules)
    except (RulesError, OSError) as exc:
        raise UsageError(f"rules: {exc}") from None
    if args.rollback:
        return check_rollback(args, rules)
    if args.watch is not None and args.end is not None:
        raise UsageError("--watch evaluates the window ending now: drop --end")
    parse = _read_logs(args)
    look = 0
    while True:
        look += 1
        end = args.end or datetime.now(UTC)
        evaluation, packet = _evaluate_once(args, rules, end, parse, sequential=args.watch is not None)
        verdict = evaluation.verdict
        if args.watch is None:
            break
        print(f"look {look} at {end:%Y-%m-%dT%H:%M:%SZ}: {verdict.headline}: {verdict.reason}", file=sys.stderr)
        if verdict.overall.value == "FAIL" or (args.looks is not None and look >= args.looks):
            break
        time.sleep(args.watch)
    _write(args, packet)
    for name in sorted(packet.files):
        print(args.out / name)
    if parse is not None and parse.malformed:
        print(f"log export: {parse.malformed} malformed line(s) skipped", file=sys.stderr)
    print(f"{verdict.overall.value}: {verdict.reason}", file=sys.stderr)
    return EXIT[verdict.overall.value]


ROLLBACK_EXIT = {"RECOVERED": 0, "NOT_RECOVERED": 1, "INSUFFICIENT_DATA": 2}


def _rolled_back_field(conn, workspace: str, end: datetime) -> str:
    """The rollout field of the workspace's latest audited toggle-off before `end`."""
    from analysis.rollback import is_disabling
    from db.catalog import ROLLOUT_FIELDS
    from services.rollback import changes_of

    changes = changes_of(conn, workspace, end)
    offs = changes[changes["field"].isin(ROLLOUT_FIELDS) & changes["new_value"].map(is_disabling)] \
        if not changes.empty else changes
    if offs.empty:
        raise UsageError(f"no audited toggle-off of a rollout field for {workspace}: pass --field")
    return str(offs.iloc[-1]["field"])


def check_rollback(args: argparse.Namespace, rules) -> int:
    """`check --rollback`: exit 0 RECOVERED, 1 NOT_RECOVERED, 2 INSUFFICIENT_DATA, 3 bad input or unreachable;
    writes the rollback check and a manifest to --out."""
    from analysis.evidence import MANIFEST, manifest_json
    from queries.filters import FilterError
    from rollout.killswitch import EnvFileError, read_kill_switches
    from services import rollback
    from services.evidence import recovery_entry

    if len(args.workspace) != 1:
        raise UsageError("--rollback checks one workspace: pass --workspace once")
    if args.watch is not None or args.logs is not None:
        raise UsageError("--rollback takes neither --watch nor --logs")
    workspace, end = args.workspace[0], args.end or datetime.now(UTC)
    try:
        switches = {name: s.engaged for name, s in read_kill_switches().items()}
    except EnvFileError as exc:
        raise UsageError(str(exc)) from None
    engine = _engine(args.database_url)
    try:
        with engine.connect() as conn:
            field = args.field or _rolled_back_field(conn, workspace, end)
            event = rollback.find(conn, workspace, field, end=end, at=args.rolled_back_at,
                                  engaged_at=args.rolled_back_at, switches=switches)
            if event is None:
                raise UsageError(f"no audited toggle-off of {field} for {workspace} before the end (for a kill "
                                 "switch engaged now, pass --rolled-back-at)")
            verdict = rollback.check(conn, event, rules, tuple(args.exclude))
    except FilterError as exc:
        raise UsageError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise UsageError(f"database unreachable or refused the query ({type(exc).__name__})") from None
    finally:
        engine.dispose()
    entry, content = recovery_entry(verdict)
    files = {entry.name: content}
    files[MANIFEST] = manifest_json(files, [entry])
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (args.out / name).write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write the rollback check to {args.out}: {exc.strerror}") from None
    for name in sorted(files):
        print(args.out / name)
    for s in verdict.signals:
        print(f"{s.signal}: {s.status.value}: {s.reason}", file=sys.stderr)
    print(f"{verdict.overall.value}: {verdict.reason}", file=sys.stderr)
    return ROLLBACK_EXIT[verdict.overall.value]


def refresh(args: argparse.Namespace) -> int:
    from db.engine import write_engine
    from summaries.refresh import refresh_summaries

    config = _config(args.database_url)
    engine = write_engine(config.write_url, statement_timeout_ms=max(config.statement_timeout_ms, 120_000))
    try:
        report = refresh_summaries(engine, now=args.now, backfill=args.backfill)
    except SQLAlchemyError as exc:
        raise UsageError(f"the summaries could not be refreshed ({type(exc).__name__})") from None
    finally:
        engine.dispose()
    print(report.line(), file=sys.stderr)
    for line in report.failure_lines():
        print(f"FAIL {line}", file=sys.stderr)
    if report.failures:
        print(f"{len(report.failing_queries)} quer{'y' if len(report.failing_queries) == 1 else 'ies'} failed: "
              f"{', '.join(report.failing_queries)} (the other queries' days were stored)", file=sys.stderr)
        return 1
    return 0


def offload_snapshot(args: argparse.Namespace) -> int:
    """Exit 0: no threshold breached; 1: one is; 3: bad input or an unreachable database (nothing written)."""
    from analysis.offload_snapshot import build_snapshot, snapshot_file
    from analysis.rules import load_rules
    from queries import offload_snapshot as snap
    from queries.settings import workspace_list

    try:
        t0 = _moment(args.t0) if args.t0 else datetime.now(UTC) - snap.WINDOW
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"--t0: {exc}") from None
    window = snap.snapshot_window(t0)
    chosen = tuple(args.workspace) if args.workspace else None
    engine = _engine(args.database_url)
    try:
        with engine.connect() as conn:
            known = set(workspace_list(conn, window)["workspace"])
            unknown = sorted(set(chosen or ()) - known)
            if unknown:
                raise UsageError(f"unknown workspace(s): {', '.join(unknown)[:200]}")
            states = snap.webhook_status_at_instants(conn, window)
            runs = snap.function_run_totals(conn, window)
    except SQLAlchemyError as exc:
        raise UsageError(f"database unreachable or refused the query ({type(exc).__name__})") from None
    finally:
        engine.dispose()
    snapshot = build_snapshot(states, runs, instants=snap.instants(window), rules=load_rules(), workspaces=chosen)
    name, content = snapshot_file(snapshot)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / name).write_bytes(content)
    except OSError as exc:
        raise UsageError(f"cannot write the snapshot to {args.out}: {exc.strerror}") from None
    print(args.out / name)
    breached = snapshot.breached
    print(f"BREACHED: {'; '.join(breached)}" if breached else "OK: no threshold breached", file=sys.stderr)
    return 1 if breached else 0


def migrate(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import OperationalError

    from db.engine import write_engine
    from db.state import StateSchemaError, current_revision, head_revision, upgrade_state_schema

    config = _config(args.database_url)
    engine = write_engine(config.write_url)
    try:
        if args.check:
            with engine.connect() as conn:
                found, head = current_revision(conn), head_revision()
            print(f"state schema at {found or 'nothing'}, newest {head}", file=sys.stderr)
            return 0 if found == head else 1
        result = upgrade_state_schema(engine)
    except StateSchemaError as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        raise UsageError(f"database unreachable ({type(exc).__name__})") from None
    except SQLAlchemyError as exc:
        print(f"FAIL: the database refused the migration ({type(exc).__name__}): run `canarywatch migrate` "
              "with a role that may CREATE in (or owns) the canarywatch schema", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(result.line(), file=sys.stderr)
    return 0


def doctor(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import OperationalError

    from analysis.doctor import exit_code, summary_line
    from db.engine import read_engine, write_engine
    from services.doctor import doctor_checks

    config = _config(args.database_url)
    read = read_engine(config.read_url, statement_timeout_ms=config.statement_timeout_ms)
    write_url = getattr(config, "write_url", None)
    write = write_engine(write_url, statement_timeout_ms=config.statement_timeout_ms) if write_url else None
    try:
        checks = doctor_checks(read, write)
    except OperationalError as exc:
        raise UsageError(f"database unreachable ({type(exc).__name__})") from None
    finally:
        read.dispose()
        if write is not None:
            write.dispose()
    for check in checks:
        print(check.line())
    print(summary_line(checks))
    return exit_code(checks)


def watch(args: argparse.Namespace) -> int:
    """`canarywatch watch`: exit 0 when it ran (or was stopped), 1 when --once stored a FAIL verdict,
    2 a refused --arm/--disarm, 3 bad arguments, bad configuration or (with --once) no database."""
    import logging
    import signal
    import threading

    from sqlalchemy.exc import DBAPIError

    from db.config import ConfigError, process_settings
    from db.engine import read_engine, write_engine
    from services.watch import config_from, run

    try:
        settings = process_settings()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    config = _config(args.database_url)
    read = read_engine(config.read_url, statement_timeout_ms=max(config.statement_timeout_ms, 60_000))
    write = write_engine(config.write_url, statement_timeout_ms=config.statement_timeout_ms)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # the watch's log is its cycles; Alembic's "Context impl …" lines at start say nothing to its reader
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        if args.arm or args.disarm:
            return _arm(write, args, demo=config.demo)
        watch_config = config_from(settings, interval=args.interval, dry_run=args.dry_run)
        if args.interval is not None and args.interval < 1:
            raise UsageError("--interval is at least 1 second")
        if args.now is not None and not args.once:
            raise UsageError("--now needs --once (a running watch always looks at the present)")
        clock = (lambda: args.now) if args.now is not None else (lambda: datetime.now(UTC))
        stop = threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():  # SIGTERM: finish the canary in hand, exit 0
            previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGTERM,
                                                                                          signal.SIGINT)}
        try:
            outcomes = run(read, write, watch_config, once=args.once, stop=stop, clock=clock)
        except DBAPIError as exc:
            raise UsageError(f"database unreachable or refused the watch ({type(exc).__name__})") from None
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    finally:
        read.dispose()
        write.dispose()
    return 1 if args.once and any(o.verdict == "FAIL" for o in outcomes) else 0


def _cli_super_admin(username: str, *, demo: bool):  # noqa: ANN202 - auth.roles imported lazily
    """The --actor as a super_admin of the configured credentials (the demo's on the demo), or UsageError.

    The command line has no password prompt: whoever runs it already holds the write database's
    credentials. What it may not do is put a name in the audit log that is not a super-admin's.
    """
    from analysis.inputs import quote
    from auth.credentials import DEMO_CREDENTIALS, CredentialsError, load_credentials_file
    from auth.roles import Role, User, parse_roles
    from db.config import ConfigError, process_settings

    try:
        path = process_settings().credentials_file
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if path is None and not demo:
        raise UsageError("--arm/--disarm check --actor against the dashboard's users: set CANARYWATCH_CREDENTIALS")
    try:
        users = load_credentials_file(path or DEMO_CREDENTIALS)["usernames"]
    except CredentialsError as exc:
        raise UsageError(str(exc)) from None
    name = username.strip().lower()
    entry = users.get(name)
    if entry is None or Role.SUPER_ADMIN not in parse_roles(entry["roles"]):
        raise UsageError(f"--actor {quote(name)} is not a super_admin of the dashboard's credentials")
    return User(name, entry["name"], frozenset(parse_roles(entry["roles"])))


def _arm(write, args: argparse.Namespace, *, demo: bool) -> int:
    from rollout.arming import set_armed
    from rollout.service import WriteRefused

    workspace = args.arm or args.disarm
    if not (args.field and args.actor and args.reason):
        raise UsageError("--arm/--disarm need --field, --actor and --reason")
    actor = _cli_super_admin(args.actor, demo=demo)
    try:
        result = set_armed(write, actor, workspace, args.field, armed=bool(args.arm), reason=args.reason)
    except WriteRefused as exc:
        raise UsageError(str(exc)) from None
    state = "armed" if result.armed else "disarmed"
    print(f"automatic rollback {state} for {workspace} {args.field}" + ("" if result.changed else " (already)"),
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        handlers = {"summaries": refresh, "migrate": migrate, "doctor": doctor, "offload-snapshot": offload_snapshot,
                    "watch": watch}
        return handlers.get(args.command, check)(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
