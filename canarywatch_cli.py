"""`canarywatch check`: the canary evaluation from a terminal or a cron job.

Exit codes: 0 PASS, 1 FAIL, 2 MARGINAL or INSUFFICIENT_DATA, 3 bad arguments or an unreachable
database; a one-line reason always goes to stderr. The evidence packet is written to --out.

`canarywatch summaries [--backfill]`: one refresh cycle of the per-day summaries (for a cron job
when the dashboards run with CANARYWATCH_SUMMARY_REFRESH=off); exit 0, 1 when some query failed (the
others still stored; each failing query named on stderr), or 3 if it could not run.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

from sqlalchemy.exc import SQLAlchemyError

EXIT = {"PASS": 0, "FAIL": 1, "MARGINAL": 2, "INSUFFICIENT_DATA": 2}
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
    summaries = sub.add_parser("summaries", help="refresh the per-day summaries once")
    summaries.add_argument("--database-url", help="default: DATABASE_URL, else the embedded demo database")
    summaries.add_argument("--backfill", action="store_true", help="every due day now, not a few per cycle")
    summaries.add_argument("--now", type=_moment, help="refresh as of this UTC time (default: now)")
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


def _log_results(args: argparse.Namespace, rules, start: datetime, end: datetime):
    from analysis.logsignals import LogMapping, evaluate_log_rules, guess_mapping, header_keys, parse_log_export

    if args.logs is None:
        return [], None
    try:
        data = args.logs.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the log export {args.logs}: {exc.strerror}") from None
    try:
        mapping = guess_mapping(header_keys(data, fmt=args.log_format))
    except ValueError as exc:
        if not (args.log_timestamp and args.log_message):
            raise UsageError(f"{exc} (use --log-timestamp and --log-message)") from None
        mapping = LogMapping()
    overrides = {k: v for k, v in (("timestamp", args.log_timestamp), ("message", args.log_message),
                                   ("source", args.log_source)) if v}
    mapping = LogMapping(**{**mapping.__dict__, **overrides})
    parse = parse_log_export(data, mapping, fmt=args.log_format)
    return evaluate_log_rules(parse, rules.for_source("logs"), start=start, end=end), parse


def check(args: argparse.Namespace) -> int:
    from analysis.canary_report import report
    from analysis.rules import RulesError, load_rules
    from queries import events
    from queries.canary import CanarySpec, gather
    from queries.filters import FilterError, Window

    try:
        rules = load_rules(args.rules)
    except (RulesError, OSError) as exc:
        raise UsageError(f"rules: {exc}") from None
    end = args.end or datetime.now(UTC)
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
            spec = CanarySpec(tuple(args.workspace), split, end)
            inputs = gather(conn, spec)
    except FilterError as exc:
        raise UsageError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise UsageError(f"database unreachable or refused the query ({type(exc).__name__})") from None
    finally:
        engine.dispose()
    log_results, parse = _log_results(args, rules, spec.split, spec.end)
    evaluation, packet = report(inputs, rules, log_results=log_results)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, content in packet.files.items():
            (args.out / name).write_bytes(content)
    except OSError as exc:
        raise UsageError(f"cannot write the packet to {args.out}: {exc.strerror}") from None
    verdict = evaluation.verdict
    for name in packet.files:
        print(args.out / name)
    if parse is not None and parse.malformed:
        print(f"log export: {parse.malformed} malformed line(s) skipped", file=sys.stderr)
    print(f"{verdict.overall.value}: {verdict.reason}", file=sys.stderr)
    return EXIT[verdict.overall.value]


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


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        return refresh(args) if args.command == "summaries" else check(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
