"""The live canary watch judges on always-valid intervals (analysis/sequential.py): simulated null
canaries watched over 40 looks keep the chance of ever calling a shift near alpha, where the
fixed-horizon interval re-checked at every look does not; a clear regression is caught early."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from analysis.canary.inputs import side_totals
from analysis.canary.rules import signal_delta
from analysis.canary.stats import Verdict
from analysis.canary.verdicts import RATE_METRICS, Settings, rate_verdict

EMPTY = side_totals({})
LOOKS, PER_LOOK, CANARIES, P = 40, 25, 300, 0.10


def _totals(evaluated: int, needs_review: int):
    return replace(EMPTY, evaluated=evaluated, needs_review=needs_review)


def _watch(rng: np.random.Generator, lift: float, *, sequential: bool) -> int | None:
    """The first look (1-based) whose interval excludes 0, or None: four cells growing each look."""
    cells = np.zeros((4, 2), dtype=int)  # canary before, canary after, control before, control after
    rates = (P, P + lift, P, P)
    sizes = (PER_LOOK, PER_LOOK, 4 * PER_LOOK, 4 * PER_LOOK)
    for look in range(1, LOOKS + 1):
        for i, (rate, size) in enumerate(zip(rates, sizes, strict=True)):
            cells[i] += (rng.binomial(size, rate), size)
        if look * PER_LOOK < 30:
            continue
        sides = [_totals(int(n), int(s)) for s, n in cells]
        test, _, _ = signal_delta("needs_review_rate", *sides, sequential=sequential)
        if test is not None and (test.ci[0] > 0 or test.ci[1] < 0):
            return look
    return None


def test_null_canaries_watched_forty_times_rarely_show_a_shift_with_the_sequential_interval():
    rng = np.random.default_rng(20261201)
    sequential = sum(_watch(rng, 0.0, sequential=True) is not None for _ in range(CANARIES)) / CANARIES
    fixed = sum(_watch(rng, 0.0, sequential=False) is not None for _ in range(CANARIES)) / CANARIES
    se = (0.05 * 0.95 / CANARIES) ** 0.5
    assert sequential <= 0.05 + 3 * se, sequential
    assert fixed > 0.15, fixed  # the fixed-horizon interval looked at 40 times: the inflation the issue saw


def test_a_clear_regression_is_caught_within_the_first_looks():
    rng = np.random.default_rng(7)
    looks = [_watch(rng, 0.15, sequential=True) for _ in range(50)]
    assert all(look is not None for look in looks)
    assert float(np.median(looks)) <= 10, looks


def test_sequential_metric_verdict_is_wider_than_the_fixed_one_and_still_fails_a_big_shift():
    metric = RATE_METRICS[0]
    before, after, ob, oa = _totals(400, 40), _totals(400, 120), _totals(4000, 400), _totals(4000, 400)
    fixed = rate_verdict(metric, before, after, ob, oa, Settings())
    live = rate_verdict(metric, before, after, ob, oa, Settings(sequential=True))
    assert fixed.delta == pytest.approx(0.2) and live.delta == pytest.approx(0.2)
    assert live.ci[1] - live.ci[0] > fixed.ci[1] - fixed.ci[0]
    assert live.verdict is Verdict.HIGH and live.p_value is None and "always-valid" in live.reason
