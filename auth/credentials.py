"""Loading credentials and the cookie secret, read-only, and refusing unsafe deployments.

The library rewrites a credentials *file* on every login, and mutates a *dict* in place
(STACK_NOTES.md), so we load the YAML ourselves and hand the library a private deep copy.
"""

from __future__ import annotations

import copy
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from auth.roles import parse_roles
from db.config import ConfigError, load_settings

DEMO_CREDENTIALS = Path(__file__).with_name("demo_credentials.yaml")
#: the shipped demo users' passwords (printed on the demo's sign-in page and in the README)
DEMO_PASSWORDS = {"admin": "demo-admin-pass", "operator": "demo-operator-pass", "analyst": "demo-analyst-pass"}
LIBRARY_DEFAULT_KEY = "some_key"
MIN_KEY_LENGTH = 32
MIN_KEY_DISTINCT = 10  # a random 32-character hex key has about 14 distinct characters
MAX_KEY_SHARE = 0.25  # no character may make up more than a quarter of the key
MAX_KEY_PERIOD = 16  # a key that is a shorter piece repeated (e.g. "some_key" * 4) is refused
#: a session cookie lives 8 hours unless configured (CANARYWATCH_COOKIE_EXPIRY_DAYS, at most 30)
DEFAULT_COOKIE_EXPIRY_DAYS = 8 / 24
BCRYPT = re.compile(r"^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$")


class CredentialsError(ValueError):
    """Credentials or cookie settings canarywatch refuses to run with (the message is shown)."""


@dataclass(frozen=True)
class AuthSettings:
    credentials: dict[str, Any]
    cookie_key: str
    cookie_name: str
    cookie_expiry_days: float
    demo_users: bool  # the shipped demo users are active

    @property
    def bcrypt_cost(self) -> int:
        """The highest cost among the configured hashes: what an unknown username must pay too."""
        return max(int(BCRYPT.match(u["password"]).group(1)) for u in self.credentials["usernames"].values())

    @property
    def cookie_expiry_seconds(self) -> float:
        return self.cookie_expiry_days * 86_400

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
    try:
        settings = load_settings(dict(env))
    except ConfigError as exc:
        raise CredentialsError(str(exc)) from None
    expiry = (settings.cookie_expiry_days if settings.cookie_expiry_days is not None
              else _expiry_days(secrets.get("cookie_expiry_days")))
    name = settings.cookie_name if env.get("CANARYWATCH_COOKIE_NAME") else str(secrets.get("cookie_name")
                                                                             or settings.cookie_name)
    path = settings.credentials_file
    if path is not None:
        credentials, demo_users = load_credentials_file(path), False
    elif secrets.get("credentials"):
        credentials, demo_users = parse_credentials(secrets["credentials"], "secrets [auth]"), False
    elif demo:
        credentials, demo_users = load_credentials_file(DEMO_CREDENTIALS), True
    else:
        raise CredentialsError(
            "no credentials are configured: set CANARYWATCH_CREDENTIALS to a credentials YAML "
            "(see `python -m auth.users add`) or provide [auth] credentials in Streamlit secrets"
        )
    if not demo:
        refuse_demo_credentials(credentials)
    key = settings.cookie_key.get_secret_value() if settings.cookie_key else str(secrets.get("cookie_key") or "")
    if not key and demo:
        key = demo_key
    elif key and not demo and key == demo_key:
        raise CredentialsError("CANARYWATCH_COOKIE_KEY is the demo's cookie key: set your own secret")
    check_cookie_key(key)
    return AuthSettings(credentials, key, str(name), expiry, demo_users)


def _demo_hashes() -> frozenset[str]:
    raw = yaml.safe_load(DEMO_CREDENTIALS.read_text(encoding="utf-8"))
    return frozenset(str(u["password"]) for u in raw["credentials"]["usernames"].values())


def refuse_demo_credentials(credentials: Mapping[str, Any]) -> None:
    """Against a real database, no user may carry a shipped demo hash or a published demo password
    (a copy of demo_credentials.yaml, or the demo password re-hashed, is refused just the same)."""
    demo_hashes = _demo_hashes()
    for username, entry in credentials["usernames"].items():
        password_hash = entry["password"]
        if password_hash in demo_hashes:
            raise CredentialsError(f"user {username!r} has a shipped demo password hash "
                                   f"({DEMO_CREDENTIALS.name}); demo users are refused against a real database")
        demo_password = DEMO_PASSWORDS.get(username)
        if demo_password and bcrypt.checkpw(demo_password.encode(), password_hash.encode()):
            raise CredentialsError(f"user {username!r} has the published demo password; "
                                   "demo users are refused against a real database")


def check_cookie_key(key: str) -> None:
    if not key:
        raise CredentialsError("CANARYWATCH_COOKIE_KEY is not set: the session cookie needs a real secret")
    if key == LIBRARY_DEFAULT_KEY:
        raise CredentialsError("CANARYWATCH_COOKIE_KEY is the library's default 'some_key': set a real secret")
    if len(key.encode()) < MIN_KEY_LENGTH:
        raise CredentialsError(f"CANARYWATCH_COOKIE_KEY must be at least {MIN_KEY_LENGTH} bytes long")
    if weakness := key_weakness(key):
        raise CredentialsError(f"CANARYWATCH_COOKIE_KEY is too predictable ({weakness}): "
                               "make one with `openssl rand -hex 32`")


def key_weakness(key: str) -> str | None:
    """Why a long enough key still has too little entropy (or None): few distinct characters, one
    character dominating, or a short piece repeated."""
    counts = Counter(key)
    if len(counts) < MIN_KEY_DISTINCT:
        return f"only {len(counts)} distinct characters, at least {MIN_KEY_DISTINCT} needed"
    _, most = counts.most_common(1)[0]
    if most > MAX_KEY_SHARE * len(key):
        return f"one character is {most} of its {len(key)} characters"
    for period in range(1, MAX_KEY_PERIOD + 1):
        if len(key) >= 2 * period and all(key[i] == key[i % period] for i in range(len(key))):
            return f"a {period}-character piece repeated"
    return None


def _expiry_days(raw: Any) -> float:
    if raw in (None, ""):
        return DEFAULT_COOKIE_EXPIRY_DAYS
    try:
        days = float(raw)
    except (TypeError, ValueError):
        raise CredentialsError(f"CANARYWATCH_COOKIE_EXPIRY_DAYS must be a number of days, got {raw!r}") from None
    if not 0 < days <= 30:
        raise CredentialsError("CANARYWATCH_COOKIE_EXPIRY_DAYS must be more than 0 and at most 30")
    return days
