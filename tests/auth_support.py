"""Signing AppTest runs in through the real login form, as each role.

`auth_env(database_url)` gives the environment a test sets before `AppTest.from_file(...)`: the
database, the shipped demo users as credentials (their passwords are below), a real-length cookie
key and no login sleep. `sign_in(at, role)` fills in and submits the form.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from auth.credentials import DEMO_CREDENTIALS
from auth.roles import Role
from auth.session import DEMO_PASSWORDS

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
USER_FOR = {Role.SUPER_ADMIN: "admin", Role.OPERATOR: "operator", Role.ANALYST: "analyst"}
TEST_COOKIE_KEY = "test-cookie-key-" + "x" * 40


def auth_env(database_url: str | None) -> dict[str, str]:
    env = {"CANARYWATCH_CREDENTIALS": str(DEMO_CREDENTIALS), "CANARYWATCH_COOKIE_KEY": TEST_COOKIE_KEY,
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
    inputs["Password"].input(password if password is not None else DEMO_PASSWORDS[username])
    next(b for b in at.button if b.label == "Login").click()
    return at.run()


def page_path(name: str) -> str:
    return str(ROOT / "pages" / name)
