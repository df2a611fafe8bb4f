"""Where canarywatch's databases are, read once from the environment.

`DATABASE_URL` unset means the embedded demo: a SQLite file under `.canarywatch/` that the app
creates and seeds itself. A configured URL is never seeded or altered (only canarywatch's own
`canarywatch` schema is written, and only through rollout/).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEMO_PATH = PROJECT_ROOT / ".canarywatch" / "demo.sqlite"
DEFAULT_STATEMENT_TIMEOUT_MS = 15_000


class ConfigError(ValueError):
    """The deployment is configured in a way canarywatch refuses to run with."""


@dataclass(frozen=True)
class DatabaseConfig:
    read_url: str
    write_url: str
    demo: bool
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS

    @property
    def dialect(self) -> str:
        return self.read_url.split(":", 1)[0].split("+", 1)[0]


def demo_url(path: Path) -> str:
    return f"sqlite:///{path}"


def load_config(env: dict[str, str] | None = None) -> DatabaseConfig:
    env = dict(os.environ) if env is None else env
    timeout = _timeout_ms(env.get("CANARYWATCH_STATEMENT_TIMEOUT_MS"))
    url = (env.get("DATABASE_URL") or "").strip()
    if not url:
        path = Path(env.get("CANARYWATCH_DEMO_PATH") or DEFAULT_DEMO_PATH)
        return DatabaseConfig(demo_url(path), demo_url(path), demo=True, statement_timeout_ms=timeout)
    if url.startswith("postgres://") or url.startswith("postgresql://"):
        raise ConfigError("DATABASE_URL must name the driver explicitly: postgresql+psycopg://…")
    write = (env.get("CANARYWATCH_WRITE_URL") or url).strip()
    return DatabaseConfig(url, write, demo=False, statement_timeout_ms=timeout)


def _timeout_ms(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_STATEMENT_TIMEOUT_MS
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"CANARYWATCH_STATEMENT_TIMEOUT_MS must be an integer, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError("CANARYWATCH_STATEMENT_TIMEOUT_MS must be positive")
    return value
