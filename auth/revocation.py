"""Server-side session revocation: per user, the instant before which every session is void.

streamlit-authenticator's cookie is a JWT holding only `username` and `exp_date` and cannot be
revoked by itself, and the library has no API to add a claim. So a session's issue time is derived
from the cookie: `exp_date - expiry` (and a cookie whose `exp_date` lies further ahead than one
expiry from now claims to be issued in the future: refused). Logout and a super-admin's "sign out
everywhere" move the user's epoch (`session_epoch.revokedBefore`) to now; every cookie sign-in, and
every run of a signed-in session, compares its issue time with the epoch, so a copied cookie replayed
after logout is refused on every replica that shares the database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from db.state import session_epoch
from queries.filters import as_utc, naive_utc

#: a cookie may claim to be issued this much in the future (clock differences between replicas)
CLOCK_SKEW_SECONDS = 60.0


def _key(username: str) -> str:
    return username.strip().lower()


def revoke(engine: Engine, username: str, *, now: datetime | None = None) -> datetime:
    """Void every session of `username` issued up to now (never moves the epoch back)."""
    # one millisecond ahead: PostgreSQL stores milliseconds, and a session issued in the same
    # millisecond as the logout must not survive it
    when = naive_utc((now or datetime.now(UTC)) + timedelta(milliseconds=1))
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(session_epoch).values(username=_key(username), revokedBefore=when)
        newer = stmt.excluded.revokedBefore > session_epoch.c.revokedBefore
        conn.execute(stmt.on_conflict_do_update(index_elements=["username"],
                                                set_={"revokedBefore": stmt.excluded.revokedBefore}, where=newer))
    return when.replace(tzinfo=UTC)


def revoked_before(engine: Engine, username: str) -> datetime | None:
    with engine.connect() as conn:
        value = conn.execute(select(session_epoch.c.revokedBefore)
                             .where(session_epoch.c.username == _key(username))).scalar_one_or_none()
    return as_utc(value) if value is not None else None


def is_revoked(engine: Engine, username: str, issued_at: float) -> bool:
    """Whether a session of `username` issued at `issued_at` (Unix seconds) has been revoked."""
    epoch = revoked_before(engine, username)
    return epoch is not None and issued_at <= epoch.timestamp()


def cookie_issued_at(token: dict, expiry_seconds: float, *, now: float | None = None) -> float | None:
    """The issue time a library cookie implies, or None when the token is unusable: no username or
    exp_date, or an exp_date further ahead than one expiry (a token from the future)."""
    now = datetime.now(UTC).timestamp() if now is None else now
    exp = token.get("exp_date") if isinstance(token, dict) else None
    if not isinstance(token.get("username") if isinstance(token, dict) else None, str):
        return None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    issued = float(exp) - expiry_seconds
    if issued > now + CLOCK_SKEW_SECONDS or exp <= now:
        return None
    return issued
