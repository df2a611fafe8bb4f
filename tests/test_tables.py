"""ui.tables sizes every column to its longest cell over all rows (the grid samples only a few)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import tables


def test_a_column_is_as_wide_as_its_longest_cell_not_its_first():
    frame = pd.DataFrame({"metric": ["needs_review_rate", "auto_send_confidence"],
                          "95% interval": ["—", "[-0.0953, -0.0201]"], "p": [None, 2.18e-06], "n": [115, 7]})
    config = tables.widths(frame)
    # 18 characters at 6.8 px plus 18 px of padding
    assert config["95% interval"]["width"] == int(18 * 6.8 + 18) == 140
    assert config["metric"]["width"] == int(20 * 6.8 + 18) == 154
    # a number: its repr ("2.18e-06", 8) or its header, never under the minimum
    assert config["p"]["width"] == int(8 * 6.8 + 18) == 72
    assert config["n"]["width"] == tables.MIN_WIDTH


def test_given_settings_are_kept_and_long_text_is_capped():
    frame = pd.DataFrame({"workspace_name": ["Acme"], "why": ["x" * 500], "hidden": [1],
                          "share": [0.5]})
    config = tables.widths(frame, {"workspace_name": "workspace", "hidden": None,
                                   "share": st.column_config.NumberColumn(format="percent", width=90)})
    # sized by the label shown ("workspace", 9), not the column name ("workspace_name", 14)
    assert int(9 * 6.8 + 18) == 79
    assert config["workspace_name"] == {"label": "workspace", "width": 79}
    assert config["why"]["width"] == tables.MAX_WIDTH
    assert config["hidden"] is None
    assert config["share"]["width"] == 90 and config["share"]["type_config"]["format"] == "percent"
