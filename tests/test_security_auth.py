"""Issue 12, sign-in findings 2, 3 and 7 and session revocation (1) below the browser, and issue 9
item 6 (a read-only deployment): each test reproduces what a hostile tester did and asserts the refusal."""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bcrypt
import pytest
import streamlit as st
import streamlit_authenticator as stauth
import yaml
from streamlit.testing.v1 import AppTest

from auth import session, store
from auth.credentials import DEMO_CREDENTIALS, DEMO_PASSWORDS, CredentialsError, load_auth_settings
from auth.revocation import cookie_issued_at, is_revoked, revoke, revoked_before
from auth.throttle import LoginThrottle, is_per_process
from db.engine import write_engine
from tests.auth_support import APP, TEST_COOKIE_KEY, TEST_CREDENTIALS, auth_env
from tests.readonly_support import read_only_database

STRONG_KEY = "9c41e07b2fd8a6153e7c0b94d2a8f61e5b3c07d9a4e2f8b1"


def settings_for(credentials, key: str = TEST_COOKIE_KEY, *, demo: bool = False):
    return load_auth_settings(demo=demo, env={"CANARYWATCH_CREDENTIALS": str(credentials),
                                              "CANARYWATCH_COOKIE_KEY": key})


# -- finding 7: weak cookie keys -------------------------------------------------------------------
@pytest.mark.parametrize(("key", "why"), [
    (" " * 32, "only 1 distinct characters, at least 10 needed"),
    ("a" * 32, "only 1 distinct characters, at least 10 needed"),
    ("some_key" * 4, "only 7 distinct characters, at least 10 needed"),
    ("0123456789abcdef" * 2, "a 16-character piece repeated"),
    ("abcdefghijk" * 3, "a 11-character piece repeated"),
    ("test-cookie-key-" + "x" * 40, "one character is 40 of its 56 characters"),
])
def test_a_long_but_predictable_cookie_key_is_refused(key, why):
    with pytest.raises(CredentialsError) as refused:
        settings_for(TEST_CREDENTIALS, key)
    assert str(refused.value) == (f"CANARYWATCH_COOKIE_KEY is too predictable ({why}): "
                                  "make one with `openssl rand -hex 32`")
    assert key.strip() == "" or key not in str(refused.value)  # the secret is never echoed


def test_a_random_cookie_key_is_accepted():
    assert settings_for(TEST_CREDENTIALS, STRONG_KEY).cookie_key == STRONG_KEY
    with pytest.raises(CredentialsError, match="at least 32 bytes"):
        settings_for(TEST_CREDENTIALS, STRONG_KEY[:31])


# -- finding 3: demo credentials against a real database ---------------------------------------------
def test_the_shipped_demo_users_are_refused_against_a_real_database(tmp_path):
    with pytest.raises(CredentialsError, match="user 'admin' has a shipped demo password hash"):
        settings_for(DEMO_CREDENTIALS)
    copy = tmp_path / "mine.yaml"  # a copy under another name is the same users
    shutil.copy(DEMO_CREDENTIALS, copy)
    with pytest.raises(CredentialsError, match="shipped demo password hash"):
        settings_for(copy)
    rehashed = tmp_path / "rehashed.yaml"  # the published password with a fresh salt
    hashed = bcrypt.hashpw(DEMO_PASSWORDS["operator"].encode(), bcrypt.gensalt(rounds=4)).decode()
    rehashed.write_text(yaml.safe_dump({"usernames": {"operator": {"password": hashed, "roles": ["operator"]}}}))
    with pytest.raises(CredentialsError, match="user 'operator' has the published demo password"):
        settings_for(rehashed)
    # the embedded demo (no DATABASE_URL) still signs in with them
    demo = load_auth_settings(demo=True, env={}, demo_key=STRONG_KEY)
    assert demo.demo_users and set(demo.credentials["usernames"]) == set(DEMO_PASSWORDS)


def test_the_app_on_a_real_database_will_not_start_with_the_demo_users(db, monkeypatch):
    st.cache_resource.clear()
    for key, value in auth_env(db.backend.url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CANARYWATCH_CREDENTIALS", str(DEMO_CREDENTIALS))
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert [e.value for e in app.error] == [
        "canarywatch will not start: user 'admin' has a shipped demo password hash (demo_credentials.yaml); "
        "demo users are refused against a real database."]
    assert not app.text_input  # no login form: admin/demo-admin-pass has nowhere to go
    st.cache_resource.clear()


def test_the_default_session_lasts_eight_hours():
    assert settings_for(TEST_CREDENTIALS).cookie_expiry_seconds == 8 * 3600


# -- finding 2: sign-in timing -----------------------------------------------------------------------
def test_an_unknown_username_costs_the_same_time_as_a_wrong_password(tmp_path):
    """Medians of interleaved tries: known user with a wrong password vs a name that does not exist.
    The hash is cost 11 (the old dummy hash was cost 10: a ratio near 0.5, far outside the band).
    Measured as this thread's CPU time, the work an attacker times on an idle server: wall time on
    this shared 2-core machine swings by +-25% with the other processes' load."""
    creds = tmp_path / "creds.yaml"
    hashed = bcrypt.hashpw(b"carol-real-password", bcrypt.gensalt(rounds=11)).decode()
    creds.write_text(yaml.safe_dump({"usernames": {"carol": {"password": hashed, "roles": ["analyst"]}}}))
    settings = settings_for(creds)
    assert settings.bcrypt_cost == 11
    authenticator = stauth.Authenticate(settings.private_credentials(), settings.cookie_name, settings.cookie_key,
                                        settings.cookie_expiry_days, auto_hash=False)
    session._check_password(authenticator, settings, "nobody", "warm-up")  # derives the dummy hash once

    def took(username: str) -> float:
        start = time.thread_time()
        assert session._check_password(authenticator, settings, username, "wrong-password") is False
        return time.thread_time() - start

    known, unknown = [], []
    for _ in range(9):
        known.append(took("carol"))
        unknown.append(took("mallory"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.85 < ratio < 1.15, (ratio, known, unknown)


# -- finding 1 (below the browser): revocation records -----------------------------------------------
def test_revocation_voids_sessions_issued_before_it_and_only_those(db):
    engine = db.backend.write
    logout = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)
    assert revoked_before(engine, "admin") is None
    assert revoke(engine, "Admin ", now=logout) == logout + timedelta(milliseconds=1)
    assert is_revoked(engine, "admin", (logout - timedelta(hours=2)).timestamp())
    assert is_revoked(engine, "admin", logout.timestamp())  # issued the same instant: void
    assert not is_revoked(engine, "admin", (logout + timedelta(seconds=1)).timestamp())
    assert not is_revoked(engine, "analyst", logout.timestamp())  # per user
    revoke(engine, "admin", now=logout - timedelta(days=1))  # an older epoch never moves it back
    assert revoked_before(engine, "admin") == logout + timedelta(milliseconds=1)


def test_a_cookie_implies_its_issue_time_and_a_token_from_the_future_is_refused():
    now, expiry = 1_800_000_000.0, 8 * 3600.0
    assert cookie_issued_at({"username": "admin", "exp_date": now + expiry - 60}, expiry, now=now) == now - 60
    assert cookie_issued_at({"username": "admin", "exp_date": now + 30 * 86400}, expiry, now=now) is None
    assert cookie_issued_at({"username": "admin", "exp_date": now - 1}, expiry, now=now) is None
    assert cookie_issued_at({"exp_date": now + 60}, expiry, now=now) is None
    assert cookie_issued_at({"username": "admin", "exp_date": "soon"}, expiry, now=now) is None


# -- issue 9 item 6: a read-only deployment ----------------------------------------------------------
@pytest.fixture(scope="module")
def read_only_role():
    with read_only_database() as url:
        yield url


def test_a_read_only_database_keeps_the_throttle_in_the_process(read_only_role):
    engine = write_engine(read_only_role)
    try:
        chosen = store.choose_store(engine)
        assert chosen.per_process and is_per_process()
        throttle = LoginThrottle(chosen.engine)
        assert throttle.attempt("eve", lambda: True).accepted
        for _ in range(5):
            assert not throttle.attempt("eve", lambda: False).accepted
        assert throttle.attempt("eve", lambda: True).locked_until is not None  # the lock still holds
        throttle.reset("eve")
    finally:
        engine.dispose()


def test_a_writable_database_shares_the_throttle(db):
    chosen = store.choose_store(db.backend.write)
    assert chosen.engine is db.backend.write and not chosen.per_process and not is_per_process()


def test_a_database_that_does_not_answer_is_unreachable_not_read_only():
    engine = write_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    with pytest.raises(store.StateUnreachable):
        store.choose_store(engine)
    engine.dispose()


# -- finding 8: the demo listens on this machine only ------------------------------------------------
def _listening_addresses(port: int) -> set[str]:
    """Local addresses in LISTEN state on `port`, from /proc/net/tcp and tcp6 (hex as the kernel writes)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]  # noqa: SIM115
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_the_dashboard_binds_127_0_0_1_unless_told_otherwise(tmp_path):
    """`streamlit run app.py` from the project root, with no --server.address: only 127.0.0.1 listens."""
    root = Path(__file__).resolve().parent.parent
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CANARYWATCH_", "STREAMLIT_")) and k != "DATABASE_URL"}
    env.update(CANARYWATCH_DEMO_PATH=str(tmp_path / "demo.sqlite"), CANARYWATCH_SUMMARY_REFRESH="off")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and not 0.0.0.0 or ::
    finally:
        proc.terminate()
        proc.wait(timeout=10)
