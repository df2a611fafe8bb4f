"""False FAILs and looks to detection of analysis/sequential.py by simulation: `python -m bench.simulate_sequential`.

A simulated canary watch: at each of 40 looks (one per page refresh), every cell (canary/control x
before/after the split) gains a Poisson number of new units, as the product's windows do ([split,
now) after, the equal-length [split - (now - split), split) before). A look FAILs when the interval of
the delta excludes 0. Printed: the share of null canaries (no true difference; for the DiD the same
shift in canary and control) with a FAIL at any look, sequential vs a fixed-horizon 95% interval at
the same looks, for rates and means (also: the same data refreshed 5x as often, a 10x longer watch,
and fixed baselines, which the boundary was not built for); for rate regressions of a few sizes, the
share caught within the watch and the quartiles of the first FAILing look; and the effect of the
tuning (tightest_at). Deterministic for a given --seed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analysis.sequential import (
    DEFAULT_TIGHTEST_AT,
    Moments,
    SequentialInterval,
    did_mean_cs,
    did_rate_cs,
    mean_delta_cs,
    rate_delta_cs,
)

Z95 = 1.959963984540054
CELLS = ("cb", "ca", "ob", "oa")  # canary before/after, control before/after


@dataclass(frozen=True)
class Watch:
    sims: int = 500
    looks: int = 40
    canary_per_look: float = 8.0  # new units per look in each canary window: ~320 by look 40
    control_per_look: float = 60.0
    fixed_baseline_looks: int = 0  # > 0: both baselines are fixed, complete at look 1, this many looks' worth


def arrivals(rng: np.random.Generator, watch: Watch) -> dict[str, np.ndarray]:
    """New units per (sim, look) and cell."""
    out = {}
    for cell in CELLS:
        lam = watch.canary_per_look if cell[0] == "c" else watch.control_per_look
        new = rng.poisson(lam, size=(watch.sims, watch.looks))
        if watch.fixed_baseline_looks and cell[1] == "b":
            new[:, 1:] = 0
            new[:, 0] = rng.poisson(lam * watch.fixed_baseline_looks, size=watch.sims)
        out[cell] = new
    return out


def rate_paths(rng: np.random.Generator, watch: Watch, p: dict[str, float]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Cumulative (successes, trials) per (sim, look) and cell for Bernoulli(p[cell]) units."""
    out = {}
    for cell, new in arrivals(rng, watch).items():
        out[cell] = (np.cumsum(rng.binomial(new, p[cell]), axis=1), np.cumsum(new, axis=1))
    return out


def mean_paths(rng: np.random.Generator, watch: Watch, shift: dict[str, float]) -> dict[str, np.ndarray]:
    """Cumulative (n, sum, sum of squares) per (sim, look) and cell: skewed Beta(9, 1) values + shift[cell]."""
    out = {}
    for cell, new in arrivals(rng, watch).items():
        flat = new.ravel()
        segment = np.repeat(np.arange(flat.size), flat)
        values = rng.beta(9.0, 1.0, size=segment.size) + shift[cell]
        sums = np.bincount(segment, weights=values, minlength=flat.size).reshape(new.shape)
        squares = np.bincount(segment, weights=values * values, minlength=flat.size).reshape(new.shape)
        out[cell] = np.stack([np.cumsum(new, axis=1), np.cumsum(sums, axis=1), np.cumsum(squares, axis=1)])
    return out


def rate_intervals(paths, did: bool, tightest_at: float) -> list[list[SequentialInterval | None]]:
    def one(i: int, k: int) -> SequentialInterval | None:
        c = {cell: (int(s[i, k]), int(n[i, k])) for cell, (s, n) in paths.items()}
        if did:
            return did_rate_cs(*c["cb"], *c["ca"], *c["ob"], *c["oa"], tightest_at=tightest_at)
        return rate_delta_cs(*c["cb"], *c["ca"], tightest_at=tightest_at)
    return _grid(paths["ca"][1].shape, one)


def mean_intervals(paths, did: bool, tightest_at: float) -> list[list[SequentialInterval | None]]:
    def one(i: int, k: int) -> SequentialInterval | None:
        m = {cell: Moments(int(a[0, i, k]), float(a[1, i, k]), float(a[2, i, k])) for cell, a in paths.items()}
        if did:
            return did_mean_cs(m["cb"], m["ca"], m["ob"], m["oa"], tightest_at=tightest_at)
        return mean_delta_cs(m["cb"], m["ca"], tightest_at=tightest_at)
    return _grid(paths["ca"].shape[1:], one)


def _grid(shape: tuple[int, int], one: Callable[[int, int], SequentialInterval | None]):
    return [[one(i, k) for k in range(shape[1])] for i in range(shape[0])]


def fails(grid: list[list[SequentialInterval | None]], *, fixed_horizon: bool) -> np.ndarray:
    """(sims, looks) booleans: the look's interval excludes 0 (sequential or estimate +/- 1.96 se)."""
    def excl(ci: SequentialInterval | None) -> bool:
        if ci is None:
            return False
        if fixed_horizon:
            return abs(ci.estimate) > Z95 * ci.std_error
        return ci.excludes(0.0)
    return np.array([[excl(ci) for ci in row] for row in grid])


def first_fail(flags: np.ndarray) -> np.ndarray:
    """1-based look of the first FAIL per simulation; looks + 1 when never."""
    hit = flags.any(axis=1)
    return np.where(hit, flags.argmax(axis=1) + 1, flags.shape[1] + 1)


def false_fail_table(seed: int, watch: Watch, tightest_at: float) -> list[str]:
    rng = np.random.default_rng(seed)
    se = np.sqrt(0.05 * 0.95 / watch.sims)
    lines = [f"null canaries: {watch.sims} x {watch.looks} looks, canary {watch.canary_per_look:g}/look/cell, "
             f"control {watch.control_per_look:g}/look/cell{_baseline(watch)}; "
             f"alpha 0.05, simulation SE {se:.4f} (limit alpha + 3 SE = {0.05 + 3 * se:.3f})",
             f"  {'comparison':34} {'sequential':>10} {'fixed-horizon':>14}"]
    cases = [
        ("rate delta (p 0.20 both sides)", lambda: rate_intervals(
            rate_paths(rng, watch, dict.fromkeys(CELLS, 0.2)), False, tightest_at)),
        ("rate DiD (0.20 -> 0.26 everywhere)", lambda: rate_intervals(
            rate_paths(rng, watch, {"cb": 0.2, "ca": 0.26, "ob": 0.2, "oa": 0.26}), True, tightest_at)),
        ("mean delta (Beta(9,1) both sides)", lambda: mean_intervals(
            mean_paths(rng, watch, dict.fromkeys(CELLS, 0.0)), False, tightest_at)),
        ("mean DiD (+0.02 everywhere)", lambda: mean_intervals(
            mean_paths(rng, watch, {"cb": 0.0, "ca": 0.02, "ob": 0.0, "oa": 0.02}), True, tightest_at)),
    ]
    for name, make in cases:
        grid = make()
        seq = fails(grid, fixed_horizon=False).any(axis=1).mean()
        fixed = fails(grid, fixed_horizon=True).any(axis=1).mean()
        lines.append(f"  {name:34} {seq:10.3f} {fixed:14.3f}")
    return lines


def detection_table(seed: int, watch: Watch, tightest_at: float, effects: tuple[float, ...]) -> list[str]:
    rng = np.random.default_rng(seed)
    units = watch.canary_per_look * watch.looks
    lines = [f"regressions on a 20% rate, canary only (DiD against a steady control): {watch.sims} canaries x "
             f"{watch.looks} looks, canary {watch.canary_per_look:g}/look/cell (~{units:.0f} after-split units by "
             f"the last look){_baseline(watch)}",
             f"  {'effect':>7} {'method':>13} {'caught':>7} {'look q25':>8} {'median':>7} {'q75':>5}"]
    for effect in effects:
        paths = rate_paths(rng, watch, {"cb": 0.2, "ca": 0.2 + effect, "ob": 0.2, "oa": 0.2})
        grid = rate_intervals(paths, True, tightest_at)
        for label, fixed in (("sequential", False), ("fixed-horizon", True)):
            first = first_fail(fails(grid, fixed_horizon=fixed))
            q25, q50, q75 = (_look(np.quantile(first, q, method="lower"), watch.looks) for q in (0.25, 0.5, 0.75))
            caught = (first <= watch.looks).mean()
            lines.append(f"  {effect:+7.2f} {label:>13} {caught:7.1%} {q25:>8} {q50:>7} {q75:>5}")
    return lines


def tuning_table(seed: int, watch: Watch, choices: tuple[float, ...], effect: float) -> list[str]:
    """The same null and regression watches judged with several tightest_at values."""
    rng = np.random.default_rng(seed)
    null = rate_paths(rng, watch, {"cb": 0.2, "ca": 0.26, "ob": 0.2, "oa": 0.26})
    bad = rate_paths(rng, watch, {"cb": 0.2, "ca": 0.2 + effect, "ob": 0.2, "oa": 0.2})
    lines = [f"tuning (rate DiD, canary {watch.canary_per_look:g}/look/cell): false-FAIL rate of null canaries and "
             f"first FAILing look of a {effect:+.2f} regression",
             f"  {'tightest_at':>11} {'false FAIL':>10} {'caught':>7} {'look q25':>8} {'median':>7} {'q75':>5}"]
    for tightest_at in choices:
        false_fail = fails(rate_intervals(null, True, tightest_at), fixed_horizon=False).any(axis=1).mean()
        first = first_fail(fails(rate_intervals(bad, True, tightest_at), fixed_horizon=False))
        q25, q50, q75 = (_look(np.quantile(first, q, method="lower"), watch.looks) for q in (0.25, 0.5, 0.75))
        lines.append(f"  {tightest_at:11g} {false_fail:10.3f} {(first <= watch.looks).mean():7.1%} "
                     f"{q25:>8} {q50:>7} {q75:>5}")
    return lines


def _baseline(watch: Watch) -> str:
    if not watch.fixed_baseline_looks:
        return ", baselines growing with the watch"
    return f", baselines fixed at {watch.fixed_baseline_looks} looks' worth"


def _look(value: float, looks: int) -> str:
    return "never" if value > looks else str(int(value))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--sims", type=int, default=500)
    parser.add_argument("--looks", type=int, default=40)
    parser.add_argument("--tightest-at", type=float, default=DEFAULT_TIGHTEST_AT)
    args = parser.parse_args(argv)
    print(f"analysis/sequential.py, tightest_at={args.tightest_at:g}, seed {args.seed}\n")
    base = Watch(sims=args.sims, looks=args.looks)
    for lines in (
        false_fail_table(args.seed, base, args.tightest_at),
        false_fail_table(args.seed + 1, Watch(args.sims, args.looks, 25.0, 150.0), args.tightest_at),
        false_fail_table(args.seed + 8, Watch(args.sims, 5 * args.looks, 1.6, 12.0), args.tightest_at),
        false_fail_table(args.seed + 9, Watch(args.sims, 10 * args.looks), args.tightest_at),
        false_fail_table(args.seed + 2, Watch(args.sims, args.looks, fixed_baseline_looks=40), args.tightest_at),
        false_fail_table(args.seed + 3, Watch(args.sims, args.looks, fixed_baseline_looks=400), args.tightest_at),
        detection_table(args.seed + 4, base, args.tightest_at, (0.08, 0.12, 0.16, 0.20, 0.24)),
        detection_table(args.seed + 5, Watch(args.sims, args.looks, fixed_baseline_looks=400), args.tightest_at,
                        (0.08, 0.12, 0.16)),
        detection_table(args.seed + 6, Watch(args.sims, args.looks, 25.0, 150.0), args.tightest_at, (0.04, 0.08, 0.12)),
        tuning_table(args.seed + 7, base, (30, 100, 300, 1000, 3000), 0.16),
    ):
        print("\n".join(lines), end="\n\n")


if __name__ == "__main__":
    main()
