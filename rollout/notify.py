"""Webhook notifications of canary state changes: recorded once, posted with retries, failures kept.

Each (canary, state change, target) gets one `notification_delivery` row, inserted with ON CONFLICT
DO NOTHING: the replica whose insert wins posts it, every other replica and every later run finds the
row and stays quiet, so a state change is never announced twice to the same target. A failed post is
retried with exponential backoff; one that still fails is recorded (`failed`, the attempts, an HTTP
status or exception class name) for the Overview, and each of the next `later_cycles` cycles claims
it for one more post (compare-and-set on its state and attempts, so two replicas never both resend it).

HTTP is the standard library's urllib.request: one small JSON POST needs nothing more. The URL is a
secret (a Slack webhook URL is its own credential): rows and logs name a target by kind and hash only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, update
from sqlalchemy.dialects import postgresql, sqlite

from db.state import notification_delivery
from queries.filters import naive_utc
from queries.watch import retryable_deliveries

log = logging.getLogger("canarywatch.watch")
MAX_BACKOFF_SECONDS = 30.0
#: a delivery pending or sending for this long was left by a stopped replica: a later cycle resends it
LEFT_BEHIND = timedelta(minutes=10)


@dataclass(frozen=True)
class Target:
    kind: str  # "slack" | "generic" (analysis/watch_messages.py PAYLOADS)
    url: str

    @property
    def id(self) -> str:
        return f"{self.kind}:{hashlib.sha256(self.url.encode()).hexdigest()[:12]}"

    @property
    def masked(self) -> str:
        """What a page may show: scheme and host only."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname or '?'}/…"


def targets(slack_urls: str | None, generic_urls: str | None) -> tuple[Target, ...]:
    """The configured webhook targets (comma-separated URLs, validated by db/config.py)."""
    out: list[Target] = []
    for kind, raw in (("slack", slack_urls), ("generic", generic_urls)):
        out += [Target(kind, url.strip()) for url in (raw or "").split(",") if url.strip()]
    return tuple(out)


@dataclass(frozen=True)
class Retry:
    attempts: int = 4  # posts in the cycle that found the change (waits between them)
    backoff_seconds: float = 1.0  # the first wait; doubled after each failure, capped
    timeout_seconds: float = 5.0
    later_cycles: int = 5  # a delivery still failed gets one more post in each of this many later cycles

    @property
    def total(self) -> int:
        return self.attempts + self.later_cycles


class DeliveryFailed(Exception):
    """The target did not accept the post; the message is a status or a class name, never a body."""


def post_json(url: str, body: dict[str, Any], timeout: float) -> None:
    data = json.dumps(body, sort_keys=True).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "canarywatch"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked in config
            if not 200 <= response.status < 300:
                raise DeliveryFailed(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DeliveryFailed(type(getattr(exc, "reason", exc)).__name__) from None


def _insert(engine: Engine, row: dict[str, Any]) -> int | None:
    """The new delivery's id, or None when this (canary, change, target) was already recorded."""
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(notification_delivery).values(**row).on_conflict_do_nothing(
            index_elements=["canaryKey", "changeKey", "target"]).returning(notification_delivery.c.id)
        return conn.execute(stmt).scalar_one_or_none()


def _update(engine: Engine, delivery: int, **values: Any) -> None:
    d = notification_delivery.c
    with engine.begin() as conn:
        conn.execute(update(notification_delivery).where(d.id == delivery)
                     .values(updatedAt=naive_utc(datetime.now(UTC)), **values))


def _claim(engine: Engine, delivery: int, state: str, attempts: int) -> bool:
    """Compare-and-set a retryable delivery to `sending`: exactly one replica wins it."""
    d = notification_delivery.c
    with engine.begin() as conn:
        result = conn.execute(update(notification_delivery)
                              .where(d.id == delivery, d.state == state, d.attempts == attempts)
                              .values(state="sending", updatedAt=naive_utc(datetime.now(UTC))))
        return result.rowcount == 1


def _deliver(engine: Engine, delivery: int, target: Target, body: dict[str, Any], done: int, retry: Retry,
             wait: Callable[[float], bool], post: Callable[..., None], tries: int) -> bool:
    """Up to `tries` posts (never past retry.total in all); every attempt is counted in the row."""
    last = ""
    limit = min(retry.total, done + tries)
    for attempt in range(done, limit):
        try:
            post(target.url, body, retry.timeout_seconds)
        except DeliveryFailed as exc:
            last = str(exc)
            _update(engine, delivery, state="sending", attempts=attempt + 1, lastError=last)
            log.warning("notification to %s failed (%s), attempt %d of at most %d", target.id, last, attempt + 1,
                        retry.total)
            if attempt + 1 < limit:
                pause = min(retry.backoff_seconds * 2 ** (attempt - done), MAX_BACKOFF_SECONDS)
                if wait(pause):  # stopping: leave it for the next run
                    break
            continue
        _update(engine, delivery, state="sent", attempts=attempt + 1, lastError=None)
        log.info("notification delivered to %s", target.id)
        return True
    _update(engine, delivery, state="failed", lastError=last or "not attempted")
    return False


def notify(engine: Engine, *, canary_key: str, change_key: str, workspace: str,
           bodies: dict[str, dict[str, Any]], to: Sequence[Target], retry: Retry,
           stop: threading.Event | None = None, post: Callable[..., None] = post_json) -> dict[str, str]:
    """Record and post one state change to every target; returns target id -> sent | failed | already."""
    stop = stop or threading.Event()
    now = naive_utc(datetime.now(UTC))
    out: dict[str, str] = {}
    for target in to:
        body = bodies[target.kind]
        delivery = _insert(engine, {"canaryKey": canary_key, "changeKey": change_key, "target": target.id,
                                    "workspaceId": workspace, "payload": json.dumps(body, sort_keys=True),
                                    "state": "pending", "attempts": 0, "lastError": None, "createdAt": now,
                                    "updatedAt": now})
        if delivery is None or not _claim(engine, delivery, "pending", 0):
            out[target.id] = "already"
            continue
        sent = _deliver(engine, delivery, target, body, 0, retry, stop.wait, post, retry.attempts)
        out[target.id] = "sent" if sent else "failed"
    return out


def redeliver(engine: Engine, to: Sequence[Target], retry: Retry, *, cycle_began: datetime,
              stop: threading.Event | None = None, post: Callable[..., None] = post_json) -> int:
    """One more attempt for each failure recorded before this cycle began that has attempts left;
    returns how many were sent."""
    stop = stop or threading.Event()
    by_id = {t.id: t for t in to}
    with engine.connect() as conn:
        rows = retryable_deliveries(conn, retry.total, cycle_began, datetime.now(UTC) - LEFT_BEHIND)
    sent = 0
    for row in rows:
        target = by_id.get(row["target"])
        if target is None or stop.is_set() or not _claim(engine, row["id"], row["state"], row["attempts"]):
            continue  # a target no longer configured stays failed; another replica claimed it
        sent += _deliver(engine, row["id"], target, json.loads(row["payload"]), row["attempts"], retry,
                         stop.wait, post, 1)
    return sent
