"""Runtime-log signals that are not in the database, counted from an uploaded log export.

The export (JSON lines or CSV) may hold personal data in its messages, so a parse keeps only each
line's UTC timestamp and the signal kinds it matched: never the text. A malformed line is counted
and reported by line number, never fatal.

Memory is bounded: the export is read as a stream of lines (decoded line by line, never as one str),
and what is kept is what the rules need, not one object per line: per signal kind, the sorted distinct
line times (microseconds since the epoch) with how many lines fell at each; and, for "did the export
cover this window at all", per second holding a line its first and last line time (LogCoverage).

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
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import reduce

import numpy as np

from analysis.rules import Rule, RuleResult, evaluate_threshold

MALFORMED_SAMPLE = 10  # how many malformed line numbers a parse keeps
LOOP_FAMILIES = frozenset({"webhook_failure", "cron_failure", "inbox_failure"})
#: a physical line longer than this (characters) is malformed and never held whole (a binary file
#: without newlines would otherwise be one line the size of the upload)
MAX_LINE_CHARS = 1 << 20
_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

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


def _empty() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class SignalTimes:
    """One signal kind: the sorted distinct times (µs since the epoch) of its lines, and lines per time."""

    at_us: np.ndarray = field(default_factory=_empty)
    lines: np.ndarray = field(default_factory=_empty)

    @classmethod
    def of(cls, times: array) -> SignalTimes:
        at_us, lines = np.unique(np.frombuffer(times, dtype=np.int64), return_counts=True)
        return cls(at_us, lines.astype(np.int64))

    def within(self, start_us: int, end_us: int) -> SignalTimes:
        """The part in the half-open [start, end)."""
        lo, hi = np.searchsorted(self.at_us, [start_us, end_us], side="left")
        return SignalTimes(self.at_us[lo:hi], self.lines[lo:hi])


@dataclass(frozen=True, eq=False)
class LogCoverage:
    """Each second (since the epoch) holding a well-formed line, with its first and last line time (µs).

    Answers "has the export a line in [start, end)" exactly, except for a window lying strictly between
    two lines of one and the same second (shorter than a second): that second counts as covered.
    """

    seconds: np.ndarray = field(default_factory=_empty)
    first_us: np.ndarray = field(default_factory=_empty)
    last_us: np.ndarray = field(default_factory=_empty)

    @classmethod
    def of(cls, seconds: array, first_us: array, last_us: array) -> LogCoverage:
        secs = np.frombuffer(seconds, dtype=np.int64)
        if not len(secs):
            return cls()
        order = np.argsort(secs, kind="stable")
        secs = secs[order]
        starts = np.flatnonzero(np.r_[True, secs[1:] != secs[:-1]])
        return cls(secs[starts], np.minimum.reduceat(np.frombuffer(first_us, dtype=np.int64)[order], starts),
                   np.maximum.reduceat(np.frombuffer(last_us, dtype=np.int64)[order], starts))

    def any_in(self, start_us: int, end_us: int) -> bool:
        lo = np.searchsorted(self.seconds, start_us // _US, side="left")
        hi = np.searchsorted(self.seconds, (end_us - 1) // _US, side="right")
        return bool(np.any((self.first_us[lo:hi] < end_us) & (self.last_us[lo:hi] >= start_us)))


@dataclass(frozen=True, eq=False)
class LogParse:
    fmt: str  # "jsonl" | "csv"
    lines: int  # records read (blank lines not counted)
    well_formed: int  # lines that gave a time and a message (classified, whether or not they matched a signal)
    malformed: int
    malformed_lines: tuple[int, ...]  # the first MALFORMED_SAMPLE line numbers (1-based), no contents
    warnings: tuple[str, ...] = ()
    signals: Mapping[str, SignalTimes] = field(default_factory=dict)  # signal kind -> its line times
    coverage: LogCoverage = field(default_factory=LogCoverage)

    def count(self, signal: str) -> int:
        """Lines that matched `signal`, over the whole export."""
        times = self.signals.get(signal)
        return 0 if times is None else int(times.lines.sum())

    def counts(self) -> dict[str, int]:
        """Lines per matched signal kind, over the whole export."""
        return {signal: self.count(signal) for signal in sorted(self.signals)}

    @property
    def first(self) -> datetime | None:
        """The earliest well-formed line's time (UTC), None without one."""
        return _at(int(self.coverage.first_us.min())) if self.well_formed else None

    @property
    def last(self) -> datetime | None:
        return _at(int(self.coverage.last_us.max())) if self.well_formed else None


class _Collector:
    """What a parse keeps while it streams: compact int64 arrays, never one object per line. The
    per-second coverage runs are merged whenever they double (lines out of time order start a new
    run each), so they stay near one entry per distinct second."""

    COMPACT_AT = 1 << 16

    def __init__(self) -> None:
        self.signals: dict[str, array] = {}
        self.seconds, self.first, self.last = array("q"), array("q"), array("q")
        self.compact_at = self.COMPACT_AT

    def add(self, at_us: int, signals: tuple[str, ...]) -> None:
        for signal in signals:
            self.signals.setdefault(signal, array("q")).append(at_us)
        second = at_us // _US
        if self.seconds and self.seconds[-1] == second:  # exports are mostly in time order: one run per second
            self.first[-1] = min(self.first[-1], at_us)
            self.last[-1] = max(self.last[-1], at_us)
            return
        self.seconds.append(second)
        self.first.append(at_us)
        self.last.append(at_us)
        if len(self.seconds) >= self.compact_at:
            self._compact()

    def _compact(self) -> None:
        merged = LogCoverage.of(self.seconds, self.first, self.last)
        self.seconds, self.first, self.last = (_as_array(column)
                                               for column in (merged.seconds, merged.first_us, merged.last_us))
        self.compact_at = max(self.COMPACT_AT, 2 * len(self.seconds))

    def timeline(self) -> tuple[dict[str, SignalTimes], LogCoverage]:
        return ({signal: SignalTimes.of(times) for signal, times in self.signals.items()},
                LogCoverage.of(self.seconds, self.first, self.last))


def _as_array(column: np.ndarray) -> array:
    out = array("q")
    out.frombytes(np.ascontiguousarray(column, dtype=np.int64).tobytes())
    return out


def guess_mapping(header_keys: Iterable[str]) -> LogMapping:
    """A mapping from common column names (time/ts/@timestamp, msg/message/text, path/route/...)."""
    keys = list(header_keys)
    lowered = {key.lower(): key for key in reversed(keys)}
    found = {name: next((lowered[c] for c in names if c in lowered), None) for name, names in _CANDIDATES.items()}
    for name in ("timestamp", "message"):
        if found[name] is None:
            raise ValueError(f"no {name} column among {sorted(keys)}: map it by hand")
    return LogMapping(**found)


def header_keys(data: bytes | str, *, fmt: str = "auto", sample: int = 50) -> tuple[str, ...]:
    """The column names (CSV header) or the dotted keys of the first `sample` JSON lines."""
    if _format(data, fmt) == "csv":
        try:
            return tuple(next(csv.reader(_lines(data, newline="")), []))
        except csv.Error as exc:
            raise ValueError(f"the first line is not a CSV header ({exc})") from None
    keys: dict[str, None] = {}
    for _, row in _jsonl_rows(data, limit=sample):
        keys.update(dict.fromkeys(_flat_keys(row or {})))
    return tuple(keys)


def parse_log_export(data: bytes | str, mapping: LogMapping, *, fmt: str = "auto") -> LogParse:
    """The export's line times per matched signal kind, read as a stream; malformed lines are counted,
    with their line numbers."""
    fmt = _format(data, fmt)
    rows = _jsonl_rows(data) if fmt == "jsonl" else _csv_rows(data)
    kept = _Collector()
    bad: list[int] = []
    lines = well_formed = malformed = naive = 0
    for line_no, row in rows:
        lines += 1
        parsed = _event(row, mapping) if row is not None else None
        if parsed is None:
            malformed += 1
            if len(bad) < MALFORMED_SAMPLE:
                bad.append(line_no)
            continue
        kept.add(parsed[0], parsed[1])
        well_formed += 1
        naive += parsed[2]
    warnings = []
    if naive:
        warnings.append(f"{naive} timestamps had no UTC offset and were read as UTC")
    if mapping.source is None:
        warnings.append("no route column mapped: webhook and cron lines are recognised only when the message"
                        " names the route")
    signals, coverage = kept.timeline()
    return LogParse(fmt, lines, well_formed, malformed, tuple(bad), tuple(warnings), signals, coverage)


def evaluate_log_rules(
    parse: LogParse, rules: Iterable[Rule], *, start: datetime, end: datetime
) -> list[RuleResult]:
    """Every "logs" rule over [start, end): worst window (see the module docstring)."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise ValueError(f"empty window: end {end.isoformat()} is not after start {start.isoformat()}")
    start_us, end_us = _us(start), _us(end)
    covered = parse.coverage.any_in(start_us, end_us)
    inside = {signal: times.within(start_us, end_us) for signal, times in parse.signals.items()}
    results = []
    for rule in rules:
        if rule.source != "logs":
            continue
        if not covered:
            result = evaluate_threshold(rule, None)
            results.append(replace(result, reason=f"{rule.title}: the log export has no lines in the window"
                                   f" (no data counts as {rule.no_data})"))
        elif rule.signal == "reversal_loop":
            results.append(_reversal_loop(rule, inside, start, start_us))
        else:
            results.append(_counted(rule, inside.get(rule.signal, SignalTimes())))
    return results


# --- evaluation ------------------------------------------------------------------------------------

def _counted(rule: Rule, times: SignalTimes) -> RuleResult:
    """The most lines in any half-open [t, t + window) starting at a line's time (all are < end):
    for each distinct time t_k, the lines in (t_k - window, t_k]; the earliest worst window wins."""
    best, best_at = 0, None
    if len(times.at_us):
        width = rule.window_minutes * 60 * _US
        total = np.r_[0, np.cumsum(times.lines)]
        first = np.searchsorted(times.at_us, times.at_us - width, side="right")
        per_window = total[1:] - total[first]
        worst = int(np.argmax(per_window))
        best, best_at = int(per_window[worst]), _at(int(times.at_us[first[worst]]))
    result = evaluate_threshold(rule, float(best))
    where = f" in the worst {rule.window_minutes}-minute window (from {_iso(best_at)})" if best_at else ""
    return replace(result, reason=result.reason + where)


def _reversal_loop(rule: Rule, inside: Mapping[str, SignalTimes], start: datetime, start_us: int) -> RuleResult:
    """Slices holding a webhook, a cron AND an inbox failure, most of them within one window."""
    width = rule.slice_minutes * 60 * _US
    per_family = [np.unique((inside.get(family, SignalTimes()).at_us - start_us) // width)
                  for family in sorted(LOOP_FAMILIES)]
    looping = reduce(np.intersect1d, per_family)
    per_window = rule.window_minutes // rule.slice_minutes
    runs = np.searchsorted(looping, looping + per_window, side="left") - np.arange(len(looping))
    best = int(runs.max()) if len(looping) else 0
    result = evaluate_threshold(rule, float(best))
    slice_width = timedelta(minutes=rule.slice_minutes)
    slices = ", ".join(_iso(start + slice_width * int(index)) for index in looping[:5])
    reason = result.reason + f" ({len(looping)} looping {rule.slice_minutes}-minute slices" + (
        f", from {slices})" if len(looping) else ")")
    return replace(result, reason=reason, slices_failed=best)


# --- parsing ---------------------------------------------------------------------------------------

def _lines(data: bytes | str, *, newline: str) -> io.TextIOBase:
    """The export as a text stream, decoded as it is read (a leading BOM dropped, bad UTF-8 replaced).

    newline="\\n" splits on LF only (not on U+2028 inside JSON strings); newline="" is what csv wants.
    """
    if isinstance(data, str):
        return io.StringIO(data.removeprefix("\ufeff"), newline=newline)
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="replace", newline=newline)


def _bounded(stream: io.TextIOBase, overlong: str, ends: tuple[str, ...]) -> Iterator[str]:
    """The stream's lines, with a line longer than MAX_LINE_CHARS replaced by `overlong` (a line the
    parser rejects) and never held whole."""
    while line := stream.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS and not line.endswith(ends):
            while (rest := stream.readline(MAX_LINE_CHARS)) and not rest.endswith(ends):
                pass
            line = overlong
        yield line


def _format(data: bytes | str, fmt: str) -> str:
    if fmt == "auto":
        stream = _lines(data, newline="")
        while chunk := stream.read(1 << 16):
            if head := chunk.lstrip():
                return "jsonl" if head.startswith("{") else "csv"
        return "csv"
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


def _jsonl_rows(data: bytes | str, limit: int | None = None) -> Iterator[tuple[int, dict | None]]:
    """One row per non-blank line, streamed; a line that is not a JSON object, is nested deeper than
    MAX_DEPTH (json raises RecursionError on very deep input) or is overlong is None."""
    seen = 0
    for line_no, line in enumerate(_bounded(_lines(data, newline="\n"), "\x00\n", ("\n",)), start=1):
        if not line.strip():
            continue
        seen += 1
        if limit is not None and seen > limit:
            return
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            row = None
        # nesting needs one bracket per level: only a line with more brackets than MAX_DEPTH is walked
        if isinstance(row, dict) and line.count("{") + line.count("[") > MAX_DEPTH and _depth(row) > MAX_DEPTH:
            row = None
        yield line_no, row if isinstance(row, dict) else None


def _csv_rows(data: bytes | str) -> Iterator[tuple[int, dict | None]]:
    # strict: a broken quote is malformed; an overlong line becomes one the strict reader refuses
    reader = csv.DictReader(_bounded(_lines(data, newline=""), '"x"y\n', ("\n", "\r")), strict=True)
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


def _event(row: dict, mapping: LogMapping) -> tuple[int, tuple[str, ...], bool] | None:
    """(µs since the epoch, signal kinds, timestamp was naive), or None when the line is malformed."""
    moment = _timestamp(_lookup(row, mapping.timestamp))
    message = _lookup(row, mapping.message)
    if moment is None or not isinstance(message, str):
        return None
    route = _lookup(row, mapping.source)
    fields = [_lookup(row, mapping.status), _lookup(row, mapping.level)]
    status, level = (str(value).strip() if value is not None else "" for value in fields)
    signals = classify(message, route if isinstance(route, str) and route else message, status, level)
    return _us(moment[0]), signals, moment[1]


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


def _us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact: integer arithmetic)."""
    return (moment - _EPOCH) // _MICROSECOND


def _at(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


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
