"""Telemetry hygiene: AIInteraction.metadata should hold statistics only. Key names and counts, never values."""

from __future__ import annotations

import ui.pages_mode  # noqa: F401  first: a deep link on a fresh process runs this file directly

# isort: split
import streamlit as st

from analysis.hygiene import feature_summary, flagged, key_status_rows, key_table
from queries import telemetry
from ui import charts, filters, layout, tables, tiles
from ui.data import cached

MAX_LEN = 24  # a string longer than this under a top-level key is flagged (the query counts, never returns it)

layout.page_setup("Telemetry hygiene", "Per featureId, the top-level AIInteraction.metadata keys seen and how "
                  "often; keys outside the documented set (DATA_CONTRACT.md section 6) and string values longer "
                  f"than {MAX_LEN} characters are flagged. Key names and counts only, never values.")
f = filters.sidebar(channel=False)

with layout.section("Metadata keys"):
    table = key_table(cached(telemetry.metadata_key_counts, f, max_len=MAX_LEN))
    before = key_table(cached(telemetry.metadata_key_counts, f.previous(), max_len=MAX_LEN))
    presence = cached(telemetry.metadata_presence, f)
    bad, bad_before = flagged(table), flagged(before)
    tiles.headline([
        tiles.Tile("FeatureIds with metadata", table["feature_id"].nunique() if not table.empty else 0,
                   before["feature_id"].nunique() if not before.empty else 0),
        tiles.Tile("Flagged feature/key pairs", len(bad), len(bad_before), higher_is_better=False),
        tiles.Tile("Undocumented key rows", int(table.loc[~table["documented"].astype(bool), "rows"].sum()),
                   int(before.loc[~before["documented"].astype(bool), "rows"].sum()), higher_is_better=False),
        tiles.Tile("Long string values", int(table["long_strings"].sum()), int(before["long_strings"].sum()),
                   higher_is_better=False, help=f"rows holding a string longer than {MAX_LEN} characters under a key"),
    ])
    if table.empty:
        layout.empty_state("model calls with metadata")
    else:
        if bad.empty:
            st.success("Every key seen is documented and no long string values were seen.")
        else:
            st.error(f"{len(bad)} feature/key pair(s) are undocumented or hold long strings (names and counts only).")
            tables.show(bad)
        key_rows = key_status_rows(table)
        charts.show(charts.bars(key_rows, x="rows", y="feature_id", color="status", barmode="stack",
                                title="Top-level key occurrences per featureId: documented, undocumented, "
                                "long strings", y_title="featureId"), key_rows, key="telemetry-keys")
        st.caption(telemetry.metadata_key_counts.describes)
        tables.show(table)

with layout.section("Calls without metadata"):
    presence = cached(telemetry.metadata_presence, f)
    if not presence.empty:
        tables.show(feature_summary(table, presence))
        st.caption(telemetry.metadata_presence.describes + " keys_seen and flagged_keys from the table above.")
layout.freshness_bar()
