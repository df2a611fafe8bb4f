"""The user command: bcrypt hashes only, a credentials file the app accepts, no password echoed."""

from __future__ import annotations

import io
import stat

import bcrypt
import pytest
import yaml

from auth.credentials import CredentialsError, load_credentials_file
from auth.users import main

PASSWORD = "correct horse battery"


def run(argv, stdin_text):
    out = io.StringIO()
    code = main(argv, stdin=io.StringIO(stdin_text), stdout=out)
    return code, out.getvalue()


def test_hash_prints_a_bcrypt_hash_of_the_stripped_password(capsys):
    code, out = run(["hash"], f"  {PASSWORD}  \n")
    assert code == 0
    hashed = out.strip()
    assert hashed.startswith("$2b$12$")
    assert bcrypt.checkpw(PASSWORD.encode(), hashed.encode())  # the library strips what is typed too
    assert PASSWORD not in out + capsys.readouterr().err


@pytest.mark.parametrize(("password", "message"), [("short", "at least 12"), ("x" * 73, "at most 72 bytes")])
def test_hash_refuses_passwords_bcrypt_cannot_take(capsys, password, message):
    code, out = run(["hash"], password + "\n")
    err = capsys.readouterr().err
    assert code == 2 and out == ""
    assert message in err and password not in err


def test_add_creates_a_private_file_the_app_loads_then_updates_the_user(tmp_path, capsys):
    creds = tmp_path / "creds.yaml"
    code, out = run(["add", "--file", str(creds), "--username", " Alice ", "--name", "Alice A",
                     "--role", "super_admin"], PASSWORD + "\n")
    assert (code, out.strip()) == (0, f"added alice (super_admin) in {creds}")
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    loaded = load_credentials_file(creds)["usernames"]
    assert list(loaded) == ["alice"] and loaded["alice"]["roles"] == ["super_admin"]
    assert bcrypt.checkpw(PASSWORD.encode(), loaded["alice"]["password"].encode())
    assert PASSWORD not in creds.read_text() + capsys.readouterr().err

    code, out = run(["add", "--file", str(creds), "--username", "alice", "--name", "Alice A",
                     "--role", "operator", "--role", "analyst"], "another long password\n")
    assert (code, out.strip()) == (0, f"updated alice (analyst, operator) in {creds}")
    assert load_credentials_file(creds)["usernames"]["alice"]["roles"] == ["analyst", "operator"]


def test_add_keeps_other_users_and_refuses_an_unknown_role(tmp_path, capsys):
    creds = tmp_path / "creds.yaml"
    run(["add", "--file", str(creds), "--username", "bob", "--name", "Bob", "--role", "analyst"], PASSWORD + "\n")
    run(["add", "--file", str(creds), "--username", "eve", "--name", "Eve", "--role", "operator"], PASSWORD + "\n")
    assert sorted(yaml.safe_load(creds.read_text())["credentials"]["usernames"]) == ["bob", "eve"]
    with pytest.raises(SystemExit):  # argparse refuses the role before any password is read
        run(["add", "--file", str(creds), "--username", "mallory", "--name", "M", "--role", "root"], PASSWORD)
    assert "mallory" not in creds.read_text()


def test_usernames_differing_only_in_case_are_refused(tmp_path):
    creds = tmp_path / "creds.yaml"
    hashed = bcrypt.hashpw(b"x", bcrypt.gensalt(rounds=4)).decode()
    creds.write_text(yaml.safe_dump({"usernames": {
        "Alice": {"password": hashed, "roles": ["analyst"]},
        "alice": {"password": hashed, "roles": ["super_admin"]}}}))
    with pytest.raises(CredentialsError, match="listed twice"):
        load_credentials_file(creds)
