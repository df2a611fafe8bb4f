"""Lead context bundle: tokens against the configured budgets, inclusion, and the silent-fallback share.

Pure functions over the aggregated frames of queries/bundle.py and queries/settings.py. The budgets a
workspace runs with are its leadContextBundleBudgets JSON merged over the contract's defaults
(analysis/budgets.py, DATA_CONTRACT.md section 2); where the bundle is effective is decided by
analysis/effective.py (toggle AND NOT LEAD_CONTEXT_BUNDLE_DISABLED).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from analysis.budgets import effective_budgets
from analysis.effective import effective_state

TOGGLE = "leadContextBundleEnabled"
SECTIONS = {"knowledge": ("knowledge_calls", "knowledge_tokens", "knowledge_max_tokens"),
            "memory": ("memory_calls", "memory_tokens", "memory_max_tokens")}
TOKEN_USE_COLUMNS = ["workspace", "profile", "section", "calls", "mean_tokens", "mean_carried_budget", "budget",
                     "budget_from", "share_of_budget"]


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den, NaN where den is 0 or missing (missing is not zero)."""
    den = pd.to_numeric(den, errors="coerce").astype("float64")
    return pd.to_numeric(num, errors="coerce").astype("float64") / den.where(den > 0)


def _utc(moment: datetime | pd.Timestamp) -> datetime:
    """Aware UTC; naive is taken to be UTC already (as upstream stores it)."""
    stamp = pd.Timestamp(moment)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def configured_budget(stored: Mapping[str, Any] | None, profile: str, section: str) -> int | None:
    """maxTokens upstream applies for this profile and section; None when the profile has no such section."""
    merged = effective_budgets(dict(stored) if isinstance(stored, Mapping) else None)
    return merged.get(profile, {}).get(section, {}).get("maxTokens")


def token_use(series: pd.DataFrame, settings: pd.DataFrame) -> pd.DataFrame:
    """Per workspace, profile and section: calls carrying the section, mean estimated tokens per call,
    the mean maxTokens the calls carried, the configured budget, and mean tokens / budget."""
    if series.empty:
        return pd.DataFrame(columns=TOKEN_USE_COLUMNS)
    stored = dict(zip(settings["workspace"], settings["budgets"], strict=True)) if not settings.empty else {}
    state = dict(zip(settings["workspace"], settings["budgets_state"], strict=True)) if not settings.empty else {}
    sums = series.groupby(["workspace", "profile"], as_index=False)[
        [c for cols in SECTIONS.values() for c in cols]].sum()
    parts = []
    for section, (calls, tokens, carried) in SECTIONS.items():
        part = sums[sums[calls] > 0][["workspace", "profile"]].copy()
        picked = sums[sums[calls] > 0]
        part["section"] = section
        part["calls"] = picked[calls].astype("int64")
        part["mean_tokens"] = _ratio(picked[tokens], picked[calls])
        part["mean_carried_budget"] = _ratio(picked[carried], picked[calls])
        part["budget"] = [configured_budget(stored.get(w), p, section) for w, p in zip(part["workspace"],
                                                                                      part["profile"], strict=True)]
        part["budget_from"] = ["workspace JSON" if state.get(w) == "set" else "defaults"
                               for w in part["workspace"]]
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["budget"] = pd.to_numeric(out["budget"], errors="coerce")
    out["share_of_budget"] = _ratio(out["mean_tokens"], out["budget"])
    return out[TOKEN_USE_COLUMNS].sort_values(["workspace", "profile", "section"]).reset_index(drop=True)


def inclusion(series: pd.DataFrame) -> pd.DataFrame:
    """Per profile: included and total assets and memory entries, long (profile, measure, items)."""
    columns = {"assets_included": "assets included", "assets_total": "assets total",
               "entries_included": "entries included", "entries_total": "entries total"}
    if series.empty:
        return pd.DataFrame(columns=["profile", "measure", "items"])
    sums = series.groupby("profile", as_index=False)[list(columns)].sum()
    long = sums.melt(id_vars="profile", var_name="measure", value_name="items")
    long["measure"] = long["measure"].map(columns)
    return long.sort_values(["profile", "measure"]).reset_index(drop=True)


def bundle_effective(settings: pd.DataFrame, engaged: Mapping[str, bool]) -> list[str]:
    """Workspaces where the bundle is in effect now: the toggle on and the kill switch not engaged."""
    out = []
    for row in settings.to_dict("records"):
        toggles = {k: bool(v) for k, v in row.items() if isinstance(v, bool)}
        if effective_state(toggles, engaged)[TOGGLE].effective:
            out.append(row["workspace"])
    return out


def coverage_starts(effective: Iterable[str], events: pd.DataFrame, start: datetime,
                    end: datetime) -> dict[str, datetime]:
    """Per effective workspace, from when in [start, end) its calls should carry bundle stats.

    The state as it is now began at the latest bundle-toggle change (the audit log, `events` from `start`
    up to now): the window's start when there was none since, that change when it falls inside the
    window, and the workspace is left out when the change came at or after the window's end (in the
    window it was not in this state).
    """
    starts = {w: _utc(start) for w in effective}
    if events.empty:
        return starts
    changes = events[(events["field"] == TOGGLE) & events["workspace"].isin(list(starts))]
    latest = changes.assign(at=[_utc(t) for t in changes["changed_at"]]).groupby("workspace")["at"].max()
    for workspace, changed_at in latest.items():
        if changed_at >= _utc(end):
            del starts[workspace]
        else:
            starts[workspace] = max(starts[workspace], changed_at)
    return starts


def silent_fallbacks(coverage: pd.DataFrame, *, by: list[str]) -> pd.DataFrame:
    """calls, with_bundle, missing (= calls - with_bundle) and missing_share per `by` group."""
    if coverage.empty:
        return pd.DataFrame(columns=[*by, "calls", "with_bundle", "missing", "missing_share"])
    out = coverage.groupby(by, as_index=False)[["calls", "with_bundle"]].sum()
    out["missing"] = out["calls"] - out["with_bundle"]
    out["missing_share"] = _ratio(out["missing"], out["calls"])
    return out
