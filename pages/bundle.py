"""Lead context bundle: truncation, what was included, tokens against budgets, and silent fallbacks."""

from __future__ import annotations

import ui.pages_mode  # noqa: F401  first: a deep link on a fresh process runs this file directly

# isort: split
import pandas as pd
import streamlit as st

from analysis.bundle_budgets import bundle_effective, coverage_starts, inclusion, silent_fallbacks, token_use
from analysis.derive import total, total_rate, with_rate
from queries import bundle, settings
from queries.filters import Window
from rollout.killswitch import EnvFileError, read_kill_switches
from ui import charts, filters, layout, tables, tiles
from ui.data import cached
from ui.markers import rollout_markers

layout.page_setup("Lead context bundle", "AIInteraction.metadata.leadContextBundle: truncation by profile, assets "
                  "and memory entries included, estimated tokens against the configured budgets, and the model calls "
                  "that should carry bundle stats but do not. No channel column: the channel filter does not apply.")
f = filters.sidebar(channel=False)
marks = rollout_markers(f)


try:
    engaged = {name: s.engaged for name, s in read_kill_switches().items()}
except EnvFileError as exc:
    st.warning(f"Kill switches unknown ({exc}); taken as not engaged.")
    engaged = {}


def fallback_coverage(window: Window) -> tuple[pd.DataFrame, list[str]]:
    """bundle_coverage of the workspaces where the bundle is in effect now, each counted from when its
    toggle last changed (the audit log), else from the window's start; left out if it changed after it."""
    effective = bundle_effective(cached(settings.workspace_settings, window), engaged)
    since = Window(window.start, max(window.end, filters.now_minute()), window.workspaces)
    starts = coverage_starts(effective, rollout_markers(since), window.start, window.end)
    frames = []
    for start in sorted(set(starts.values())):
        chosen = tuple(sorted(w for w, s in starts.items() if s == start))
        if start < window.end:
            frames.append(cached(bundle.bundle_coverage, Window(start, window.end, chosen)))
    frames = [frame for frame in frames if not frame.empty]
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["workspace", "feature_group",
                                                                                       "calls", "with_bundle"]),
            effective)


with layout.section("Headline"):
    now, prev = cached(bundle.bundle_series, f), cached(bundle.bundle_series, f.previous())
    cov, _ = fallback_coverage(f)
    cov_prev, _ = fallback_coverage(f.previous())
    missing = silent_fallbacks(cov, by=["feature_group"])
    missing_prev = silent_fallbacks(cov_prev, by=["feature_group"])
    tiles.headline([
        tiles.Tile("Calls with bundle stats", total(now, "calls"), total(prev, "calls")),
        tiles.Tile("Truncation rate", total_rate(now, "truncated", "calls"), total_rate(prev, "truncated", "calls"),
                   kind="rate", higher_is_better=False, help="calls with truncatedAssets > 0 or truncatedEntries > 0"),
        tiles.Tile("Silent fallbacks", total(missing, "missing") if not cov.empty else None,
                   total(missing_prev, "missing") if not cov_prev.empty else None, higher_is_better=False,
                   help="calls where the bundle is in effect that carry no bundle stats"),
        tiles.Tile("Fallback share", total_rate(missing, "missing", "calls"),
                   total_rate(missing_prev, "missing", "calls"), kind="rate", higher_is_better=False),
    ])

with layout.section("Truncation"):
    now = cached(bundle.bundle_series, f)
    if now.empty:
        layout.empty_state("bundle telemetry")
    else:
        rate = with_rate(now, "truncated", "calls", by=["bucket", "profile"], name="truncation_rate")
        charts.show(charts.time_series(rate, y="truncation_rate", color="profile", events=marks, percent=True,
                                       volume="calls", title="Truncation rate over time by profile",
                                       y_title="truncated / calls with bundle stats"), rate, key="bundle-truncation")
        st.caption(bundle.bundle_series.describes + " Truncated: truncatedAssets > 0 or truncatedEntries > 0.")
        included = inclusion(now)
        charts.show(charts.bars(included, x="profile", y="items", color="measure",
                                title="Included vs total assets and memory entries by profile",
                                y_title="items (summed over calls)"), included, key="bundle-inclusion")
        st.caption("knowledge.includedAssets vs totalAssets and memory.includedEntries vs totalEntries, summed over "
                   "the calls in the window; profiles without a knowledge section have no assets.")

with layout.section("Tokens against budgets"):
    now = cached(bundle.bundle_series, f)
    if not now.empty:
        use = filters.workspace_label(token_use(now, cached(settings.workspace_settings, f)))
        use["profile · section"] = use["profile"] + " · " + use["section"]
        budget_shown = charts.largest(use.dropna(subset=["share_of_budget"]), by="workspace_name", rank_by="calls",
                                      chosen=bool(f.workspaces))
        charts.show(charts.bars(budget_shown, x="profile · section", y="share_of_budget", color="workspace_name",
                                percent=True, y_title="mean tokens / configured maxTokens", hline=1,
                                hline_label="budget",
                                title="Mean estimated tokens per call against the configured budget"),
                    budget_shown, key="bundle-budgets")
        tables.show(use[["workspace_name", "profile", "section", "calls", "mean_tokens", "budget",
                         "mean_carried_budget", "share_of_budget", "budget_from"]],
                    column_config={"workspace_name": "workspace",
                                   "mean_tokens": st.column_config.NumberColumn(format="%.0f"),
                                   "mean_carried_budget": st.column_config.NumberColumn("carried budget",
                                                                                        format="%.0f"),
                                   "budget": st.column_config.NumberColumn("configured budget", format="%d"),
                                   "share_of_budget": st.column_config.NumberColumn(format="percent"),
                                   "budget_from": "budget from"})
        st.caption("Mean of totalTokensEstimated per call carrying the section, against maxTokens configured now "
                   "(the workspace's leadContextBundleBudgets JSON merged over the defaults of DATA_CONTRACT.md "
                   "section 2); 'carried budget' is the mean maxTokens recorded on the calls themselves.")

with layout.section("Bundle coverage"):
    cov, effective = fallback_coverage(f)
    if not effective:
        st.info("The bundle is in effect for none of the chosen workspaces (toggle off or "
                "LEAD_CONTEXT_BUNDLE_DISABLED engaged), so no call is expected to carry bundle stats.",
                icon=":material/inbox:")
    elif cov.empty:
        layout.empty_state("model calls that should carry bundle stats")
    else:
        table = filters.workspace_label(silent_fallbacks(cov, by=["workspace", "feature_group"]))
        missing_shown = charts.top_workspaces(table, keys=["feature_group"], measures=["calls", "missing"],
                                              by="workspace_name", rank_by="calls", chosen=bool(f.workspaces))
        missing_shown["missing_share"] = missing_shown["missing"] / missing_shown["calls"].where(
            missing_shown["calls"] > 0)
        charts.show(charts.bars(missing_shown, x="workspace_name", y="missing_share", color="feature_group",
                                percent=True, title="Share of calls missing bundle stats where the bundle is in effect",
                                y_title="calls without stats / calls"), missing_shown, key="bundle-coverage")
        tables.show(table[["workspace_name", "feature_group", "calls", "with_bundle", "missing", "missing_share"]],
                    column_config={"workspace_name": "workspace",
                                   "missing_share": st.column_config.NumberColumn(format="percent")})
        st.caption("**This is the only trace of upstream's silent fallback path**: when building the bundle fails, "
                   "upstream carries on without it and logs that nowhere else. Counted only for workspaces where "
                   "the bundle is in effect now (leadContextBundleEnabled AND NOT LEAD_CONTEXT_BUNDLE_DISABLED), "
                   "from their last toggle change in canarywatch's audit log when that falls in the window (a "
                   "window before it leaves them out); changes made outside canarywatch are not audited. "
                   + bundle.bundle_coverage.describes)
layout.freshness_bar()
