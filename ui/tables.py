"""Tables drawn so no cell is cut where a wider column would show it (issue 13: "2.61e-0").

Streamlit's grid sizes a column to the cells it samples, so a column whose first rows hold "—" and a
later row "[-0.0953, -0.0201]" is drawn too narrow for that row. `show` sizes every column to its longest
cell over all rows (and its header), up to MAX_WIDTH; only longer text is cut, with the grid scrolling
sideways when the columns are wider than the page. Cells stay text: never Markdown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analysis.effective import GATED_BY, IDENTITY_COLUMNS

CHAR_PX = 6.8  # the grid's font: about this many pixels per character (measured on a screenshot: 6.4-6.6)
PAD_PX = 18  # cell padding (8 px a side) and a little air
MIN_WIDTH, MAX_WIDTH = 60, 500  # 500: a rule title of 70 characters whole
NUMBER_CHARS = 12  # a formatted number is at most about this long, whatever its raw repr


def column_width(frame: pd.DataFrame, column: str, label: str | None = None) -> int:
    """Pixels for `column`: its longest cell or its header (`label` when renamed), within the bounds."""
    values = frame[column]
    if pd.api.types.is_bool_dtype(values):
        longest = 4
    elif pd.api.types.is_numeric_dtype(values):
        longest = min(NUMBER_CHARS, max((len(str(v)) for v in values.dropna()), default=1))
    else:
        longest = max((len(str(v)) for v in values if v is not None), default=1)
    longest = max(longest, len(label or str(column)))
    return int(min(MAX_WIDTH, max(MIN_WIDTH, longest * CHAR_PX + PAD_PX)))


def widths(frame: pd.DataFrame, column_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """`column_config` with a width for every shown column that has none (a plain label becomes a config)."""
    config: dict[str, Any] = dict(column_config or {})
    for column in frame.columns:
        given = config.get(column)
        if given is None and column in config:  # None hides the column
            continue
        entry: dict[str, Any] = {"label": given} if isinstance(given, str) else dict(given or {})
        if entry.get("width") is None:
            entry["width"] = column_width(frame, column, entry.get("label"))
        config[column] = entry
    return config


def show(frame: pd.DataFrame, *, column_config: dict[str, Any] | None = None, **options: Any) -> Any:
    """`st.dataframe` of `frame` over the page's width, index hidden, every column sized to its cells."""
    options.setdefault("hide_index", True)
    options.setdefault("width", "stretch")
    return st.dataframe(frame, column_config=widths(frame, column_config), **options)


def toggle_columns() -> dict[str, object]:
    """Column settings for analysis.effective.toggle_table's table: the columns naming the workspace stay in
    view when the toggles scroll sideways (a table wider than the page would otherwise lose its first or
    last columns), and each toggle's header explains what gates it."""
    config: dict[str, object] = {c: st.column_config.TextColumn(pinned=True) for c in IDENTITY_COLUMNS}
    config.update({t: st.column_config.TextColumn(help=h) for t, h in GATED_BY.items()})
    return config
