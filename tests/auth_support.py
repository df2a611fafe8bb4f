"""Signing AppTest runs in through the real login form, as each role.

`auth_env(database_url)` gives the environment a test sets before `AppTest.from_file(...)`: the
database, test users with the demo's usernames and roles but their own passwords (TEST_PASSWORDS:
the shipped demo users are refused against a real database), a strong cookie key and no login
sleep. `sign_in(at, role)` fills in and submits the form.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import bcrypt
import yaml
from streamlit.testing.v1 import AppTest

from auth.roles import Role

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
USER_FOR = {Role.SUPER_ADMIN: "admin", Role.OPERATOR: "operator", Role.ANALYST: "analyst"}
TEST_COOKIE_KEY = "7f3c9a1e5b2d8f4a6c0e9b3d7a1f5c8e2b6d0a4f8c3e7b1d"
TEST_PASSWORDS = {"admin": "test-admin-secret", "operator": "test-operator-secret", "analyst": "test-analyst-secret"}
TEST_BCRYPT_COST = 4  # the cheapest cost: these hashes only guard test databases


def _write_test_credentials() -> Path:
    users = {name: {"name": f"Test {role.value}", "roles": [role.value],
                    "password": bcrypt.hashpw(TEST_PASSWORDS[name].encode(),
                                              bcrypt.gensalt(rounds=TEST_BCRYPT_COST)).decode()}
             for role, name in USER_FOR.items()}
    path = Path(tempfile.mkdtemp(prefix="canarywatch-test-creds-")) / "credentials.yaml"
    path.write_text(yaml.safe_dump({"credentials": {"usernames": users}}), encoding="utf-8")
    return path


TEST_CREDENTIALS = _write_test_credentials()


def auth_env(database_url: str | None) -> dict[str, str]:
    env = {"CANARYWATCH_CREDENTIALS": str(TEST_CREDENTIALS), "CANARYWATCH_COOKIE_KEY": TEST_COOKIE_KEY,
           "CANARYWATCH_LOGIN_SLEEP": "0"}
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def sign_in(at: AppTest, role: Role | str, *, password: str | None = None) -> AppTest:
    """Submit the login form as the demo user holding `role` (or with a given password)."""
    username = USER_FOR[Role(role)]
    if not any(t.label == "Username" for t in at.text_input):
        at.run()
    inputs = {t.label: t for t in at.text_input}
    inputs["Username"].input(username)
    inputs["Password"].input(password if password is not None else TEST_PASSWORDS[username])
    next(b for b in at.button if b.label == "Login").click()
    return at.run()


def page_path(name: str) -> str:
    return str(ROOT / "pages" / name)
