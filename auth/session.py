"""Sign-in, sign-out and the role guard every page calls: the one module using streamlit-authenticator.

We draw our own login form (same labels as the library's) so that the throttle runs before any
password is checked, and let the library check the bcrypt hash and write the signed session cookie.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import bcrypt
import jwt
import streamlit as st
import streamlit_authenticator as stauth
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from streamlit_authenticator.utilities.exceptions import LoginError

from auth.credentials import AuthSettings, CredentialsError, load_auth_settings
from auth.roles import Role, parse_roles
from auth.throttle import LoginThrottle

DEMO_PASSWORDS = {"admin": "demo-admin-pass", "operator": "demo-operator-pass", "analyst": "demo-analyst-pass"}
#: checked against for unknown usernames, so a wrong name costs the same time as a wrong password
_DUMMY_HASH = bcrypt.hashpw(b"canarywatch-no-such-user", bcrypt.gensalt(rounds=10))


@dataclass(frozen=True)
class User:
    username: str
    name: str
    roles: frozenset[Role]

    def may(self, allowed: Iterable[Role]) -> bool:
        return bool(self.roles & frozenset(allowed))


@st.cache_resource
def _demo_cookie_key() -> str:
    """A random per-process key: demo sessions end when the process does."""
    return secrets.token_urlsafe(48)


def _secrets() -> dict:
    try:
        return dict(st.secrets.get("auth", {}))
    except Exception:  # noqa: BLE001 - no secrets file is the normal case
        return {}


@st.cache_resource
def _settings(demo: bool) -> AuthSettings:
    return load_auth_settings(demo=demo, secrets=_secrets(), demo_key=_demo_cookie_key())


@st.cache_resource
def _throttle(_engine: Engine, url: str) -> LoginThrottle:
    return LoginThrottle(_engine)


def _sleep_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("CANARYWATCH_LOGIN_SLEEP", "0.7")))
    except ValueError:
        return 0.7


def current_user() -> User | None:
    if not st.session_state.get("authentication_status"):
        return None
    username = st.session_state.get("username") or ""
    return User(username, st.session_state.get("name") or username, parse_roles(st.session_state.get("roles")))


def _leave_pages_directory_mode() -> None:
    """Until some session has called st.navigation, Streamlit treats the `pages/` folder beside app.py as
    a v1 multipage app: a deep link on a freshly started process runs pages/<name>.py directly, skipping
    app.py (and so sign-in) and listing every page file. Turn that mode off and run again through app.py."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def guard(allowed: Iterable[Role]) -> User:
    """Stop the page unless a signed-in user holds one of the roles (pages and writes call this)."""
    allowed = frozenset(allowed)
    user = current_user()
    if user is None:
        _leave_pages_directory_mode()
        st.warning("Sign in to see this page.", icon=":material/lock:")
        st.stop()
    if not user.may(allowed):
        needs = ", ".join(sorted(r.value for r in allowed))
        has = ", ".join(sorted(r.value for r in user.roles)) or "no role"
        st.error(f"Your role ({has}) may not open this page; it needs one of: {needs}.", icon=":material/block:")
        st.stop()
    return user


def sign_in(*, demo: bool, write_engine: Engine) -> User | None:
    """The signed-in user, or None after drawing the login form (errors stop the app with a sentence)."""
    try:
        settings = _settings(demo)
    except CredentialsError as exc:
        st.error(f"canarywatch will not start: {exc}.", icon=":material/gpp_bad:")
        st.stop()
    authenticator = stauth.Authenticate(
        settings.private_credentials(), settings.cookie_name, settings.cookie_key, settings.cookie_expiry_days,
        auto_hash=False, login_sleep_time=_sleep_seconds(),
    )
    try:
        authenticator.login(location="unrendered")  # signs in from a valid cookie, draws nothing
    except (LoginError, KeyError, jwt.PyJWTError):
        # a correctly signed cookie for a user no longer in the credentials (or a malformed token)
        for key in ("authentication_status", "username", "name", "roles", "email"):
            st.session_state[key] = None
        authenticator.cookie_controller.delete_cookie()
    if st.session_state.get("authentication_status"):
        user = current_user()
        _sidebar_account(authenticator, user, settings)
        if st.session_state.get("authentication_status"):
            return user
    return _login_form(authenticator, settings, write_engine)


def _sidebar_account(authenticator: stauth.Authenticate, user: User, settings: AuthSettings) -> None:
    with st.sidebar:
        roles = ", ".join(sorted(r.value for r in user.roles))
        st.caption(f"Signed in as **{user.name}** ({roles})" + (" · demo user" if settings.demo_users else ""))
        authenticator.logout("Log out", "sidebar", key="cw_logout")


def _login_form(authenticator: stauth.Authenticate, settings: AuthSettings, write_engine: Engine) -> User | None:
    slot = st.empty()
    with slot.container():
        st.title("canarywatch")
        if settings.demo_users:
            st.info("Demo sign-in is active: " + " · ".join(f"`{u}` / `{p}`" for u, p in DEMO_PASSWORDS.items()),
                    icon=":material/science:")
        with st.form("cw_login", clear_on_submit=False):
            username = st.text_input("Username", autocomplete="username", max_chars=100)
            password = st.text_input("Password", type="password", autocomplete="current-password", max_chars=200)
            submitted = st.form_submit_button("Login")
        if not submitted:
            return None
        username = username.strip()
        if not username or not password:
            st.error("Enter a username and a password.")
            return None
        try:
            attempt = _throttle(write_engine, str(write_engine.url)).attempt(
                username, lambda: _check_password(authenticator, settings, username, password))
        except SQLAlchemyError:
            st.error("Sign-in is unavailable: the database that records failed sign-ins cannot be reached.")
            return None
        if attempt.locked_until is not None:
            st.error(locked_message(attempt.locked_until))
            return None
        if attempt.crowded:
            st.error("Too many sign-in attempts for this username at the same moment. Try again in a minute.")
            return None
        if not attempt.accepted:
            st.error("Wrong username or password.")
            return None
    slot.empty()
    # The cookie is written by a browser component: draw it outside the emptied login slot (or it is
    # removed before it runs) and never st.rerun() after it.
    authenticator.cookie_controller.set_cookie()
    user = current_user()
    _sidebar_account(authenticator, user, settings)
    return user


def _check_password(authenticator: stauth.Authenticate, settings: AuthSettings, username: str,
                    password: str) -> bool:
    """The library's check (it sets the session state); unknown names still pay for one bcrypt check."""
    if username.strip().lower() not in settings.credentials["usernames"]:
        bcrypt.checkpw(password.strip().encode()[:72], _DUMMY_HASH)
        return False
    try:
        return bool(authenticator.authentication_controller.login(username, password))
    except LoginError:
        return False


def locked_message(until: datetime) -> str:
    return f"Too many failed sign-ins for this username. Try again after {until:%H:%M} UTC."
