"""Meeting overseer: how often the gate asks for a revision, how sure it is, and what the booking gate decides."""

from __future__ import annotations

import ui.pages_mode  # noqa: F401  first: a deep link on a fresh process runs this file directly

# isort: split
import streamlit as st

from analysis.decisions import decision_rate, share_of
from analysis.derive import total
from queries import overseer
from ui import charts, filters, layout, tables, tiles
from ui.data import cached
from ui.markers import rollout_markers

layout.page_setup("Meeting overseer", "MeetingOverseerDecision rows: the gate's approve vs revise decisions "
                  "(payload.decision, lower-cased), its confidence per decision, volume by stage, and the follow-up "
                  "booking gate's approve / needs_clarification / deny. No channel column: the channel filter "
                  "does not apply.")
f = filters.sidebar(channel=False)
marks = rollout_markers(f)

with layout.section("Headline"):
    gate, gate_prev = cached(overseer.gate_decision_series, f), cached(overseer.gate_decision_series, f.previous())
    book, book_prev = cached(overseer.booking_gate_series, f), cached(overseer.booking_gate_series, f.previous())
    tiles.headline([
        tiles.Tile("Gate decisions", total(gate, "decisions"), total(gate_prev, "decisions")),
        tiles.Tile("Gate revise rate", share_of(gate, "revise"), share_of(gate_prev, "revise"), kind="rate",
                   higher_is_better=False, help="revise / all gate decisions (other codes count in the total)"),
        tiles.Tile("Booking-gate decisions", total(book, "decisions"), total(book_prev, "decisions")),
        tiles.Tile("Booking-gate deny rate", share_of(book, "deny"), share_of(book_prev, "deny"), kind="rate",
                   higher_is_better=False),
    ])

with layout.section("Gate decisions"):
    gate = cached(overseer.gate_decision_series, f)
    if gate.empty:
        layout.empty_state("gate decisions")
    else:
        over_time = decision_rate(gate, "revise", by=["bucket"], name="revise_rate")
        charts.show(charts.time_series(over_time, y="revise_rate", events=marks, percent=True, volume="decisions",
                                       title="Gate revise rate over time (chosen workspaces together)",
                                       y_title="revise / all gate decisions"), over_time, key="overseer-revise-rate")
        st.caption(overseer.gate_decision_series.describes)
        by_ws = filters.workspace_label(decision_rate(gate, "revise", by=["workspace"], name="revise_rate"))
        ws_shown = charts.top_workspaces(by_ws, keys=[], measures=["revise", "decisions"], by="workspace_name",
                                         rank_by="decisions", chosen=bool(f.workspaces))
        ws_shown["revise_rate"] = ws_shown["revise"] / ws_shown["decisions"].where(ws_shown["decisions"] > 0)
        charts.show(charts.bars(ws_shown, x="workspace_name", y="revise_rate", percent=True,
                                title="Gate revise rate by workspace", y_title="revise / all gate decisions"),
                    ws_shown, key="overseer-revise-by-workspace")
        st.caption("The same decisions summed per workspace over the whole window.")
        tables.show(by_ws[["workspace_name", "revise", "decisions", "revise_rate"]],
                    column_config={"workspace_name": "workspace",
                                   "revise_rate": st.column_config.NumberColumn(format="percent")})

with layout.section("Gate confidence"):
    hist = cached(overseer.gate_confidence_histogram, f)
    if hist.empty:
        layout.empty_state("gate decisions with a confidence")
    else:
        shown = hist.groupby(["lower", "decision"], as_index=False)["decisions"].sum()
        charts.show(charts.histogram(shown, x="lower", y="decisions", width=0.1, color="decision",
                                     y_title="gate decisions", title="Gate confidence per decision"),
                    shown, key="overseer-gate-confidence")
        st.caption(overseer.gate_confidence_histogram.describes + " Buckets of 0.1; 1.0 has a bucket of its own.")

with layout.section("Volume and booking gate"):
    left, right = st.columns(2)
    volume = cached(overseer.stage_volume, f)
    if volume.empty:
        left.info("No overseer rows in this window.", icon=":material/inbox:")
    else:
        stages = volume.groupby("stage", as_index=False)["decisions"].sum()
        charts.show(charts.bars(stages, x="stage", y="decisions", title="Overseer decisions by stage"), stages,
                    key="overseer-stages", where=left)
        left.caption(overseer.stage_volume.describes)
    book = cached(overseer.booking_gate_series, f)
    if book.empty:
        right.info("No booking-gate decisions in this window.", icon=":material/inbox:")
    else:
        book_shown = book.groupby(["bucket", "decision"], as_index=False)["decisions"].sum()
        charts.show(charts.stacked_bars(book_shown, x="bucket", y="decisions", color="decision", events=marks,
                                        title="Booking gate: approve / needs_clarification / deny"),
                    book_shown, key="overseer-booking-gate", where=right)
        right.caption(overseer.booking_gate_series.describes)
layout.freshness_bar()
