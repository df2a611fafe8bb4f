"""Guards (Holm, volume) and the Kayenta-style score, on hand-worked examples."""

import pytest

from analysis.guards import holm, volume_check
from analysis.verdicts import MetricVerdict, Overall, Verdict, apply_holm, score

# -- Holm -------------------------------------------------------------------------------------------


def test_holm_on_four_p_values_by_hand():
    # sorted: d .005 <= .05/4 = .0125 reject; a .010 <= .05/3 = .0167 reject;
    # c .030 > .05/2 = .025 stop: c and b (.040) stand
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005}, 0.05) == {"a": True, "b": False, "c": False,
                                                                          "d": True}


def test_holm_does_not_count_untested_metrics():
    # with None left out m = 2: .02 <= .05/2 reject, .04 <= .05/1 reject
    assert holm({"a": 0.02, "b": None, "c": 0.04}, 0.05) == {"a": True, "b": False, "c": True}


def test_holm_with_one_p_value_is_the_plain_test():
    assert holm({"a": 0.05}, 0.05) == {"a": True}
    assert holm({"a": 0.0500001}, 0.05) == {"a": False}
    assert holm({}, 0.05) == {}


# -- volume -----------------------------------------------------------------------------------------


def test_a_canary_whose_traffic_fell_is_low():
    # canary 400 -> 200 (x0.5); others 4000 -> 4000 (x1.0): relative x0.5 < 0.7
    result = volume_check(400, 200, 4000, 4000, max_drop=0.3)
    assert result.verdict is Verdict.LOW
    assert (result.canary_change, result.others_change, result.relative) == (0.5, 1.0, 0.5)
    assert "fell more than" in result.reason
    metric = result.as_metric()
    assert (metric.verdict, metric.delta, metric.n_baseline, metric.n_canary) == (Verdict.LOW, -0.5, 400, 200)


def test_a_platform_wide_traffic_fall_is_not_the_canarys():
    # canary x0.5, others x0.5: relative x1.0
    assert volume_check(400, 200, 4000, 2000).verdict is Verdict.PASS


def test_a_fall_exactly_at_the_limit_passes():
    # x0.7 is not below 1 - 0.3
    assert volume_check(1000, 700, None, None, max_drop=0.3).verdict is Verdict.PASS
    assert volume_check(1000, 699, None, None, max_drop=0.3).verdict is Verdict.LOW


@pytest.mark.parametrize("counts", [(0, 50, 100, 100), (50, 50, 0, 100), (50, 50, 100, 0)])
def test_zero_baselines_are_insufficient_data(counts):
    result = volume_check(*counts)
    assert result.verdict is Verdict.INSUFFICIENT_DATA
    assert result.relative is None


# -- score ------------------------------------------------------------------------------------------


def metric(name: str, verdict: Verdict = Verdict.PASS, *, p: float | None = None, critical: bool = False,
           harmful: str = "either") -> MetricVerdict:
    return MetricVerdict(name, verdict, None, None, None, None, p, 0.0, critical, f"{name} {verdict}", 100, 100,
                         harmful)


def run(passing: int, failing: int) -> list[MetricVerdict]:
    return [metric(f"ok{i}") for i in range(passing)] + [metric(f"bad{i}", Verdict.HIGH) for i in range(failing)]


@pytest.mark.parametrize(("passing", "failing", "overall"), [(20, 0, Overall.PASS), (19, 1, Overall.PASS),
                                                             (18, 2, Overall.MARGINAL), (15, 5, Overall.MARGINAL),
                                                             (14, 6, Overall.FAIL)])
def test_score_is_the_share_passing_with_kayentas_thresholds(passing, failing, overall):
    result = score(run(passing, failing))
    assert result.score == 100 * passing / (passing + failing)
    assert result.overall is overall
    assert (result.passing, result.with_data) == (passing, passing + failing)


def test_a_failing_critical_metric_fails_the_run_whatever_the_score():
    metrics = run(30, 0) + [metric("revision_at_most_once", Verdict.HIGH, critical=True)]
    result = score(metrics)
    assert result.score == pytest.approx(100 * 30 / 31)
    assert result.overall is Overall.FAIL
    assert "revision_at_most_once" in result.reason


def test_metrics_without_data_are_left_out_of_the_score():
    metrics = run(3, 0) + [metric("thin", Verdict.INSUFFICIENT_DATA)]
    result = score(metrics)
    assert (result.score, result.overall, result.with_data) == (100.0, Overall.PASS, 3)
    assert "1 without enough data" in result.reason


def test_no_metric_with_data_is_insufficient_data_never_pass():
    result = score([metric("a", Verdict.INSUFFICIENT_DATA), metric("b", Verdict.INSUFFICIENT_DATA)])
    assert (result.score, result.overall) == (None, Overall.INSUFFICIENT_DATA)
    assert score([]).overall is Overall.INSUFFICIENT_DATA


def test_a_critical_metric_without_data_makes_the_run_insufficient():
    result = score(run(10, 0) + [metric("needs_review_rate", Verdict.INSUFFICIENT_DATA, critical=True)])
    assert result.overall is Overall.INSUFFICIENT_DATA
    assert "needs_review_rate" in result.reason


def test_a_deviation_in_the_harmless_direction_passes():
    metrics = [metric("needs_review_rate", Verdict.LOW, harmful="increase", critical=True),
               metric("revision_applied_rate", Verdict.HIGH, harmful="decrease")]
    result = score(metrics)
    assert (result.score, result.overall) == (100.0, Overall.PASS)
    assert not score([metric("needs_review_rate", Verdict.HIGH, harmful="increase")]).metrics[0].passed


def test_a_high_only_stands_if_it_survives_holm_across_the_run():
    # the Holm example above: a and d survive, b and c do not; the volume guard has no p-value and stays
    metrics = [metric(k, Verdict.HIGH, p=p) for k, p in (("a", 0.01), ("b", 0.04), ("c", 0.03), ("d", 0.005))]
    metrics.append(metric("volume", Verdict.LOW))
    judged = {m.metric: m for m in apply_holm(metrics, 0.05)}
    assert {k: m.verdict for k, m in judged.items()} == {"a": Verdict.HIGH, "b": Verdict.PASS, "c": Verdict.PASS,
                                                         "d": Verdict.HIGH, "volume": Verdict.LOW}
    assert "not significant after Holm correction across 4 tests" in judged["b"].reason
    result = score(metrics, alpha=0.05)
    assert (result.passing, result.with_data, result.overall) == (2, 5, Overall.FAIL)
    assert score(metrics, holm_correct=False).passing == 0


def test_untested_metrics_do_not_weaken_holm():
    # a thin metric's p-value (none) is not one of the tests: .02 and .04 both survive with m = 2
    metrics = [metric("a", Verdict.HIGH, p=0.02), metric("b", Verdict.HIGH, p=0.04),
               metric("thin", Verdict.INSUFFICIENT_DATA)]
    assert [m.verdict for m in apply_holm(metrics)] == [Verdict.HIGH, Verdict.HIGH, Verdict.INSUFFICIENT_DATA]


def test_an_unknown_harmful_direction_is_refused():
    with pytest.raises(ValueError):
        metric("x", harmful="up")
