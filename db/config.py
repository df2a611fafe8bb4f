"""All of canarywatch's configuration, read in one place and typed (pydantic-settings).

`DATABASE_URL` unset means the embedded demo: a SQLite file under `.canarywatch/` that the app
creates and seeds itself. A configured URL is never seeded or altered (only canarywatch's own
`canarywatch` schema is written, and only through rollout/). A blank (whitespace-only) or
malformed URL is a configuration error, never a silent fall-back to the demo.

Every bad value is reported by its variable name with one line saying what is wrong, all of them at
once (`ConfigError`); secrets are never echoed, other values at most 80 characters.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEMO_PATH = PROJECT_ROOT / ".canarywatch" / "demo.sqlite"
DEFAULT_STATEMENT_TIMEOUT_MS = 15_000
SUPPORTED_DRIVERS = ("postgresql+psycopg", "sqlite")
QUOTE_LIMIT = 80


class ConfigError(ValueError):
    """The deployment is configured in a way canarywatch refuses to run with."""


def _quoted(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "…")


def _check_url(name: str, raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    url = raw.strip()
    if not url:
        raise ValueError(f"{name} is blank (only whitespace): unset it for the embedded demo, or set a "
                         "postgresql+psycopg:// URL")
    if url.startswith(("postgres://", "postgresql://")):
        raise ValueError(f"{name} must name the driver explicitly: postgresql+psycopg://…")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"{name} is not a database URL") from None
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise ValueError(f"{name} uses {parsed.drivername!r}; canarywatch supports "
                         + " and ".join(f"{d}://" for d in SUPPORTED_DRIVERS))
    return url


def _on_off(raw: object) -> bool:
    text = str(raw).strip().lower()
    if text in ("on", "1", "true", "yes"):
        return True
    if text in ("off", "0", "false", "no"):
        return False
    raise ValueError("must be on or off")


class Settings(BaseSettings):
    """Every setting canarywatch reads, by its environment variable."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", populate_by_name=False)

    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    write_url: str | None = Field(None, validation_alias="CANARYWATCH_WRITE_URL")
    statement_timeout_ms: int = Field(DEFAULT_STATEMENT_TIMEOUT_MS, gt=0, le=3_600_000,
                                      validation_alias="CANARYWATCH_STATEMENT_TIMEOUT_MS")
    demo_path: Path = Field(DEFAULT_DEMO_PATH, validation_alias="CANARYWATCH_DEMO_PATH")
    summary_refresh: bool = Field(True, validation_alias="CANARYWATCH_SUMMARY_REFRESH")
    upstream_env_file: Path | None = Field(None, validation_alias="CANARYWATCH_UPSTREAM_ENV_FILE")
    credentials_file: Path | None = Field(None, validation_alias="CANARYWATCH_CREDENTIALS")
    cookie_key: SecretStr | None = Field(None, validation_alias="CANARYWATCH_COOKIE_KEY")
    cookie_name: str = Field("canarywatch_auth", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$",
                             validation_alias="CANARYWATCH_COOKIE_NAME")
    cookie_expiry_days: float | None = Field(None, gt=0, le=30, validation_alias="CANARYWATCH_COOKIE_EXPIRY_DAYS")
    login_sleep_seconds: float = Field(0.7, ge=0, le=10, validation_alias=AliasChoices("CANARYWATCH_LOGIN_SLEEP"))
    # `canarywatch watch` (services/watch.py, rollout/notify.py; README "Watching canaries")
    watch_interval_seconds: float = Field(60, ge=1, le=86_400, validation_alias="CANARYWATCH_WATCH_INTERVAL")
    watch_base_url: str | None = Field(None, pattern=r"^https?://[^\s]+$", max_length=500,
                                       validation_alias="CANARYWATCH_BASE_URL")
    slack_webhook_urls: SecretStr | None = Field(None, validation_alias="CANARYWATCH_SLACK_WEBHOOK_URLS")
    webhook_urls: SecretStr | None = Field(None, validation_alias="CANARYWATCH_WEBHOOK_URLS")
    notify_attempts: int = Field(4, ge=1, le=20, validation_alias="CANARYWATCH_NOTIFY_ATTEMPTS")
    notify_backoff_seconds: float = Field(1.0, ge=0, le=60, validation_alias="CANARYWATCH_NOTIFY_BACKOFF")
    notify_timeout_seconds: float = Field(5.0, gt=0, le=60, validation_alias="CANARYWATCH_NOTIFY_TIMEOUT")
    db_retry_max_seconds: float = Field(60, ge=1, le=3600, validation_alias="CANARYWATCH_DB_RETRY_MAX")

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, raw: Any) -> str | None:
        return _check_url("DATABASE_URL", raw)

    @field_validator("write_url", mode="before")
    @classmethod
    def _write_url(cls, raw: Any) -> str | None:
        return _check_url("CANARYWATCH_WRITE_URL", raw)

    @field_validator("summary_refresh", mode="before")
    @classmethod
    def _refresh(cls, raw: Any) -> bool:
        return True if raw in (None, "") else _on_off(raw)

    @field_validator("slack_webhook_urls", "webhook_urls", mode="before")
    @classmethod
    def _webhooks(cls, raw: Any, info: Any) -> Any:
        """Comma-separated http(s) URLs; blank is none. The message never quotes a URL (it is a secret)."""
        text = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
        if text is None or not str(text).strip():
            return None
        for url in str(text).split(","):
            if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url.strip()):
                raise ValueError("must be comma-separated http:// or https:// URLs")
        return SecretStr(str(text).strip())

    @field_validator("statement_timeout_ms", "cookie_expiry_days", "login_sleep_seconds", "upstream_env_file",
                     "credentials_file", "watch_interval_seconds", "watch_base_url",
                     "notify_attempts", "notify_backoff_seconds", "notify_timeout_seconds", "db_retry_max_seconds",
                     mode="before")
    @classmethod
    def _blank_is_unset(cls, raw: Any, info: Any) -> Any:
        if isinstance(raw, str) and not raw.strip():
            return cls.model_fields[info.field_name].default
        return raw.strip() if isinstance(raw, str) else raw

    @field_validator("cookie_key", mode="before")
    @classmethod
    def _key_as_given(cls, raw: Any) -> Any:
        """Kept exactly as given (auth/credentials.py judges its strength, a blank key included)."""
        return None if raw == "" else raw

    @property
    def demo(self) -> bool:
        return self.database_url is None


_SECRET_FIELDS = {"cookie_key", "database_url", "write_url",  # URLs may carry a password
                  "slack_webhook_urls", "webhook_urls"}  # a webhook URL is its own credential


def _field_of(loc: object) -> tuple[str, str]:
    """(field name, environment variable) of an error location (pydantic reports the alias)."""
    for field, info in Settings.model_fields.items():
        aliases = _aliases(info.validation_alias)
        if loc == field or loc in aliases:
            return field, aliases[0] if aliases else field
    return str(loc), str(loc)


def _message(error: Mapping[str, Any]) -> str:
    field, name = _field_of(error["loc"][0] if error["loc"] else "?")
    text = str(error["msg"]).removeprefix("Value error, ")
    line = text if text.startswith(name) else f"{name}: {text}"
    if field in _SECRET_FIELDS or "input" not in error:
        return line
    return f"{line} (got {_quoted(error['input'])})"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings from the process environment, or from `env` alone when given (tests, the CLI)."""
    try:
        if env is None:
            return Settings()
        names = {a for f in Settings.model_fields.values() for a in _aliases(f.validation_alias)}
        return Settings.model_validate({k: v for k, v in env.items() if k in names})
    except ValidationError as exc:
        raise ConfigError("; ".join(_message(e) for e in exc.errors())) from None


def _aliases(alias: Any) -> tuple[str, ...]:
    if isinstance(alias, str):
        return (alias,)
    if isinstance(alias, AliasChoices):
        return tuple(str(c) for c in alias.choices)
    return ()


@dataclass(frozen=True)
class DatabaseConfig:
    read_url: str
    write_url: str
    demo: bool
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
    #: False when the deployment gave only a read URL (CANARYWATCH_WRITE_URL unset): canarywatch's own
    #: state writes may then be refused by the read role, and sign-in must still work.
    write_configured: bool = True

    @property
    def dialect(self) -> str:
        return self.read_url.split(":", 1)[0].split("+", 1)[0]


def demo_url(path: Path) -> str:
    return f"sqlite:///{path}"


def database_config(settings: Settings) -> DatabaseConfig:
    timeout = settings.statement_timeout_ms
    if settings.database_url is None:
        url = demo_url(settings.demo_path)
        return DatabaseConfig(url, url, demo=True, statement_timeout_ms=timeout)
    write = settings.write_url or settings.database_url
    return DatabaseConfig(settings.database_url, write, demo=False, statement_timeout_ms=timeout,
                          write_configured=settings.write_url is not None)


def load_config(env: Mapping[str, str] | None = None) -> DatabaseConfig:
    """The database part of the settings (see `load_settings`)."""
    return database_config(load_settings(env))


def process_settings() -> Settings:
    """The settings of this process (read from os.environ each call: cheap, and tests change it)."""
    return load_settings(dict(os.environ))
