"""Enum labels upstream sends that canarywatch does not know yet (db/upstream.py `LabelEnum`).

Upstream adds enum labels over time. A row carrying one is counted under its own name, never
dropped or refused, and the page says once which labels it did not recognise, so a person knows a
category is new rather than mistaking it for noise.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def unknown_labels(values: Iterable[object], known: Iterable[str]) -> list[str]:
    """The distinct labels among `values` that are not in `known`, sorted (missing values ignored)."""
    known_set = set(known)
    seen = {str(v) for v in values if v is not None and not pd.isna(v)}
    return sorted(seen - known_set)


def fixed_categories(series: pd.Series, categories: Iterable[str], other: str = "other") -> pd.Series:
    """For a chart with a fixed set of categories: labels outside it become `other`."""
    allowed = set(categories)
    return series.where(series.isin(allowed) | series.isna(), other)
