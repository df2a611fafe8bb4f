"""The upstream app's global env kill switches, as this dashboard can see them.

The switches are env vars of the upstream deployment, not database rows (DATA_CONTRACT.md section 2
and "Signals that are not in the database"). canarywatch reads them from its own environment, or
from a dotenv-style export of upstream's env at CANARYWATCH_UPSTREAM_ENV_FILE, and always says
where each value came from, because a value read here may differ from upstream's.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass

from dotenv import dotenv_values

from db.catalog import KILL_SWITCHES
from db.config import load_settings

ENV_FILE_VAR = "CANARYWATCH_UPSTREAM_ENV_FILE"


@dataclass(frozen=True)
class KillSwitch:
    name: str
    raw: str | None  # the value as read, None when unset
    engaged: bool
    source: str  # where it was read, for the page


class EnvFileError(ValueError):
    """The upstream env file named by CANARYWATCH_UPSTREAM_ENV_FILE cannot be read."""


def parse_env_file(text: str) -> dict[str, str]:
    """A dotenv export (python-dotenv: `export`, quotes, inline and whole-line comments, escapes);
    a key without a value reads as the empty string."""
    return {key: value or "" for key, value in dotenv_values(stream=io.StringIO(text)).items()}


def read_kill_switches(env: Mapping[str, str] | None = None) -> dict[str, KillSwitch]:
    """Every kill switch with its value, whether it is engaged, and where it was read."""
    env = os.environ if env is None else env
    path = load_settings(dict(env)).upstream_env_file
    if path is not None:
        try:
            values = parse_env_file(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise EnvFileError(f"{ENV_FILE_VAR} points at {path}, which cannot be read ({exc.strerror})") from None
        source = f"upstream env file {path.name}"
    else:
        values = dict(env)
        source = "the dashboard's own environment"
    out = {}
    for switch in KILL_SWITCHES:
        raw = values.get(switch.name)
        out[switch.name] = KillSwitch(switch.name, raw, raw is not None and switch.engaged_when(raw), source)
    return out
