"""Headline metric tiles: the value in this window and its change against the previous equal window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class Tile:
    label: str
    value: float | None  # None: no data (shown as "no data", never as 0)
    previous: float | None = None
    kind: str = "count"  # count | rate | number | ms
    help: str | None = None
    higher_is_better: bool | None = None  # None: the change is neither good nor bad


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "no data"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "count":
        return f"{int(round(value)):,}"
    if kind == "ms":
        return f"{value:,.0f} ms"
    return f"{value:,.3f}"


def _delta(tile: Tile) -> str | None:
    if tile.value is None or tile.previous is None:
        return None
    change = tile.value - tile.previous
    if tile.kind == "rate":
        return f"{change * 100:+.1f} pp vs previous window"
    if tile.kind == "count":
        return f"{int(round(change)):+,} vs previous window"
    return f"{change:+,.3f} vs previous window"


def headline(tiles: Sequence[Tile]) -> None:
    columns = st.columns(len(tiles))
    for column, tile in zip(columns, tiles, strict=True):
        colour = "off" if tile.higher_is_better is None else ("normal" if tile.higher_is_better else "inverse")
        column.metric(tile.label, _fmt(tile.value, tile.kind), _delta(tile), delta_color=colour, help=tile.help,
                      border=True)


def ratio(numerator: float, denominator: float) -> float | None:
    """A rate for display; None when there is no denominator (missing is not zero)."""
    return None if not denominator else numerator / denominator
