"""Telemetry hygiene verdicts over metadata key counts (queries/telemetry.py): names and counts only."""

from __future__ import annotations

import pandas as pd

KEY_COLUMNS = ["feature_id", "key", "documented", "rows", "long_strings", "flag"]


def _flag(documented: bool, long_strings: int) -> str:
    reasons = ([] if documented else ["undocumented key"]) + (["long string values"] if long_strings else [])
    return ", ".join(reasons)


def key_table(keys: pd.DataFrame) -> pd.DataFrame:
    """Per featureId and key (workspaces summed): rows holding it, rows with a long string under it, and
    why it is flagged ('' when it is not)."""
    if keys.empty:
        return pd.DataFrame(columns=KEY_COLUMNS)
    out = keys.groupby(["feature_id", "key", "documented"], as_index=False)[["rows", "long_strings"]].sum()
    out["flag"] = [_flag(bool(d), int(n)) for d, n in zip(out["documented"], out["long_strings"], strict=True)]
    return out[KEY_COLUMNS].sort_values(["feature_id", "key"]).reset_index(drop=True)


def flagged(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of `key_table` that are flagged."""
    return table[table["flag"] != ""].reset_index(drop=True)


def feature_summary(table: pd.DataFrame, presence: pd.DataFrame) -> pd.DataFrame:
    """Per featureId: model calls, calls without metadata, distinct keys seen and flagged keys."""
    calls = (presence.groupby("feature_id", as_index=False)[["rows", "without_metadata"]].sum()
             .rename(columns={"rows": "calls"}) if not presence.empty
             else pd.DataFrame(columns=["feature_id", "calls", "without_metadata"]))
    if table.empty:
        keys = pd.DataFrame(columns=["feature_id", "keys_seen", "flagged_keys"])
    else:
        keys = table.assign(_flagged=table["flag"] != "").groupby("feature_id", as_index=False).agg(
            keys_seen=("key", "nunique"), flagged_keys=("_flagged", "sum"))
    out = calls.merge(keys, on="feature_id", how="outer")
    for column in ("calls", "without_metadata", "keys_seen", "flagged_keys"):
        out[column] = pd.to_numeric(out[column], errors="coerce").fillna(0).astype("int64")
    return out.sort_values("feature_id").reset_index(drop=True)


def key_status_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Per featureId: key occurrences that are documented and clean, undocumented, and holding long strings
    (an undocumented key with long strings counts in both of the last two)."""
    columns = ["feature_id", "status", "rows"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    documented = table["documented"].astype(bool)
    parts = {
        "documented": table["rows"].where(documented, 0) - table["long_strings"].where(documented, 0),
        "undocumented key": table["rows"].where(~documented, 0),
        "long string value": table["long_strings"],
    }
    out = pd.concat([pd.DataFrame({"feature_id": table["feature_id"], "status": status, "rows": rows})
                     for status, rows in parts.items()], ignore_index=True)
    out = out.groupby(["feature_id", "status"], as_index=False, sort=True)["rows"].sum()
    out["rows"] = out["rows"].astype("int64")
    return out[out["rows"] > 0].reset_index(drop=True)
