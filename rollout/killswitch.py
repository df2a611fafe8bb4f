"""The upstream app's global env kill switches, as this dashboard can see them.

The switches are env vars of the upstream deployment, not database rows (DATA_CONTRACT.md section 2
and "Signals that are not in the database"). canarywatch reads them from its own environment, or
from a dotenv-style export of upstream's env at CANARYWATCH_UPSTREAM_ENV_FILE, and always says
where each value came from, because a value read here may differ from upstream's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_FILE_VAR = "CANARYWATCH_UPSTREAM_ENV_FILE"


def _only_one(value: str) -> bool:
    return value.strip() == "1"


def _one_true_yes(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes")


#: name -> upstream's own truthiness rule for it
SWITCHES: dict[str, Callable[[str], bool]] = {
    "AUTO_SEND_DISABLED": _only_one,
    "AUTO_SEND_REVISION_DISABLED": _only_one,
    "LEAD_CONTEXT_BUNDLE_DISABLED": _one_true_yes,
}


@dataclass(frozen=True)
class KillSwitch:
    name: str
    raw: str | None  # the value as read, None when unset
    engaged: bool
    source: str  # where it was read, for the page


class EnvFileError(ValueError):
    """The upstream env file named by CANARYWATCH_UPSTREAM_ENV_FILE cannot be read."""


def parse_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines (optional `export`, quotes, comments), the common dotenv subset."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def read_kill_switches(env: Mapping[str, str] | None = None) -> dict[str, KillSwitch]:
    """Every kill switch with its value, whether it is engaged, and where it was read."""
    env = os.environ if env is None else env
    file_name = env.get(ENV_FILE_VAR)
    if file_name:
        path = Path(file_name)
        try:
            values = parse_env_file(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise EnvFileError(f"{ENV_FILE_VAR} points at {path}, which cannot be read ({exc.strerror})") from None
        source = f"upstream env file {path.name}"
    else:
        values = dict(env)
        source = "the dashboard's own environment"
    out = {}
    for name, rule in SWITCHES.items():
        raw = values.get(name)
        out[name] = KillSwitch(name, raw, raw is not None and rule(raw), source)
    return out
