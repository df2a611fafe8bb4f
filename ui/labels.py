"""Saying on a page that upstream sent enum labels canarywatch does not know yet."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import streamlit as st
from sqlalchemy import Column

from analysis.labels import unknown_labels
from ui.safe import plain


def note_unknown_labels(frame: pd.DataFrame | None, column: str, source: Column) -> list[str]:
    """One caption if `frame[column]` holds labels not declared for the upstream enum `source` (the
    rows are counted under their own names); returns those labels. Call it once per enum a page shows."""
    if frame is None or frame.empty or column not in frame.columns:
        return []
    known: Iterable[str] = getattr(source.type, "labels", ())
    new = unknown_labels(frame[column], known)
    if new:
        names = ", ".join(plain(label, 60) for label in new)
        st.caption(f"{plain(source.table.name)}\\.{plain(source.name)} holds label{'s' if len(new) > 1 else ''} "
                   f"canarywatch does not know yet: {names}. Those rows are counted under their own name.")
    return new
