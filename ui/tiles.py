"""Headline metric tiles: the value in this window and its change against the previous equal window.

The change is coloured only when it is significant (analysis.significance) and in the direction the
tile names as good or bad: no colour for +0, none for noise. Counts are tested on their own; a rate
is tested when the tile carries its trials (`n`, `n_previous`), else only a zero change is grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

from analysis.significance import Change, count_change, rate_change


@dataclass(frozen=True)
class Tile:
    label: str
    value: float | None  # None: no data (shown as "no data", never as 0)
    previous: float | None = None
    kind: str = "count"  # count | rate | number | ms
    help: str | None = None
    higher_is_better: bool | None = None  # None: the change is neither good nor bad
    n: int | None = None  # a rate's trials in the window (for its significance test)
    n_previous: int | None = None


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


def change_of(tile: Tile) -> Change | None:
    """The tested change of a tile, or None when it cannot be tested."""
    if tile.value is None or tile.previous is None:
        return None
    if tile.kind == "count" and float(tile.value).is_integer() and float(tile.previous).is_integer():
        return count_change(int(tile.value), int(tile.previous))
    if tile.kind == "rate" and tile.n and tile.n_previous:
        return rate_change(round(tile.value * tile.n), tile.n, round(tile.previous * tile.n_previous), tile.n_previous)
    return None


def delta_colour(tile: Tile) -> str:
    """Streamlit's delta_color: "off" (grey) unless the change is real and has a good or bad direction."""
    if tile.higher_is_better is None or tile.value is None or tile.previous is None:
        return "off"
    if round(tile.value - tile.previous, 12) == 0:
        return "off"
    tested = change_of(tile)
    if tested is not None and not tested.significant:
        return "off"
    return "normal" if tile.higher_is_better else "inverse"


def _help(tile: Tile) -> str | None:
    tested = change_of(tile)
    if tested is None or tested.p_value is None:
        return tile.help
    verdict = "significant" if tested.significant else "not significant (grey)"
    note = f"Change vs previous window: p = {tested.p_value:.2g}, {verdict} ({tested.test})."
    return f"{tile.help}\n\n{note}" if tile.help else note


def headline(tiles: Sequence[Tile]) -> None:
    columns = st.columns(len(tiles))
    for column, tile in zip(columns, tiles, strict=True):
        column.metric(tile.label, _fmt(tile.value, tile.kind), _delta(tile), delta_color=delta_colour(tile),
                      help=_help(tile), border=True)


def ratio(numerator: float, denominator: float) -> float | None:
    """A rate for display; None when there is no denominator (missing is not zero)."""
    return None if not denominator else numerator / denominator
