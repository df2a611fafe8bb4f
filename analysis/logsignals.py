"""Runtime-log signals that are not in the database, counted from an uploaded log export.

The export (JSON lines or CSV) may hold personal data in its messages, so a parse keeps only each
line's UTC timestamp and the signal kinds it matched: never the text. A malformed line is counted
and reported by line number, never fatal.

Windows: each counted rule is judged on its worst SLIDING window of `window_minutes` inside the
half-open [start, end) (the window starting at each event; a burst straddling a clock boundary still
counts). The reversal-loop pattern uses FIXED slices of `slice_minutes` aligned to `start`, because
"distinct slices" needs a grid; its worst window is the run of window_minutes / slice_minutes
consecutive slices holding the most looping slices.
"""

from __future__ import annotations

import csv
import io
import json
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from analysis.rules import Rule, RuleResult, evaluate_threshold

MALFORMED_SAMPLE = 10  # how many malformed line numbers a parse keeps
LOOP_FAMILIES = frozenset({"webhook_failure", "cron_failure", "inbox_failure"})

_CANDIDATES = {
    "timestamp": ("timestamp", "time", "ts", "@timestamp", "datetime", "date", "created_at", "createdat"),
    "message": ("message", "msg", "text", "@message", "log", "body"),
    "source": ("path", "route", "function", "source", "proxy.path", "request.path", "requestpath", "entrypoint"),
    "status": ("status", "statuscode", "status_code", "responsestatuscode", "proxy.statuscode"),
    "level": ("level", "severity", "log_level", "levelname", "loglevel"),
}
_TIMED_OUT = re.compile(r"task timed out after (\d+)(?:\.\d+)? seconds?", re.I)
_DB_POOL = re.compile(r"\bP2028\b|query_wait_timeout", re.I)
_STATUS_IN_TEXT = re.compile(
    r"\bstatus(?:[ _]?code)?\W{0,3}([1-5]\d\d)\b|\bHTTP/\d(?:\.\d)?\s+([1-5]\d\d)\b"
    r"|\b(?:GET|POST|PUT|PATCH|DELETE|HEAD)\s+\S+\s+([1-5]\d\d)\b"
    r"|\b(5\d\d)\s+(?:internal server error|bad gateway|service unavailable|gateway timeout)\b",
    re.I,
)
_ERROR_LEVELS = frozenset({"error", "fatal", "critical"})


@dataclass(frozen=True)
class LogMapping:
    """Which column (CSV) or key (JSON, dotted for nesting: "proxy.path") holds what."""

    timestamp: str = "timestamp"
    message: str = "message"
    source: str | None = None  # route / path / function name: tells webhook, cron and inbox apart
    status: str | None = None  # HTTP status; without it a status is read from the message
    level: str | None = None  # log level; "error" marks a failure


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One parsed line: when, and what it matched (empty = a plain line, still proof of coverage)."""

    at: datetime
    signals: tuple[str, ...] = ()


@dataclass(frozen=True)
class LogParse:
    fmt: str  # "jsonl" | "csv"
    lines: int  # records read (blank lines not counted)
    events: tuple[LogEvent, ...]  # every well-formed line, in time order
    malformed: int
    malformed_lines: tuple[int, ...]  # the first MALFORMED_SAMPLE line numbers (1-based), no contents
    warnings: tuple[str, ...] = ()

    def count(self, signal: str) -> int:
        return sum(signal in event.signals for event in self.events)


def guess_mapping(header_keys: Iterable[str]) -> LogMapping:
    """A mapping from common column names (time/ts/@timestamp, msg/message/text, path/route/...)."""
    keys = list(header_keys)
    lowered = {key.lower(): key for key in reversed(keys)}
    found = {field: next((lowered[c] for c in names if c in lowered), None) for field, names in _CANDIDATES.items()}
    for field in ("timestamp", "message"):
        if found[field] is None:
            raise ValueError(f"no {field} column among {sorted(keys)}: map it by hand")
    return LogMapping(**found)


def header_keys(data: bytes | str, *, fmt: str = "auto", sample: int = 50) -> tuple[str, ...]:
    """The column names (CSV header) or the dotted keys of the first `sample` JSON lines."""
    text = _text(data)
    if _format(text, fmt) == "csv":
        try:
            return tuple(next(csv.reader(io.StringIO(text, newline="")), []))
        except csv.Error as exc:
            raise ValueError(f"the first line is not a CSV header ({exc})") from None
    keys: dict[str, None] = {}
    for _, row in _jsonl_rows(text, limit=sample):
        keys.update(dict.fromkeys(_flat_keys(row or {})))
    return tuple(keys)


def parse_log_export(data: bytes | str, mapping: LogMapping, *, fmt: str = "auto") -> LogParse:
    """Classified events of an export; malformed lines are counted, with their line numbers."""
    text = _text(data)
    fmt = _format(text, fmt)
    rows = _jsonl_rows(text) if fmt == "jsonl" else _csv_rows(text)
    events: list[LogEvent] = []
    bad: list[int] = []
    lines = naive = 0
    for line_no, row in rows:
        lines += 1
        parsed = _event(row, mapping) if row is not None else None
        if parsed is None:
            bad.append(line_no)
            continue
        events.append(parsed[0])
        naive += parsed[1]
    warnings = []
    if naive:
        warnings.append(f"{naive} timestamps had no UTC offset and were read as UTC")
    if mapping.source is None:
        warnings.append("no route column mapped: webhook and cron lines are recognised only when the message"
                        " names the route")
    events.sort(key=lambda event: event.at)
    return LogParse(fmt, lines, tuple(events), len(bad), tuple(bad[:MALFORMED_SAMPLE]), tuple(warnings))


def evaluate_log_rules(
    parse: LogParse, rules: Iterable[Rule], *, start: datetime, end: datetime
) -> list[RuleResult]:
    """Every "logs" rule over [start, end): worst window (see the module docstring)."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise ValueError(f"empty window: end {end.isoformat()} is not after start {start.isoformat()}")
    events = [event for event in parse.events if start <= event.at < end]
    results = []
    for rule in rules:
        if rule.source != "logs":
            continue
        if not events:
            result = evaluate_threshold(rule, None)
            results.append(replace(result, reason=f"{rule.title}: the log export has no lines in the window"
                                   f" (no data counts as {rule.no_data})"))
        elif rule.signal == "reversal_loop":
            results.append(_reversal_loop(rule, events, start, end))
        else:
            results.append(_counted(rule, [e.at for e in events if rule.signal in e.signals]))
    return results


# --- evaluation ------------------------------------------------------------------------------------

def _counted(rule: Rule, times: list[datetime]) -> RuleResult:
    """The most events in any half-open [t, t + window) starting at an event (all are < end)."""
    width = timedelta(minutes=rule.window_minutes)
    best, best_at, first = 0, None, 0
    for last, moment in enumerate(times):
        while times[first] <= moment - width:
            first += 1
        if last - first + 1 > best:
            best, best_at = last - first + 1, times[first]
    result = evaluate_threshold(rule, float(best))
    where = f" in the worst {rule.window_minutes}-minute window (from {_iso(best_at)})" if best_at else ""
    return replace(result, reason=result.reason + where)


def _reversal_loop(rule: Rule, events: list[LogEvent], start: datetime, end: datetime) -> RuleResult:
    """Slices holding a webhook, a cron AND an inbox failure, most of them within one window."""
    width = timedelta(minutes=rule.slice_minutes)
    families: dict[int, set[str]] = {}
    for event in events:
        hits = LOOP_FAMILIES.intersection(event.signals)
        if hits:
            families.setdefault((event.at - start) // width, set()).update(hits)
    looping = sorted(index for index, seen in families.items() if seen >= LOOP_FAMILIES)
    per_window = rule.window_minutes // rule.slice_minutes
    best = max((bisect_left(looping, index + per_window) - i for i, index in enumerate(looping)), default=0)
    result = evaluate_threshold(rule, float(best))
    slices = ", ".join(_iso(start + width * index) for index in looping[:5])
    reason = result.reason + f" ({len(looping)} looping {rule.slice_minutes}-minute slices" + (
        f", from {slices})" if looping else ")")
    return replace(result, reason=reason, slices_failed=best)


# --- parsing ---------------------------------------------------------------------------------------

def _text(data: bytes | str) -> str:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return text.removeprefix("\ufeff")


def _format(text: str, fmt: str) -> str:
    if fmt == "auto":
        return "jsonl" if text.lstrip().startswith("{") else "csv"
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"unknown log format {fmt!r} (expected auto, jsonl or csv)")
    return fmt


#: a JSON line nested deeper than this is malformed (no recursion on hostile input)
MAX_DEPTH = 32


def _depth(value: object, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of parsed JSON, iteratively, stopping once past `limit`."""
    stack, deepest = [(value, 1)], 0
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _jsonl_rows(text: str, limit: int | None = None) -> Iterator[tuple[int, dict | None]]:
    """One row per non-blank line, streamed (no list of all lines); a line that is not a JSON object,
    is nested deeper than MAX_DEPTH (json raises RecursionError on very deep input) is None."""
    seen = 0
    # newline="\n": split on LF only, not on U+2028 inside JSON strings (as splitlines would)
    for line_no, line in enumerate(io.StringIO(text, newline="\n"), start=1):
        if not line.strip():
            continue
        seen += 1
        if limit is not None and seen > limit:
            return
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            row = None
        if isinstance(row, dict) and _depth(row) > MAX_DEPTH:
            row = None
        yield line_no, row if isinstance(row, dict) else None


def _csv_rows(text: str) -> Iterator[tuple[int, dict | None]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)  # a broken quote is malformed
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield reader.line_num, None
            continue
        ragged = None in row or None in row.values()  # too many or too few fields
        yield reader.line_num, None if ragged else row


def _flat_keys(row: dict, prefix: str = "") -> Iterator[str]:
    for key, value in row.items():
        if isinstance(value, dict):
            yield from _flat_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def _lookup(row: dict, key: str | None) -> object:
    if key is None:
        return None
    if key in row:
        return row[key]
    value: object = row
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _event(row: dict, mapping: LogMapping) -> tuple[LogEvent, bool] | None:
    """(event, timestamp was naive), or None when the line is malformed."""
    moment = _timestamp(_lookup(row, mapping.timestamp))
    message = _lookup(row, mapping.message)
    if moment is None or not isinstance(message, str):
        return None
    route = _lookup(row, mapping.source)
    fields = [_lookup(row, mapping.status), _lookup(row, mapping.level)]
    status, level = (str(value).strip() if value is not None else "" for value in fields)
    signals = classify(message, route if isinstance(route, str) and route else message, status, level)
    return LogEvent(moment[0], signals), moment[1]


def _timestamp(value: object) -> tuple[datetime, bool] | None:
    """(aware UTC, was naive) from ISO-8601 (Z or offset) or epoch seconds / milliseconds."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value):
        value = float(value)
    try:
        if isinstance(value, int | float):
            seconds = value / 1000 if abs(value) >= 1e11 else value  # 1e11 s is the year 5138: ms
            return datetime.fromtimestamp(seconds, UTC), False
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.strip())
            return _utc(moment), moment.tzinfo is None
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- classification --------------------------------------------------------------------------------

def _family(route: str) -> str | None:
    route = route.lower()  # order matters: /api/webhooks/inboxxia is a webhook, /api/cron/inbox-x a cron
    for needle, family in (("webhook", "webhook"), ("cron", "cron"), ("inbox", "inbox"), ("inbound", "inbox")):
        if needle in route:
            return family
    return None


def _status(status: str, message: str) -> int | None:
    if status.isdigit():
        return int(status)
    match = _STATUS_IN_TEXT.search(message)
    return int(next(group for group in match.groups() if group)) if match else None


def classify(message: str, route: str, status: str = "", level: str = "") -> tuple[str, ...]:
    """The signal kinds one line matches (`route` is the route column, or the message without one).

    A 300 s timeout counts as an inbox timeout unless the route is a webhook or a cron (those are
    their own families); with no route at all it is taken to be the inbox, as the plans describe.
    """
    family = _family(route)
    timed_out = _TIMED_OUT.search(message)
    seconds = int(timed_out.group(1)) if timed_out else None
    code = _status(status, message)
    signals = []
    if seconds == 60 and family == "webhook":
        signals.append("webhook_timeout_60s")
    if seconds == 300 and family in (None, "inbox"):
        signals.append("inbox_timeout_300s")
        family = "inbox"
    if _DB_POOL.search(message):
        signals.append("db_pool_timeout")
    cron_route = route.lower().replace("_", "-")
    if code == 500 and family == "cron" and "response-timing" in cron_route:
        signals.append("response_timing_cron_500")
    failed = bool(signals) or timed_out is not None or (code or 0) >= 500 or level.lower() in _ERROR_LEVELS
    if failed and family is not None:
        signals.append(f"{family}_failure")
    return tuple(signals)
