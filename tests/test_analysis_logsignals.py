"""Runtime-log signals: parsing JSON lines and CSV exports, classification, the per-window counts just
under and just over each threshold, half-open window edges, malformed lines, and no message text
anywhere in what the parse or the evaluation returns."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analysis.logsignals import (
    MALFORMED_SAMPLE,
    LogMapping,
    classify,
    evaluate_log_rules,
    guess_mapping,
    header_keys,
    parse_log_export,
)
from analysis.rules import RuleStatus, load_rules

DATA = Path(__file__).parent / "data"
RULES = load_rules()
T0 = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)
START, END = T0, T0 + timedelta(minutes=60)
SENTINEL = "PII-SENTINEL"
MAPPING = LogMapping(timestamp="timestamp", message="message", source="path")

WEBHOOK_60 = ("Task timed out after 60.02 seconds", "/api/webhooks/email")
INBOX_300 = ("Task timed out after 300 seconds", "/api/inbox/process")
P2028 = ("Invalid invocation: P2028 Transaction API error", "/api/inbox/process")
QUERY_WAIT = ("query_wait_timeout while waiting for a connection", "/api/webhooks/email")
CRON_500 = ("GET /api/cron/response-timing 500", "/api/cron/response-timing")
CRON_FAIL = ("GET /api/cron/followups 504", "/api/cron/followups")
PLAIN = ("handled", "/api/health")


def at(minutes: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def every(n: int, kind: tuple[str, str], *, first: datetime = T0, step: timedelta = timedelta(seconds=30)):
    return [(first + step * i, kind) for i in range(n)]


def jsonl(events) -> str:
    """One JSON line per (time, (message, path)); every message carries the sentinel."""
    return "\n".join(
        json.dumps({"timestamp": moment.isoformat().replace("+00:00", "Z"), "message": f"{msg} {SENTINEL}",
                    "path": path})
        for moment, (msg, path) in events
    )


def csv_text(events) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["timestamp", "message", "path"])
    for moment, (msg, path) in events:
        writer.writerow([moment.isoformat(), f"{msg}, lead {SENTINEL}", path])
    return out.getvalue()


def results(text: str, *, fmt: str = "auto", start: datetime = START, end: datetime = END):
    parse = parse_log_export(text, MAPPING, fmt=fmt)
    return parse, {result.rule.id: result for result in evaluate_log_rules(parse, RULES, start=start, end=end)}


def status(text: str, rule_id: str, **kw) -> RuleStatus:
    return results(text, **kw)[1][rule_id].status


# --- thresholds, just under and just over -------------------------------------------------------------

@pytest.mark.parametrize("render", [jsonl, csv_text])
def test_webhook_timeouts_50_pass_51_trip_in_30_minutes(render):
    # 30 s apart: 51 events span 25 minutes, all inside one 30-minute window
    assert status(render(every(50, WEBHOOK_60)), "webhook_timeouts_60s") is RuleStatus.OK
    parse, by_id = results(render(every(51, WEBHOOK_60)))
    tripped = by_id["webhook_timeouts_60s"]
    assert tripped.status is RuleStatus.TRIPPED and tripped.measured == 51
    assert tripped.rollback == RULES.by_id("webhook_timeouts_60s").rollback
    assert "2026-02-18T12:00:00Z" in tripped.reason


def test_sliding_window_is_half_open_so_events_30_minutes_apart_are_not_together():
    # 50 events in the first 24.5 minutes plus one at exactly first + 30 min: the window [t, t + 30) that
    # holds the first event misses the last; the one starting at the 2nd event holds 49 + 1 = 50
    events = every(50, WEBHOOK_60) + [(at(30), WEBHOOK_60)]
    assert status(jsonl(events), "webhook_timeouts_60s") is RuleStatus.OK
    # one second earlier they share the window: 51
    events = every(50, WEBHOOK_60) + [(at(29, 59), WEBHOOK_60)]
    assert status(jsonl(events), "webhook_timeouts_60s") is RuleStatus.TRIPPED


def test_webhook_timeouts_outside_a_webhook_route_do_not_count():
    events = every(51, ("Task timed out after 60 seconds", "/api/inbox/process"))
    assert status(jsonl(events), "webhook_timeouts_60s") is RuleStatus.OK


@pytest.mark.parametrize("render", [jsonl, csv_text])
def test_inbox_burst_9_pass_10_trip_in_any_5_minutes(render):
    # 20 s apart from 12:03: 10 events span 12:03:00-12:06:00, straddling the 12:05 clock boundary,
    # so only a sliding window sees all 10; the 30-minute rule (> 20) stays quiet
    first = at(3)
    nine = every(9, INBOX_300, first=first, step=timedelta(seconds=20))
    ten = every(10, INBOX_300, first=first, step=timedelta(seconds=20))
    assert status(render(nine), "inbox_timeouts_300s_burst") is RuleStatus.OK
    parse, by_id = results(render(ten))
    assert by_id["inbox_timeouts_300s_burst"].status is RuleStatus.TRIPPED
    assert by_id["inbox_timeouts_300s_burst"].measured == 10
    assert by_id["inbox_timeouts_300s"].status is RuleStatus.OK


def test_inbox_burst_window_is_half_open():
    # 9 in the first 4 min, the 10th exactly 5 min after the first: never 10 in [t, t + 5 min)
    events = every(9, INBOX_300, step=timedelta(seconds=30)) + [(at(5), INBOX_300)]
    assert status(jsonl(events), "inbox_timeouts_300s_burst") is RuleStatus.OK


@pytest.mark.parametrize("render", [jsonl, csv_text])
def test_inbox_timeouts_20_pass_21_trip_per_30_minutes(render):
    # 80 s apart: 21 events span 26m40s; at most 4 in any 5 minutes, so the burst rule stays quiet
    step = timedelta(seconds=80)
    assert status(render(every(20, INBOX_300, step=step)), "inbox_timeouts_300s") is RuleStatus.OK
    _, by_id = results(render(every(21, INBOX_300, step=step)))
    assert by_id["inbox_timeouts_300s"].status is RuleStatus.TRIPPED
    assert by_id["inbox_timeouts_300s_burst"].status is RuleStatus.OK


@pytest.mark.parametrize("render", [jsonl, csv_text])
def test_db_pool_timeouts_30_pass_31_trip(render):
    # both spellings count: 15 P2028 + 15 query_wait_timeout = 30, then one more
    thirty = every(15, P2028) + every(15, QUERY_WAIT, first=at(0, 15))
    assert status(render(thirty), "db_pool_timeouts") is RuleStatus.OK
    assert status(render(thirty + [(at(20), P2028)]), "db_pool_timeouts") is RuleStatus.TRIPPED


@pytest.mark.parametrize("render", [jsonl, csv_text])
def test_response_timing_cron_500s_15_pass_16_trip(render):
    noise = every(20, ("processed 500 rows", "/api/cron/response-timing")) + every(20, CRON_FAIL)
    assert status(render(every(15, CRON_500) + noise), "response_timing_cron_500s") is RuleStatus.OK
    assert status(render(every(16, CRON_500) + noise), "response_timing_cron_500s") is RuleStatus.TRIPPED


def test_cron_500_from_a_status_column():
    mapping = LogMapping(timestamp="ts", message="msg", source="route", status="code")
    lines = [json.dumps({"ts": (T0 + timedelta(seconds=i)).isoformat(), "msg": "failed", "code": 500,
                         "route": "/api/cron/response_timing"}) for i in range(16)]
    parse = parse_log_export("\n".join(lines), mapping)
    assert parse.count("response_timing_cron_500") == 16


def loop_slice(minute: int, seconds: tuple[int, int, int] = (5, 30, 50)):
    """One webhook, cron and inbox failure inside the 2-minute slice starting at `minute`."""
    return [(at(minute, seconds[0]), WEBHOOK_60), (at(minute, seconds[1]), CRON_FAIL),
            (at(minute, seconds[2]), INBOX_300)]


@pytest.mark.parametrize("render", [jsonl, csv_text])
def test_reversal_loop_1_slice_passes_2_distinct_slices_trip(render):
    one = loop_slice(10)
    _, by_id = results(render(one))
    assert by_id["reversal_loop"].status is RuleStatus.OK and by_id["reversal_loop"].measured == 1
    _, by_id = results(render(one + loop_slice(20)))
    loop = by_id["reversal_loop"]
    assert loop.status is RuleStatus.TRIPPED and loop.slices_failed == 2 and loop.rule.critical
    assert "2026-02-18T12:10:00Z" in loop.reason and "2026-02-18T12:20:00Z" in loop.reason


def test_reversal_loop_needs_all_three_families_in_the_same_slice():
    # cron failure at 12:11:59 and inbox at 12:12:00 fall in different slices ([12:10, 12:12), [12:12, 12:14))
    split = [(at(10, 5), WEBHOOK_60), (at(11, 59), CRON_FAIL), (at(12), INBOX_300)]
    two_families = [(at(20, 5), WEBHOOK_60), (at(20, 30), CRON_FAIL)]
    assert status(jsonl(split + two_families + loop_slice(30)), "reversal_loop") is RuleStatus.OK


def test_reversal_loop_slices_must_fall_within_one_30_minute_window():
    # looping slices at 12:00 and 12:30: 15 slices apart, never in the same run of 15 slices
    assert status(jsonl(loop_slice(0) + loop_slice(30)), "reversal_loop") is RuleStatus.OK
    assert status(jsonl(loop_slice(0) + loop_slice(28)), "reversal_loop") is RuleStatus.TRIPPED


# --- window edges and coverage ----------------------------------------------------------------------------

def test_event_at_start_is_in_and_event_at_end_is_out():
    inside = every(50, WEBHOOK_60, first=at(30), step=timedelta(seconds=10))
    assert status(jsonl(inside + [(END, WEBHOOK_60)]), "webhook_timeouts_60s") is RuleStatus.OK
    assert status(jsonl(inside + [(at(59, 59), WEBHOOK_60)]), "webhook_timeouts_60s") is RuleStatus.TRIPPED
    before = every(50, WEBHOOK_60, step=timedelta(seconds=10))
    assert status(jsonl(before + [(START, WEBHOOK_60)]), "webhook_timeouts_60s") is RuleStatus.TRIPPED
    earlier = before + [(START - timedelta(seconds=1), WEBHOOK_60)]
    assert status(jsonl(earlier), "webhook_timeouts_60s") is RuleStatus.OK  # the 51st is 1 s before start


def test_a_log_without_lines_in_the_window_is_no_data_not_a_pass():
    _, by_id = results(jsonl(every(60, WEBHOOK_60, first=END)))
    assert {result.status for result in by_id.values()} == {RuleStatus.NO_DATA}
    assert "no lines in the window" in by_id["webhook_timeouts_60s"].reason


def test_quiet_lines_in_the_window_make_zero_counts_that_pass():
    _, by_id = results(jsonl(every(5, PLAIN)))
    assert {result.status for result in by_id.values()} == {RuleStatus.OK}
    assert by_id["db_pool_timeouts"].measured == 0


def test_only_log_rules_are_evaluated_and_an_empty_window_is_refused():
    parse = parse_log_export(jsonl(every(3, PLAIN)), MAPPING)
    assert {r.rule.source for r in evaluate_log_rules(parse, RULES, start=START, end=END)} == {"logs"}
    with pytest.raises(ValueError, match="empty window"):
        evaluate_log_rules(parse, RULES, start=END, end=START)


# --- parsing ---------------------------------------------------------------------------------------------

def test_jsonl_sample_export_parses_with_malformed_lines_reported_by_number():
    parse = parse_log_export((DATA / "log_export_sample.jsonl").read_bytes(), guess_mapping(["timestamp", "message",
                                                                                           "path", "level"]))
    # 12 lines, line 4 blank: 11 records; line 6 cut-off JSON, 9 no timestamp, 10 unparseable timestamp
    assert (parse.fmt, parse.lines, parse.malformed, parse.malformed_lines) == ("jsonl", 11, 3, (6, 9, 10))
    assert parse.well_formed == 8
    by_id = {r.rule.id: r for r in evaluate_log_rules(parse, RULES, start=START, end=END)}
    # in [12:00, 13:00): webhook line 1 (line 11 sits at 13:00), inbox line 3 (line 12 at 11:59:59),
    # P2028 line 5 + query_wait_timeout line 8 (epoch ms 12:06), cron 500 line 2 ("500 rows" line 7 is not)
    measured = {rule_id: by_id[rule_id].measured for rule_id in by_id}
    assert measured == {"webhook_timeouts_60s": 1, "inbox_timeouts_300s": 1, "inbox_timeouts_300s_burst": 1,
                        "db_pool_timeouts": 2, "response_timing_cron_500s": 1, "reversal_loop": 1}
    _assert_no_sentinel(parse, by_id)


def test_csv_sample_export_parses_with_guessed_columns():
    text = (DATA / "log_export_sample.csv").read_text(encoding="utf-8")
    mapping = guess_mapping(header_keys(text))
    assert mapping == LogMapping(timestamp="time", message="msg", source="route", status="statusCode", level="level")
    parse = parse_log_export(text, mapping)
    # 11 physical lines: header, records ending on lines 2, 3, 5 (quoted newline), 6..11;
    # line 7 has too few fields, 10 too many, 11 an unparseable time
    assert (parse.fmt, parse.lines, parse.malformed, parse.malformed_lines) == ("csv", 9, 3, (7, 10, 11))
    by_id = {r.rule.id: r for r in evaluate_log_rules(parse, RULES, start=START, end=END)}
    measured = {rule_id: by_id[rule_id].measured for rule_id in by_id}
    assert measured == {"webhook_timeouts_60s": 1, "inbox_timeouts_300s": 1, "inbox_timeouts_300s_burst": 1,
                        "db_pool_timeouts": 2, "response_timing_cron_500s": 1, "reversal_loop": 1}
    _assert_no_sentinel(parse, by_id)


def _assert_no_sentinel(parse, by_id) -> None:
    dumped = repr(parse) + repr(list(by_id.values())) + "".join(r.reason for r in by_id.values())
    assert SENTINEL not in dumped and "example.invalid" not in dumped


def test_sentinel_never_appears_in_parse_or_results_even_on_malformed_lines():
    text = jsonl(every(60, WEBHOOK_60) + loop_slice(40)) + f'\n{{"timestamp": "{SENTINEL}"}}\n{SENTINEL}\n'
    parse, by_id = results(text)
    assert parse.malformed == 2 and by_id["webhook_timeouts_60s"].status is RuleStatus.TRIPPED
    _assert_no_sentinel(parse, by_id)
    assert SENTINEL not in repr(parse.warnings)


def test_malformed_line_numbers_are_capped_but_all_counted():
    good = jsonl(every(2, PLAIN))
    text = good + "\n" + "\n".join(["{not json"] * (MALFORMED_SAMPLE + 2)) + "\n" + good
    parse = parse_log_export(text, MAPPING)
    assert parse.malformed == MALFORMED_SAMPLE + 2 and parse.well_formed == 4
    assert parse.malformed_lines == tuple(range(3, 3 + MALFORMED_SAMPLE))


def test_non_object_json_and_missing_message_are_malformed():
    text = '[1, 2]\n"text"\n{"timestamp": "2026-02-18T12:00:00Z"}\n{"timestamp": "2026-02-18T12:00:00Z", "message": 5}'
    assert parse_log_export(text, MAPPING, fmt="jsonl").malformed_lines == (1, 2, 3, 4)


@pytest.mark.parametrize(
    "stamp",
    ["2026-02-18T12:00:00Z", "2026-02-18T13:00:00+01:00", "2026-02-18T07:00:00-05:00", "2026-02-18T12:00:00.000Z",
     1771416000, 1771416000000, "1771416000", 1771416000.0],
)
def test_timestamps_iso_with_offsets_and_epoch_seconds_or_ms_are_utc(stamp):
    parse = parse_log_export(json.dumps({"timestamp": stamp, "message": "x"}), MAPPING)
    assert parse.malformed == 0 and parse.first == parse.last == T0 and parse.first.tzinfo is UTC


def test_naive_timestamps_are_read_as_utc_with_a_warning():
    parse = parse_log_export('{"timestamp": "2026-02-18 12:00:00", "message": "x"}', MAPPING)
    assert parse.first == T0 and any("no UTC offset" in w for w in parse.warnings)


def test_bytes_with_a_bom_and_forced_format():
    text = csv_text(every(3, PLAIN))
    parse = parse_log_export(b"\xef\xbb\xbf" + text.encode(), MAPPING, fmt="csv")
    assert (parse.fmt, parse.well_formed, parse.malformed) == ("csv", 3, 0)
    with pytest.raises(ValueError, match="unknown log format"):
        parse_log_export(text, MAPPING, fmt="xml")


def test_nested_json_keys_are_mapped_with_dots():
    line = json.dumps({"@timestamp": T0.isoformat(), "msg": "Task timed out after 60 seconds",
                       "proxy": {"path": "/api/webhooks/email", "statusCode": 504}})
    mapping = guess_mapping(header_keys(line))
    assert (mapping.timestamp, mapping.message, mapping.source, mapping.status) == (
        "@timestamp", "msg", "proxy.path", "proxy.statusCode")
    assert parse_log_export(line, mapping).counts() == {"webhook_failure": 1, "webhook_timeout_60s": 1}


def test_guess_mapping_refuses_without_time_or_message():
    with pytest.raises(ValueError, match="no message column"):
        guess_mapping(["ts", "route"])
    with pytest.raises(ValueError, match="no timestamp column"):
        guess_mapping(["text"])


def test_without_a_route_column_a_warning_says_routes_come_from_the_message():
    parse = parse_log_export('{"timestamp": 1771416000, "message": "x"}', LogMapping())
    assert any("no route column" in warning for warning in parse.warnings)


# --- classification ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("message", "route", "status", "expected"),
    [
        ("Task timed out after 60.01 seconds", "/api/webhooks/inboxxia", "", ("webhook_timeout_60s",
                                                                            "webhook_failure")),
        ("Task timed out after 600 seconds", "/api/webhooks/email", "", ("webhook_failure",)),
        ("Task timed out after 300 seconds", "Task timed out after 300 seconds", "", ("inbox_timeout_300s",
                                                                                    "inbox_failure")),
        ("Task timed out after 300 seconds", "/api/cron/followups", "", ("cron_failure",)),
        ("processed 500 rows", "/api/cron/response-timing", "", ()),
        ("done", "/api/cron/response-timing", "500", ("response_timing_cron_500", "cron_failure")),
        ("500 Internal Server Error", "/api/cron/response-timing", "", ("response_timing_cron_500",
                                                                      "cron_failure")),
        ("status=503", "/api/cron/response-timing", "", ("cron_failure",)),
        ("P2028 in a script", "", "", ("db_pool_timeout",)),
        ("handled", "/api/inbox/process", "200", ()),
    ],
)
def test_classify(message, route, status, expected):
    assert classify(message, route, status) == expected


def test_error_level_marks_a_family_failure():
    assert classify("something broke", "/api/inbox/x", "", "ERROR") == ("inbox_failure",)
    assert classify("something broke", "/api/inbox/x", "", "info") == ()


# --- hostile uploads: counted as malformed, never a traceback (issue 10) ----------------------------

def _good(second: int) -> str:
    return (f'{{"timestamp": "2026-02-18T12:00:{second:02d}Z", "message": "Task timed out after 60 seconds", '
            f'"path": "/api/webhooks/inboxxia"}}')


def test_deeply_nested_json_lines_are_malformed_not_a_recursion_error():
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000  # json raises RecursionError on this
    moderately = '{"timestamp": "2026-02-18T12:00:05Z", "message": "x", "n": ' + '{"b": ' * 40 + "1" + "}" * 41
    text = "\n".join([_good(1), deep, moderately, _good(2)])
    mapping = guess_mapping(header_keys(text))
    parse = parse_log_export(text, mapping)
    assert (parse.lines, parse.malformed, parse.malformed_lines) == (4, 2, (2, 3))
    assert parse.well_formed == 2


def test_a_binary_file_is_counted_malformed_not_a_csv_error():
    binary = bytes(range(256)) * 64 + b"\x00\x00\n\x00,\x00\n" * 10
    with pytest.raises(ValueError):  # no timestamp/message header to guess: a clear message, no csv.Error
        guess_mapping(header_keys(binary))
    parse = parse_log_export(binary, LogMapping(timestamp="timestamp", message="message"), fmt="csv")
    assert parse.malformed == parse.lines and parse.well_formed == 0 and parse.first is None


def test_a_csv_with_a_broken_quote_counts_the_bad_rows():
    text = 'timestamp,message\n2026-02-18T12:00:01Z,"ok"\n2026-02-18T12:00:02Z,"unterminated\n'
    parse = parse_log_export(text, guess_mapping(header_keys(text)))
    assert parse.lines == 2 and parse.malformed == 1 and parse.well_formed == 1
