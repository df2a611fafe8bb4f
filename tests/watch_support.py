"""Shared pieces of the watch tests: planted canaries worked out by hand, and a local webhook receiver.

Workspaces: CANARY (autoSendRevisionEnabled on, enabled at SPLIT by alice) and two clean controls
(CTL1, CTL2, the field off: the fleet majority). Each side has 200 drafts over two hours:
- regression: the canary goes 10% -> 30% needs_review (controls flat at 10%), so the DiD delta is
  +20 pts, and one draft is revised twice after the split (revision_attempted_twice, critical,
  workspace-scoped: measured 2 loops > threshold 1): the verdict is FAIL.
- flat: everyone 10% -> 10%: PASS.
- thin: 20 drafts on each side of the canary: INSUFFICIENT_DATA.
- incident: flat, plus ten CRM webhooks queued for CTL1 (never started): the platform queue rule
  (critical, platform-scoped) trips, the verdict is PLATFORM_INCIDENT.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from auth.roles import Role
from auth.session import User
from rollout.notify import Retry, Target
from services.watch import WatchConfig
from tests.backends import Backend, empty
from tests.seed import Seed, at

CANARY, CTL1, CTL2 = "ws-canary", "ws-ctl1", "ws-ctl2"
FIELD = "autoSendRevisionEnabled"
SPLIT = at(days=-2)
HOURS = timedelta(hours=2)
NOW = SPLIT + HOURS  # the moment the watch looks (the end of the canary window)
INTERVAL = 60.0
ADMIN = User("alice", "Alice", frozenset({Role.SUPER_ADMIN}))
FAST = Retry(attempts=3, backoff_seconds=0.01, timeout_seconds=2)


def plant(backend: Backend, scenario: str) -> Seed:
    empty(backend.write)
    seed = Seed(backend.write)
    seed.workspace(CANARY, name="Canary <b>*Co*</b> | <!here>", settings={FIELD: True})
    seed.workspace(CTL1, settings={})
    seed.workspace(CTL2, settings={})
    seed.audit(CANARY, when=SPLIT, field=FIELD, old="false", new="true")
    n = 20 if scenario == "thin" else 200
    after = 60 if scenario == "regression" else n // 10
    seed.drafts(CANARY, start=SPLIT - HOURS, end=SPLIT, n=n, needs_review=n // 10)
    seed.drafts(CANARY, start=SPLIT, end=NOW, n=n, needs_review=after)
    for ws in (CTL1, CTL2):
        seed.drafts(ws, start=SPLIT - HOURS, end=SPLIT, n=200, needs_review=20)
        seed.drafts(ws, start=SPLIT, end=NOW, n=200, needs_review=20)
    if scenario == "regression":
        for minutes in (100, 110):  # the same draft revised twice in the last 30 minutes
            seed.interaction(CANARY, when=SPLIT + timedelta(minutes=minutes), feature="auto_send.revision_loop",
                             metadata={"draftId": "draft-twice", "stopReason": "threshold_met", "iterationsUsed": 1})
    if scenario == "incident":
        for k in range(10):
            seed.webhook(provider="CRM", workspace_id=CTL1, created=SPLIT + timedelta(minutes=2 + 5 * k),
                         status="PENDING")
    return seed


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: records every POST; answers 500 to the first `fail_first`."""

    url: str
    posts: list[dict] = field(default_factory=list)
    fail_first: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self, path: str) -> list[dict]:
        return [p["body"] for p in self.posts if p["path"] == path and p["status"] == 200]


@contextmanager
def receiver(fail_first: int = 0) -> Iterator[Receiver]:
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            rec = box["r"]
            with rec.lock:
                status = 500 if rec.fail_first > 0 else 200
                rec.fail_first -= 1
                rec.posts.append({"path": self.path, "body": body, "status": status})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["r"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}", fail_first=fail_first)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box["r"]
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused): the receiver is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/down"


def config_for(base: str, *, dry_run: bool = False) -> WatchConfig:
    return WatchConfig(interval_seconds=INTERVAL, base_url="https://canarywatch.example",
                       targets=(Target("slack", f"{base}/slack"), Target("generic", f"{base}/generic")),
                       retry=FAST, db_retry_max_seconds=4, dry_run=dry_run)
