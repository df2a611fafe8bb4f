"""Pure queue analysis: depth reconstruction, growth spans (issue 5's 30-minute rule), failure ratios."""

from datetime import UTC, datetime, timedelta

import pandas as pd

from analysis.queue import failure_ratio, grows_without_draining, queue_depth_series, worst_failure_ratios

T0 = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)


def minutes(m: int) -> pd.Timestamp:
    return pd.Timestamp(T0 + timedelta(minutes=m))


def every_five(values: list[int]) -> pd.Series:
    """A depth series sampled every 5 minutes from T0."""
    return pd.Series(values, index=[minutes(5 * i) for i in range(len(values))])


def flow_row(m: int, ws: str | None, created=0, started=0, succeeded=0, failed=0) -> dict:
    return {"bucket": minutes(m), "workspace": ws, "provider": "CRM", "created": created, "started": started,
            "succeeded": succeeded, "failed": failed}


# -- queue_depth_series ----------------------------------------------------------------------------

def test_depth_fills_empty_buckets_and_accumulates():
    flow = pd.DataFrame([flow_row(0, "ws-a", created=3, started=2), flow_row(20, "ws-a", succeeded=2, failed=1)])
    backlog = pd.DataFrame([{"workspace": "ws-a", "provider": "CRM", "queued": 1, "running": 1}])
    depth = queue_depth_series(flow, backlog, start=T0, end=minutes(30), bucket_seconds=600)
    # 12:10: 1 + 3 = 4 queued, 1 + 2 = 3 running; 12:20: nothing moved; 12:30: 4 - 3 = 1, 3 - 3 = 0
    assert depth[["queued", "running", "pending"]].values.tolist() == [[4, 3, 1], [4, 3, 1], [1, 0, 1]]
    assert list(depth["bucket_end"]) == [minutes(10), minutes(20), minutes(30)]


def test_depth_by_group_keeps_the_unresolved_workspace_apart():
    flow = pd.DataFrame([flow_row(0, "ws-a", created=2), flow_row(0, None, created=1),
                         flow_row(10, "ws-a", succeeded=1)])
    backlog = pd.DataFrame([{"workspace": "ws-b", "provider": "CRM", "queued": 5, "running": 0}])
    depth = queue_depth_series(flow, backlog, start=T0, end=minutes(20), bucket_seconds=600,
                               by=("workspace", "provider"))
    assert list(depth.columns) == ["workspace", "provider", "bucket_end", "queued", "running", "pending"]
    series: dict = {}
    for record in depth.to_dict("records"):
        series.setdefault(None if pd.isna(record["workspace"]) else record["workspace"], []).append(record["queued"])
    # ws-a: 2 then 2 - 1 = 1; unresolved: 1, 1; ws-b: only its backlog of 5, nothing moved
    assert series == {"ws-a": [2, 1], None: [1, 1], "ws-b": [5, 5]}


def test_the_unresolved_group_in_both_flow_and_backlog_is_one_series():
    # after grouping, an all-NULL workspace column reads float NaN in one frame and None in the other
    flow = pd.DataFrame([flow_row(0, None, created=2, failed=1)])
    flow["workspace"] = float("nan")
    backlog = pd.DataFrame([{"workspace": None, "provider": "CRM", "queued": 3, "running": 1}])
    depth = queue_depth_series(flow, backlog, start=T0, end=minutes(20), bucket_seconds=600,
                               by=("workspace", "provider"))
    # 12:10: 3 + 2 - 1 = 4 queued, 1 + 0 - 1 = 0 running; 12:20: nothing moved
    assert depth[["workspace", "queued", "running", "pending"]].values.tolist() == [[None, 4, 0, 4], [None, 4, 0, 4]]


def test_depth_buckets_align_to_the_epoch_like_time_bucket():
    depth = queue_depth_series(pd.DataFrame(), pd.DataFrame(), start=minutes(10), end=minutes(60),
                               bucket_seconds=1800)
    # a window from 12:10 falls in the 12:00 bucket, which ends 12:30; the last ends 13:00
    assert list(depth["bucket_end"]) == [minutes(30), minutes(60)]
    assert depth["queued"].tolist() == [0, 0]


def test_empty_inputs_by_group_have_no_series():
    depth = queue_depth_series(pd.DataFrame(), pd.DataFrame(), start=T0, end=minutes(60), bucket_seconds=1800,
                               by=("workspace", "provider"))
    assert depth.empty


# -- grows_without_draining ------------------------------------------------------------------------

def test_forty_minutes_of_growth_trips_the_thirty_minute_rule():
    # rises every 5 minutes from 12:00 to 12:40, then drains at 12:45
    assert grows_without_draining(every_five([0, 1, 2, 3, 4, 5, 6, 7, 8, 3])) == [(minutes(0), minutes(40))]


def test_twenty_five_minutes_of_growth_does_not():
    assert grows_without_draining(every_five([0, 1, 2, 3, 4, 5, 2])) == []  # 12:00 .. 12:25


def test_a_dip_in_the_middle_resets_the_span():
    # 12:00 .. 12:15 up (15 min), dips at 12:20, up again 12:20 .. 12:45 (25 min): 45 minutes, no 30-minute span
    assert grows_without_draining(every_five([0, 1, 2, 3, 2, 3, 4, 5, 6, 7])) == []


def test_flat_steps_inside_a_span_do_not_break_it_and_exactly_thirty_minutes_trips():
    assert grows_without_draining(every_five([0, 1, 1, 1, 2, 3, 4])) == [(minutes(0), minutes(30))]


def test_a_parked_queue_is_not_growing():
    # non-decreasing for 50 minutes, but the only rise is 12:15 -> 12:20: flat ends are not growth
    assert grows_without_draining(every_five([2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3])) == []
    assert grows_without_draining(every_five([5] * 12)) == []


def test_two_growth_episodes_and_a_custom_length():
    values = [0, 1, 2, 3, 0, 0, 1, 2, 3, 4]  # 12:00-12:15 up, drain, 12:25-12:45 up
    assert grows_without_draining(every_five(values), minutes=15) == [(minutes(0), minutes(15)),
                                                                     (minutes(25), minutes(45))]
    assert grows_without_draining(every_five(values), minutes=20) == [(minutes(25), minutes(45))]


def test_growth_is_judged_in_time_order():
    series = every_five([0, 1, 2, 3, 4, 5, 6]).iloc[::-1]  # handed over newest first
    assert grows_without_draining(series) == [(minutes(0), minutes(30))]


# -- failure ratios -------------------------------------------------------------------------------

def test_failure_ratio_is_missing_without_runs():
    assert failure_ratio(0, 0) is None
    assert failure_ratio(10, 2) == 0.2
    assert failure_ratio(4, 0) == 0.0


def test_worst_failure_ratio_per_bucket_needs_enough_runs():
    runs = pd.DataFrame([
        {"bucket": minutes(0), "function": "a", "runs": 10, "failed": 1},
        {"bucket": minutes(0), "function": "b", "runs": 20, "failed": 5},  # 0.25: the worst
        {"bucket": minutes(0), "function": "c", "runs": 3, "failed": 3},  # too few runs to count
        {"bucket": minutes(60), "function": "c", "runs": 9, "failed": 9},  # too few: the hour is missing
    ])
    assert worst_failure_ratios(runs) == [0.25, None]
    assert worst_failure_ratios(pd.DataFrame()) == []
