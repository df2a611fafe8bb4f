"""Sign-in, sign-out and the role guard every page calls: the one module using streamlit-authenticator.

We draw our own login form (same labels as the library's) so that the throttle runs before any
password is checked, and let the library check the bcrypt hash and write the signed session cookie.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import bcrypt
import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from auth.credentials import DEMO_PASSWORDS, AuthSettings, CredentialsError, load_auth_settings
from auth.roles import Role, User, parse_roles
from db.config import ConfigError, load_settings

if TYPE_CHECKING:
    import streamlit_authenticator as stauth

    from auth.store import StateStore
    from auth.throttle import LoginThrottle

# streamlit_authenticator (with requests and cryptography), jwt and the sign-in state tables are imported
# where used: a visitor's first run draws the form before loading them (issue 13, fast first start)

__all__ = ["DEMO_PASSWORDS", "User", "guard", "sign_in", "sign_out_everywhere"]
log = logging.getLogger("canarywatch.auth")
#: when this session was signed in (Unix seconds): compared with the user's revocation epoch every run
ISSUED_AT = "cw_session_issued_at"
_SESSION_KEYS = ("authentication_status", "username", "name", "roles", "email")
UNREACHABLE = "Sign-in is unavailable: the database that records sign-ins cannot be reached. Try again shortly."


@functools.cache
def dummy_hash(cost: int) -> bytes:
    """Checked against for unknown usernames, at the configured hashes' cost, so a wrong name costs
    the same time as a wrong password (derived once per cost, at the first sign-in)."""
    return bcrypt.hashpw(b"canarywatch-no-such-user", bcrypt.gensalt(rounds=cost))


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


@st.cache_resource(show_spinner=False)
def _cached_store(_engine: Engine, url: str) -> StateStore:
    from auth.store import choose_store

    return choose_store(_engine)


_last_store: list[StateStore] = []  # the store sign_in used last in this process, for guard()


def _store(engine: Engine) -> StateStore | None:
    """Where sign-in state lives, or None when the write database does not answer."""
    from auth.store import StateUnreachable

    try:
        chosen = _cached_store(engine, engine.url.render_as_string(hide_password=False))
    except StateUnreachable:
        return None
    _last_store[:] = [chosen]
    return chosen


@st.cache_resource(show_spinner=False)
def _throttle(_store: StateStore, url: str, per_process: bool) -> LoginThrottle:
    from auth.throttle import LoginThrottle

    return LoginThrottle(_store.engine)


def _reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True
    except SQLAlchemyError:
        return False


def _sleep_seconds() -> float:
    try:
        return load_settings().login_sleep_seconds
    except ConfigError:
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
    if current_user() is not None and _last_store and _session_revoked(_last_store[0]):
        _clear_session_state()  # signed out everywhere meanwhile (a page can run without app.py)
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
    """The signed-in user, or None after drawing the login form (errors stop the app with a sentence).

    A visitor with no session cookie gets the form before anything that waits (issue 13: within 3 s of
    health on a fresh demo): the library's `login()` only sleeps `login_sleep_time` when there is no
    cookie to sign in from, so it is not called; the sign-in state store (migrations on first use) is
    made after the form is drawn, ready for the submit. The library's object (its cookie component) stays
    first: made after the form, its component's rerun left the form without a cookie written.
    """
    try:
        settings = _settings(demo)
    except CredentialsError as exc:
        st.error(f"canarywatch will not start: {exc}.", icon=":material/gpp_bad:")
        st.stop()
    authenticator = _authenticator(settings)  # first, as the library expects: its cookie component
    if not st.session_state.get("authentication_status") and not st.context.cookies.get(settings.cookie_name):
        return _login_form(settings, write_engine, authenticator)
    store = _store(write_engine)
    if st.session_state.get("authentication_status"):
        _end_if_revoked(authenticator, store, settings.cookie_name)
    elif _cookie_is_acceptable(settings, store):
        import jwt
        from streamlit_authenticator.utilities.exceptions import LoginError

        try:
            authenticator.login(location="unrendered")  # signs in from a valid cookie, draws nothing
        except (LoginError, KeyError, jwt.PyJWTError):
            # a correctly signed cookie for a user no longer in the credentials (or a malformed token)
            _forget_session(authenticator, settings.cookie_name)
    else:
        _forget_session(authenticator, settings.cookie_name)
    if st.session_state.get("authentication_status"):
        user = current_user()
        _sidebar_account(authenticator, user, settings, store)
        if st.session_state.get("authentication_status"):
            return user
    return _login_form(settings, write_engine, authenticator)


def _authenticator(settings: AuthSettings) -> stauth.Authenticate:
    """The library's object; making it draws its cookie component (whose first load reruns the script)."""
    import streamlit_authenticator as stauth

    return stauth.Authenticate(
        settings.private_credentials(), settings.cookie_name, settings.cookie_key, settings.cookie_expiry_days,
        auto_hash=False, login_sleep_time=_sleep_seconds(),
    )


def _clear_session_state() -> None:
    for key in _SESSION_KEYS:
        st.session_state[key] = None
    st.session_state.pop(ISSUED_AT, None)


def _forget_session(authenticator: stauth.Authenticate, cookie_name: str) -> None:
    _clear_session_state()
    if st.context.cookies.get(cookie_name):
        authenticator.cookie_controller.delete_cookie()


def _cookie_is_acceptable(settings: AuthSettings, store: StateStore | None) -> bool:
    """Whether the library may sign in from this request's cookie: none at all is fine (it does
    nothing); a signed one must be issued after the user's revocation epoch, read from the store."""
    raw = st.context.cookies.get(settings.cookie_name)
    if not raw:
        return True
    import jwt

    from auth.revocation import cookie_issued_at, is_revoked

    try:
        token = jwt.decode(raw, settings.cookie_key, algorithms=["HS256"])
    except jwt.PyJWTError:
        return True  # the library refuses it the same way; nothing to revoke
    issued = cookie_issued_at(token, settings.cookie_expiry_seconds)
    if issued is None:
        return False
    if store is None:
        log.warning("cookie sign-in refused: the sign-in state database cannot be reached")
        return False  # cannot tell whether it was revoked: fail closed
    try:
        if is_revoked(store.engine, token["username"], issued):
            return False
    except SQLAlchemyError as exc:
        log.warning("cookie sign-in refused: revocation check failed (%s)", type(exc).__name__)
        return False
    st.session_state[ISSUED_AT] = issued
    return True


def _end_if_revoked(authenticator: stauth.Authenticate, store: StateStore | None, cookie_name: str) -> None:
    """A signed-in session whose user was signed out everywhere (or who logged out elsewhere) ends here.
    When the store cannot be read the session, already verified, goes on."""
    if store is not None and _session_revoked(store):
        _forget_session(authenticator, cookie_name)


def _session_revoked(store: StateStore) -> bool:
    """Whether this signed-in session was revoked. Every session sign_in admits carries its issue time
    (form or cookie); one without it was not signed in through here and is left alone."""
    username = st.session_state.get("username") or ""
    issued = st.session_state.get(ISSUED_AT)
    if not isinstance(issued, float | int):
        return False
    from auth.revocation import is_revoked

    try:
        return is_revoked(store.engine, username, float(issued))
    except SQLAlchemyError as exc:
        log.warning("revocation check skipped for a signed-in session (%s)", type(exc).__name__)
        return False


def sign_out_everywhere(write_engine: Engine, username: str) -> None:
    """End every session of `username` on every replica sharing the store (a super-admin action)."""
    from auth.revocation import revoke
    from auth.store import StateUnreachable

    store = _store(write_engine)
    if store is None:
        raise StateUnreachable("the database that records sign-ins cannot be reached")
    try:
        revoke(store.engine, username)
    except SQLAlchemyError as exc:
        # the class only: a driver message can name the host, user or paths
        raise StateUnreachable(f"the sign-in state database failed ({type(exc).__name__}); nobody was signed "
                               "out") from None
    log.info("every session of a user was revoked")


def _on_logout(store: StateStore | None, username: str) -> None:
    from auth.revocation import revoke

    if store is None:
        log.warning("logout could not be recorded: the sign-in state database cannot be reached")
        return
    try:
        revoke(store.engine, username)
    except SQLAlchemyError as exc:
        log.warning("logout could not be recorded (%s)", type(exc).__name__)


def _sidebar_account(authenticator: stauth.Authenticate, user: User, settings: AuthSettings,
                     store: StateStore | None) -> None:
    from analysis.markdown import plain

    with st.sidebar:
        roles = ", ".join(sorted(r.value for r in user.roles))
        st.caption(f"Signed in as **{plain(user.name)}** ({roles})" + (" · demo user" if settings.demo_users else ""))
        authenticator.logout("Log out", "sidebar", key="cw_logout",
                             callback=lambda _details: _on_logout(store, user.username))


def _login_form(settings: AuthSettings, write_engine: Engine, authenticator: stauth.Authenticate) -> User | None:
    """Draw the form; on a submit, throttle and check it."""
    slot = st.empty()
    box = slot.container()
    with box:
        st.title("canarywatch")
        if settings.demo_users:
            st.info("Demo sign-in is active: " + " · ".join(f"`{u}` / `{p}`" for u, p in DEMO_PASSWORDS.items()),
                    icon=":material/science:")
        with st.form("cw_login", clear_on_submit=False):
            username = st.text_input("Username", autocomplete="username", max_chars=100)
            password = st.text_input("Password", type="password", autocomplete="current-password", max_chars=200)
            submitted = st.form_submit_button("Login")
    with box:  # errors under the form
        if not submitted:
            return None
        username = username.strip()
        if not username or not password:
            st.error("Enter a username and a password.")
            return None
        # the sign-in state store (migrations on its first use) only for a submit: a run that drew the form
        # and then waited for it (on a fresh demo the build holds SQLite's write lock) kept the previous
        # run's form on screen beside the new one
        store = _store(write_engine)
        if store is None:
            st.error(UNREACHABLE)
            return None
        try:
            throttle = _throttle(store, store.engine.url.render_as_string(hide_password=False), store.per_process)
            attempt = throttle.attempt(username, lambda: _check_password(authenticator, settings, username, password))
        except SQLAlchemyError as exc:
            log.warning("sign-in throttle failed (%s)", type(exc).__name__)
            if _reachable(store.engine):
                st.error("Sign-in is unavailable: the database answers but refused to record the sign-in "
                         f"attempt ({type(exc).__name__}). Try again shortly.")
            else:
                st.error(UNREACHABLE)
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
    st.session_state[ISSUED_AT] = time.time()
    # The cookie is written by a browser component: draw it outside the emptied login slot (or it is
    # removed before it runs) and never st.rerun() after it.
    authenticator.cookie_controller.set_cookie()
    user = current_user()
    _sidebar_account(authenticator, user, settings, store)
    return user


def _check_password(authenticator: stauth.Authenticate, settings: AuthSettings, username: str,
                    password: str) -> bool:
    """The library's check (it sets the session state); unknown names still pay for one bcrypt check."""
    if username.strip().lower() not in settings.credentials["usernames"]:
        bcrypt.checkpw(password.strip().encode()[:72], dummy_hash(settings.bcrypt_cost))
        return False
    from streamlit_authenticator.utilities.exceptions import LoginError

    try:
        return bool(authenticator.authentication_controller.login(username, password))
    except LoginError:
        return False


def locked_message(until: datetime) -> str:
    return f"Too many failed sign-ins for this username. Try again after {until:%H:%M} UTC."
