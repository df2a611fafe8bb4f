"""The long-running side of `canarywatch watch`: SIGTERM, a database that goes away and comes back, --once."""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

import canarywatch_cli
from db.engine import read_engine, write_engine
from db.state import canary_evaluation
from services.watch import run
from tests.backends import Backend, empty, open_backend
from tests.watch_support import NOW, config_for, plant, receiver

ROOT = Path(__file__).resolve().parent.parent


def test_sigterm_stops_a_running_watch_cleanly(backend):
    empty(backend.write)
    proc = subprocess.Popen([sys.executable, str(ROOT / "canarywatch_cli.py"), "watch", "--interval", "3600",
                             "--database-url", backend.url], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    seen = []
    try:
        deadline = time.monotonic() + 60
        while not any("cycle at" in line for line in seen) and time.monotonic() < deadline:
            seen.append(lines.get(timeout=60))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert any("0 active canary(ies), 0 evaluation(s) stored" in line for line in seen), seen
    time.sleep(0.1)
    rest = "".join(seen) + "".join(iter_queue(lines))
    assert "Traceback" not in rest


def iter_queue(q: queue.Queue[str]) -> Iterator[str]:
    while not q.empty():
        yield q.get_nowait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def tcp_proxy(port: int, target: tuple[str, int]) -> Iterator[None]:
    """127.0.0.1:port forwarding to `target`: the database "comes back" when this starts."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(2)
        server.close()


@pytest.fixture
def pg_backend(tmp_path: Path) -> Iterator[Backend]:
    """A database server restart needs a server: PostgreSQL only (SQLite is a local file)."""
    opened = open_backend("postgresql", tmp_path)
    yield opened
    opened.dispose()


def test_the_watch_waits_for_a_database_that_went_away_and_carries_on(pg_backend, caplog):
    backend = pg_backend
    plant(backend, "regression")
    real = make_url(backend.url)
    port = free_port()  # nothing listens here yet: the server is "down"
    url = real.set(host="127.0.0.1", port=port, password="s3cret").render_as_string(hide_password=False)
    read, write = read_engine(url), write_engine(url)
    stop = threading.Event()
    with receiver() as r, caplog.at_level("INFO", logger="canarywatch.watch"):
        worker = threading.Thread(target=run, args=(read, write, config_for(r.url)),
                                  kwargs={"stop": stop, "clock": lambda: NOW})
        worker.start()
        try:
            deadline = time.monotonic() + 30
            while "retrying in 1 s" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)
            with tcp_proxy(port, (real.host or "127.0.0.1", real.port or 5432)):
                while "evaluation(s) stored" not in caplog.text and time.monotonic() < deadline:
                    time.sleep(0.05)
                stop.set()
                worker.join(30)
        finally:
            stop.set()
            read.dispose()
            write.dispose()
        assert not worker.is_alive()
        assert len(r.bodies("/generic")) == 1
    assert f"database unreachable (OperationalError at 127.0.0.1/{real.database}), retrying in 1 s" in caplog.text
    assert "database reachable again after" in caplog.text
    assert "s3cret" not in caplog.text
    with backend.write.connect() as conn:
        assert len(conn.execute(select(canary_evaluation)).all()) == 1


def test_once_against_an_unreachable_database_exits_3_without_the_password(capsys):
    url = f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{free_port()}/nowhere"
    assert canarywatch_cli.main(["watch", "--once", "--database-url", url]) == 3
    err = capsys.readouterr().err
    assert "error: database unreachable" in err and "s3cret" not in err


def test_watch_arguments_are_checked(capsys):
    assert canarywatch_cli.main(["watch", "--interval", "-1"]) == 3
    assert canarywatch_cli.main(["watch", "--interval", "0.5"]) == 3
    assert canarywatch_cli.main(["watch", "--now", "2026-02-18T12:00:00Z"]) == 3  # --now needs --once
    assert canarywatch_cli.main(["watch", "--arm", "ws", "--disarm", "ws"]) == 3
    err = capsys.readouterr().err
    assert "--interval is at least 1 second" in err and "--now needs --once" in err
    assert "not allowed with argument" in err


def test_arming_from_the_cli_is_audited_and_a_refusal_exits_2(backend, capsys, monkeypatch, tmp_path):
    import bcrypt
    import yaml
    from sqlalchemy import select

    from db.state import audit_log
    from tests.watch_support import CANARY, FIELD

    plant(backend, "flat")
    base = ["watch", "--database-url", backend.url, "--field", FIELD, "--actor", "alice", "--reason", "guard it"]
    monkeypatch.delenv("CANARYWATCH_CREDENTIALS", raising=False)
    assert canarywatch_cli.main([*base, "--arm", CANARY]) == 3  # no credentials to check --actor against
    hashed = bcrypt.hashpw(b"not-used-here", bcrypt.gensalt(rounds=4)).decode()
    users = {"alice": {"name": "Alice", "password": hashed, "roles": ["super_admin"]},
             "bob": {"name": "Bob", "password": hashed, "roles": ["operator"]}}
    (tmp_path / "users.yaml").write_text(yaml.safe_dump({"usernames": users}))
    monkeypatch.setenv("CANARYWATCH_CREDENTIALS", str(tmp_path / "users.yaml"))
    assert canarywatch_cli.main([*base[:5], "--arm", CANARY]) == 3  # no --actor / --reason
    assert canarywatch_cli.main([*base[:6], "bob", *base[7:], "--arm", CANARY]) == 3  # an operator
    assert canarywatch_cli.main([*base[:6], "mallory", *base[7:], "--arm", CANARY]) == 3  # nobody's name
    assert canarywatch_cli.main([*base, "--arm", CANARY]) == 0
    assert canarywatch_cli.main([*base, "--arm", "ws-ctl1"]) == 3  # not an active canary
    err = capsys.readouterr().err
    assert "set CANARYWATCH_CREDENTIALS" in err
    assert "--actor 'bob' is not a super_admin" in err and "--actor 'mallory' is not a super_admin" in err
    assert f"automatic rollback armed for {CANARY} {FIELD}" in err and "is not an active canary" in err
    with backend.write.connect() as conn:
        audited = conn.execute(select(audit_log.c.actor, audit_log.c.field, audit_log.c.newValue)
                               .where(audit_log.c.field == f"autoRollback.{FIELD}")).all()
    assert [tuple(a) for a in audited] == [("alice", f"autoRollback.{FIELD}", "true")]
