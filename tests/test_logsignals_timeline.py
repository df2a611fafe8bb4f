"""The streamed log parse keeps per-kind line times (and per-second coverage), not one object per line:
the rule results must be those of the old list-of-events evaluation. Expected numbers are worked out
by hand on a planted export with sub-second times, duplicate times, lines out of order and lines on
the window edges, and checked again against a brute-force count over the raw events."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from analysis.logsignals import (
    LOOP_FAMILIES,
    MAX_LINE_CHARS,
    LogMapping,
    _us,
    classify,
    evaluate_log_rules,
    parse_log_export,
)
from analysis.rules import RuleStatus, load_rules

RULES = load_rules()
LOG_RULES = [rule for rule in RULES.rules if rule.source == "logs"]
MAPPING = LogMapping(timestamp="timestamp", message="message", source="path")
T0 = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)
START, END = T0, T0 + timedelta(hours=1)

INBOX_300 = ("Task timed out after 300 seconds", "/api/inbox/process")
WEBHOOK_60 = ("Task timed out after 60 seconds", "/api/webhooks/email")
CRON_FAIL = ("GET /api/cron/followups 504", "/api/cron/followups")
PLAIN = ("handled", "/api/health")


def at(minute: int, second: int = 0, micro: int = 0) -> datetime:
    return T0 + timedelta(minutes=minute, seconds=second, microseconds=micro)


def planted(extra_burst_line: bool) -> list[tuple[datetime, tuple[str, str]]]:
    burst = ([(at(10, 0, 250_000), INBOX_300)] * 4                              # four lines at one instant
             + [(at(12, 0, 100_000 * k), INBOX_300) for k in range(5, 10)]      # 12:12:00.5 .. 12:12:00.9
             + [(at(15, 0, 250_000), INBOX_300), (at(15, 0, 300_000), INBOX_300)])
    if extra_burst_line:
        burst.append((at(15, 0, 249_999), INBOX_300))  # 1 µs inside the window that opens at 12:10:00.25
    # 2-minute slices from 12:00: slice 10 all three families, slice 11 no inbox failure, slice 25 all three
    loops = [(at(20, 0, 100_000), WEBHOOK_60), (at(20, 30), INBOX_300), (at(21, 59, 999_999), CRON_FAIL),
             (at(22), WEBHOOK_60), (at(23, 59, 999_999), CRON_FAIL),
             (at(50, 1), CRON_FAIL), (at(50, 2), INBOX_300), (at(51, 3), WEBHOOK_60)]
    edges = [(START - timedelta(microseconds=1), WEBHOOK_60), (END, WEBHOOK_60), (at(30), PLAIN)]
    events = burst + loops + edges
    random.Random(7).shuffle(events)  # the parse must not rely on the export being in time order
    return events


def export(events) -> bytes:
    return "\r\n".join(json.dumps({"timestamp": moment.isoformat(), "message": msg, "path": path})
                       for moment, (msg, path) in events).encode()


def by_id(parse, start=START, end=END):
    return {r.rule.id: r for r in evaluate_log_rules(parse, RULES, start=start, end=end)}


def test_planted_export_gives_the_hand_counted_worst_windows():
    parse = parse_log_export(export(planted(extra_burst_line=False)), MAPPING)
    assert (parse.lines, parse.well_formed, parse.malformed) == (22, 22, 0)
    # inbox timeouts: 11 burst lines + 2 loop lines; the webhook/cron/plain lines are not inbox
    assert parse.count("inbox_timeout_300s") == 13 and parse.count("webhook_timeout_60s") == 5
    results = by_id(parse)
    # 5-minute burst: the window [12:10:00.25, 12:15:00.25) holds the 4 + 5 = 9 lines; 12:15:00.25 is its
    # half-open end. The window from 12:12:00.5 holds 5 + 2 = 7. Worst 9: under "10 or more".
    burst = results["inbox_timeouts_300s_burst"]
    assert (burst.status, burst.measured) == (RuleStatus.OK, 9)
    assert "from 2026-02-18T12:10:00Z" in burst.reason
    # 30 minutes: the 11 burst lines and the slice-10 inbox line at 12:20:30 (the 12:50:02 one is 40 min later)
    assert results["inbox_timeouts_300s"].measured == 12
    # webhook 60 s: 12:20:00.1, 12:22, 12:51:03 in the window; 11:59:59.999999 is before start, 13:00 is the end
    webhook = results["webhook_timeouts_60s"]
    assert webhook.measured == 2 and "from 2026-02-18T12:20:00Z" in webhook.reason
    # looping slices (2 min from 12:00): 10 = [12:20, 12:22) and 25 = [12:50, 12:52); slice 11 has no inbox
    # failure. 15 slices apart: never within one 30-minute run of 15 slices, so the worst run holds 1.
    loop = results["reversal_loop"]
    assert (loop.status, loop.measured, loop.slices_failed) == (RuleStatus.OK, 1, 1)
    assert "2 looping 2-minute slices, from 2026-02-18T12:20:00Z, 2026-02-18T12:50:00Z" in loop.reason
    assert results["db_pool_timeouts"].measured == 0


def test_one_microsecond_inside_the_burst_window_trips_it():
    # a per-second count would put 12:15:00.249999 exactly 5 minutes after 12:10:00 and miss it
    results = by_id(parse_log_export(export(planted(extra_burst_line=True)), MAPPING))
    burst = results["inbox_timeouts_300s_burst"]
    assert (burst.status, burst.measured) == (RuleStatus.TRIPPED, 10)


def test_a_window_starting_inside_a_second_and_the_edges():
    parse = parse_log_export(export(planted(extra_burst_line=False)), MAPPING)
    # from 12:10:00.250001 the four simultaneous lines are out: the worst 5 minutes is 12:12:00.5 + 7
    assert by_id(parse, start=at(10, 0, 250_001))["inbox_timeouts_300s_burst"].measured == 7
    # [13:00, 14:00) holds only the webhook line at 13:00: covered, one timeout
    assert by_id(parse, start=END, end=END + timedelta(hours=1))["webhook_timeouts_60s"].measured == 1
    # [13:00:00.000001, 14:00) holds no line: no data, not zero
    empty = by_id(parse, start=END + timedelta(microseconds=1), end=END + timedelta(hours=1))
    assert {r.status for r in empty.values()} == {RuleStatus.NO_DATA}
    # a window holding only the plain line at 12:30 is covered: zero counts that pass
    quiet = by_id(parse, start=at(29, 59, 999_999), end=at(30, 0, 1))
    assert {r.status for r in quiet.values()} == {RuleStatus.OK}


# --- the same answers as a brute-force count over every raw event (the old representation) ------------

def brute_force(events, rule, start: datetime, end: datetime) -> tuple[float | None, datetime | None]:
    inside = sorted((moment, classify(msg, path)) for moment, (msg, path) in events if start <= moment < end)
    if not inside:
        return None, None
    if rule.signal == "reversal_loop":
        width = timedelta(minutes=rule.slice_minutes)
        seen: dict[int, set[str]] = {}
        for moment, signals in inside:
            seen.setdefault((moment - start) // width, set()).update(LOOP_FAMILIES.intersection(signals))
        looping = [index for index, families in seen.items() if families >= LOOP_FAMILIES]
        span = rule.window_minutes // rule.slice_minutes
        return max((sum(first <= other < first + span for other in looping) for first in looping), default=0), None
    times = [moment for moment, signals in inside if rule.signal in signals]
    width = timedelta(minutes=rule.window_minutes)
    counts = [(sum(t <= other < t + width for other in times), t) for t in times]
    best = max((count for count, _ in counts), default=0)
    return best, min((t for count, t in counts if count == best), default=None)


@pytest.mark.parametrize("seed", range(6))
def test_random_exports_match_a_brute_force_count(seed):
    rng = random.Random(seed)
    kinds = [INBOX_300, WEBHOOK_60, CRON_FAIL, PLAIN, ("P2028 pool", "/api/inbox/x"),
             ("GET /api/cron/response-timing 500", "/api/cron/response-timing")]
    events = [(T0 + timedelta(microseconds=rng.randrange(0, 3_600_000_000, rng.choice([1, 1000, 1_000_000]))),
               rng.choice(kinds)) for _ in range(rng.randrange(30, 300))]
    events += events[: len(events) // 5]  # duplicate instants
    parse = parse_log_export(export(events), MAPPING)
    for start, end in ((START, END), (at(7, 13, 5), at(41, 0, 999_999)), (at(59, 59), END)):
        for result in evaluate_log_rules(parse, LOG_RULES, start=start, end=end):
            measured, best_at = brute_force(events, result.rule, start, end)
            assert result.measured == measured, (seed, result.rule.id, start)
            if best_at is not None and result.rule.signal != "reversal_loop":
                assert f"(from {best_at:%Y-%m-%dT%H:%M:%SZ})" in result.reason


# --- streaming: bytes read line by line give what the whole text gave ---------------------------------------

def test_bytes_and_text_parse_alike_with_a_bom_crlf_and_bad_utf8():
    text = export(planted(extra_burst_line=True)).decode()
    raw = b"\xef\xbb\xbf" + text.encode().replace(b"handled", b"hand\xffled")
    from_bytes, from_text = parse_log_export(raw, MAPPING), parse_log_export(text, MAPPING)
    assert (from_bytes.lines, from_bytes.well_formed, from_bytes.counts()) == (
        from_text.lines, from_text.well_formed, from_text.counts())
    assert [r.measured for r in evaluate_log_rules(from_bytes, LOG_RULES, start=START, end=END)] == [
        r.measured for r in evaluate_log_rules(from_text, LOG_RULES, start=START, end=END)]


def test_csv_with_cr_only_line_ends_streams_like_text():
    rows = "\r".join(["timestamp,message,path", f"{at(1).isoformat()},Task timed out after 300 seconds,/api/inbox",
                      f'{at(2).isoformat()},"two\rlines",/api/inbox', f"{at(3).isoformat()},x"])
    parse = parse_log_export(rows.encode(), MAPPING, fmt="csv")
    # records end on physical lines 2, 4 (quoted CR inside) and 5 (too few fields: malformed)
    assert (parse.lines, parse.well_formed, parse.malformed_lines) == (3, 2, (5,))
    assert parse.count("inbox_timeout_300s") == 1


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_overlong_line_is_one_malformed_line_and_is_not_held_whole(fmt):
    good = (json.dumps({"timestamp": at(1).isoformat(), "message": "ok", "path": "/"}) if fmt == "jsonl"
            else f"{at(1).isoformat()},ok,/")
    head = [] if fmt == "jsonl" else ["timestamp,message,path"]
    long_line = good[:-1] + "x" * (2 * MAX_LINE_CHARS + 5)  # 2 MiB+ on one physical line
    text = "\n".join([*head, good, long_line, good]) + "\n"
    parse = parse_log_export(text.encode(), MAPPING, fmt=fmt)
    assert (parse.lines, parse.well_formed, parse.malformed) == (3, 2, 1)
    if fmt == "jsonl":  # (csv reports a refused record under the reader's line count before it, as it always did)
        assert parse.malformed_lines == (2,)


def test_brackets_inside_strings_do_not_make_a_flat_line_too_deep():
    flat = json.dumps({"timestamp": at(1).isoformat(), "message": "{[" * 40, "path": "/"})  # depth 1, 80 brackets
    deep = json.loads('{"a": ' * 40 + "1" + "}" * 40)
    nested = json.dumps({"timestamp": at(1).isoformat(), "message": "x", "n": deep})
    parse = parse_log_export("\n".join([flat, nested]), MAPPING)
    assert (parse.well_formed, parse.malformed_lines) == (1, (2,))  # 41 levels is past MAX_DEPTH (32)


def test_coverage_runs_merged_while_streaming_answer_as_before(monkeypatch):
    # lines out of time order start a coverage run each; merged every few runs they must still say which
    # windows hold a line (the planted export: 22 lines in 14 distinct seconds, 11:59:59, 12:10:00,
    # 12:12:00, 12:15:00, 12:20:00, 12:20:30, 12:21:59, 12:22:00, 12:23:59, 12:30:00, 12:50:01, 12:50:02,
    # 12:51:03 and 13:00:00)
    events = planted(extra_burst_line=False)
    whole = parse_log_export(export(events), MAPPING)
    monkeypatch.setattr("analysis.logsignals._Collector.COMPACT_AT", 3)
    merged = parse_log_export(export(events), MAPPING)
    assert list(merged.coverage.seconds) == list(whole.coverage.seconds) and len(whole.coverage.seconds) == 14
    assert (list(merged.coverage.first_us), list(merged.coverage.last_us)) == (
        list(whole.coverage.first_us), list(whole.coverage.last_us))
    for start, end in ((START, END), (at(30), at(30, 0, 1)), (at(30, 0, 1), at(30, 0, 2))):
        assert merged.coverage.any_in(_us(start), _us(end)) == whole.coverage.any_in(_us(start), _us(end))
    assert merged.coverage.any_in(_us(at(30)), _us(at(30, 0, 1))) is True
    assert merged.coverage.any_in(_us(at(30, 0, 1)), _us(at(30, 0, 2))) is False
