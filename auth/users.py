"""Make a bcrypt hash, or add/update a user in a credentials YAML, without ever echoing a password.

    python -m auth.users hash                                   # prints a bcrypt hash
    python -m auth.users add --file creds.yaml --username alice --name "Alice" --role super_admin

The password is read with getpass on a terminal (asked twice), else from the first line of stdin.
The library strips passwords and lower-cases usernames at sign-in, so we do the same here.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

import bcrypt
import yaml

from auth.credentials import CredentialsError, parse_credentials
from auth.roles import Role

MAX_PASSWORD_BYTES = 72  # bcrypt refuses longer passwords
MIN_PASSWORD_LENGTH = 12


class UsageError(ValueError):
    """A refusal the command prints as one line (never containing the password)."""


def hash_password(password: str, *, rounds: int = 12) -> str:
    password = password.strip()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise UsageError(f"bcrypt accepts at most {MAX_PASSWORD_BYTES} bytes of password")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def read_password(stdin: TextIO, *, confirm: bool = True) -> str:
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Password again: ") != first:
            raise UsageError("the two passwords differ")
        return first
    return stdin.readline().rstrip("\r\n")


def normalise_username(raw: str) -> str:
    username = raw.strip().lower()
    if not username or any(ch.isspace() for ch in username):
        raise UsageError("a username must be one word")
    return username


def add_user(path: Path, username: str, name: str, roles: list[str], password_hash: str) -> bool:
    """Create or update one user in the credentials YAML; True when the user already existed."""
    document: dict[str, Any] = {}
    if path.exists():
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(document, dict):
            raise UsageError(f"{path} does not hold a YAML mapping")
    holder = document.setdefault("credentials", {}) if "usernames" not in document else document
    users = holder.setdefault("usernames", {}) or {}
    holder["usernames"] = users
    existed = username in users
    users[username] = {"name": name, "password": password_hash, "roles": sorted(set(roles))}
    parse_credentials(document, str(path))  # refuse to write a file the app would refuse to load
    _write_private(path, yaml.safe_dump(document, sort_keys=False))
    return existed


def _write_private(path: Path, text: str) -> None:
    """Atomic replace, readable by the owner only (the file holds password hashes)."""
    folder = path.resolve().parent
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m auth.users", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("hash", help="read a password, print its bcrypt hash")
    add = commands.add_parser("add", help="create or update a user in a credentials YAML")
    add.add_argument("--file", required=True, type=Path)
    add.add_argument("--username", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, action="append", choices=[r.value for r in Role])
    args = parser.parse_args(argv)
    try:
        password_hash = hash_password(read_password(stdin))
        if args.command == "hash":
            print(password_hash, file=stdout)
            return 0
        username = normalise_username(args.username)
        existed = add_user(args.file, username, args.name.strip() or username, args.role, password_hash)
    except (UsageError, CredentialsError, yaml.YAMLError, OSError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(f"{'updated' if existed else 'added'} {username} ({', '.join(sorted(set(args.role)))}) in {args.file}",
          file=stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
