"""Comparing summary-backed answers with raw answers (tests/test_summaries*.py)."""

from __future__ import annotations

import pandas as pd

from queries.filters import Window
from queries.summary import summarised_specs


def assert_same_as_raw(conn, windows: list[Window]) -> int:
    """Every summarised query and stored variant: the summary-backed frame equals the raw frame (rows in
    any order; counts exactly, float sums to 1e-9). Returns how many frames were compared."""
    compared = 0
    for f in windows:
        for spec in summarised_specs():
            for options in [{}, *spec.summary.variants]:
                backed, raw = spec.func(conn, f, **options), spec.raw(conn, f, **options)
                keys = spec.summary.keys
                backed, raw = (x.sort_values(keys).reset_index(drop=True) for x in (backed, raw))
                pd.testing.assert_frame_equal(backed, raw, check_dtype=False, check_exact=False, rtol=1e-9,
                                              obj=f"{spec.name} {options} {f.label()}")
                compared += 1
    return compared
