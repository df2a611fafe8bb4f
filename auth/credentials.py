"""Loading credentials and the cookie secret, read-only, and refusing unsafe deployments.

The library rewrites a credentials *file* on every login, and mutates a *dict* in place
(STACK_NOTES.md), so we load the YAML ourselves and hand the library a private deep copy.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from auth.roles import parse_roles

DEMO_CREDENTIALS = Path(__file__).with_name("demo_credentials.yaml")
LIBRARY_DEFAULT_KEY = "some_key"
MIN_KEY_LENGTH = 32
BCRYPT = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")


class CredentialsError(ValueError):
    """Credentials or cookie settings canarywatch refuses to run with (the message is shown)."""


@dataclass(frozen=True)
class AuthSettings:
    credentials: dict[str, Any]
    cookie_key: str
    cookie_name: str
    cookie_expiry_days: float
    demo_users: bool  # the shipped demo users are active

    def private_credentials(self) -> dict[str, Any]:
        """A copy the library may mutate without touching ours."""
        return copy.deepcopy(self.credentials)


def parse_credentials(raw: Any, origin: str) -> dict[str, Any]:
    """Validate the `usernames` mapping: every user has a bcrypt hash and at least one known role."""
    if isinstance(raw, Mapping) and "credentials" in raw:
        raw = raw["credentials"]
    if not isinstance(raw, Mapping) or not isinstance(raw.get("usernames"), Mapping) or not raw["usernames"]:
        raise CredentialsError(f"{origin}: expected a `usernames` mapping with at least one user")
    users: dict[str, Any] = {}
    for raw_name, entry in raw["usernames"].items():
        # the library lower-cases and strips what is typed, so a stored "Alice" could never sign in
        username = str(raw_name).strip().lower()
        if username in users:
            raise CredentialsError(f"{origin}: user {username!r} is listed twice (usernames ignore case)")
        if not isinstance(entry, Mapping):
            raise CredentialsError(f"{origin}: user {username!r} must be a mapping")
        password = str(entry.get("password", ""))
        if not BCRYPT.match(password):
            raise CredentialsError(
                f"{origin}: user {username!r} has no bcrypt password hash (plain-text passwords are refused; "
                "make one with `python -m auth.users hash`)"
            )
        roles = parse_roles(entry.get("roles"))
        if not roles:
            raise CredentialsError(f"{origin}: user {username!r} has no known role (super_admin, operator, analyst)")
        users[username] = {
            "name": str(entry.get("name") or username),
            "email": None,  # never needed: keep e-mail addresses out of our session state
            "password": password,
            "roles": sorted(r.value for r in roles),
        }
    return {"usernames": users}


def load_credentials_file(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CredentialsError(f"credentials file {path} cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise CredentialsError(f"credentials file {path} is not valid YAML ({type(exc).__name__})") from None
    return parse_credentials(raw, str(path))


def load_auth_settings(*, demo: bool, env: Mapping[str, str] | None = None,
                       secrets: Mapping[str, Any] | None = None, demo_key: str = "") -> AuthSettings:
    """Credentials and cookie settings from the environment or secrets; strict against a real database."""
    env = os.environ if env is None else env
    secrets = secrets or {}
    expiry = _expiry_days(env.get("CANARYWATCH_COOKIE_EXPIRY_DAYS") or secrets.get("cookie_expiry_days"))
    name = env.get("CANARYWATCH_COOKIE_NAME") or secrets.get("cookie_name") or "canarywatch_auth"
    path = env.get("CANARYWATCH_CREDENTIALS")
    if path:
        credentials, demo_users = load_credentials_file(Path(path)), False
    elif secrets.get("credentials"):
        credentials, demo_users = parse_credentials(secrets["credentials"], "secrets [auth]"), False
    elif demo:
        credentials, demo_users = load_credentials_file(DEMO_CREDENTIALS), True
    else:
        raise CredentialsError(
            "no credentials are configured: set CANARYWATCH_CREDENTIALS to a credentials YAML "
            "(see `python -m auth.users add`) or provide [auth] credentials in Streamlit secrets"
        )
    key = env.get("CANARYWATCH_COOKIE_KEY") or secrets.get("cookie_key") or ""
    if not key and demo:
        key = demo_key
    check_cookie_key(key)
    return AuthSettings(credentials, key, str(name), expiry, demo_users)


def check_cookie_key(key: str) -> None:
    if not key:
        raise CredentialsError("CANARYWATCH_COOKIE_KEY is not set: the session cookie needs a real secret")
    if key == LIBRARY_DEFAULT_KEY:
        raise CredentialsError("CANARYWATCH_COOKIE_KEY is the library's default 'some_key': set a real secret")
    if len(key) < MIN_KEY_LENGTH:
        raise CredentialsError(f"CANARYWATCH_COOKIE_KEY must be at least {MIN_KEY_LENGTH} characters long")


def _expiry_days(raw: Any) -> float:
    if raw in (None, ""):
        return 1.0
    try:
        days = float(raw)
    except (TypeError, ValueError):
        raise CredentialsError(f"CANARYWATCH_COOKIE_EXPIRY_DAYS must be a number of days, got {raw!r}") from None
    if not 0 < days <= 30:
        raise CredentialsError("CANARYWATCH_COOKIE_EXPIRY_DAYS must be more than 0 and at most 30")
    return days
