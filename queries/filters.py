"""The filter every query takes: a half-open UTC window, workspaces and a channel."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement

CHANNELS = ("sms", "email", "linkedin")


class FilterError(ValueError):
    """A filter that cannot describe a real window (the message is shown to the user)."""


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already (upstream stores naive UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def naive_utc(moment: datetime) -> datetime:
    """The form upstream's `timestamp(3) without time zone` columns compare against."""
    return as_utc(moment).replace(tzinfo=None)


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC, optionally narrowed to workspaces (empty = all) and one channel.

    Frozen and hashable, so it doubles as a cache key.
    """

    start: datetime
    end: datetime
    workspaces: tuple[str, ...] = ()
    channel: str | None = None

    def __post_init__(self) -> None:
        start, end = as_utc(self.start), as_utc(self.end)
        if start >= end:
            raise FilterError(f"the window must end after it starts ({start:%Y-%m-%d %H:%M} >= {end:%H:%M} UTC)")
        if self.channel is not None and self.channel not in CHANNELS:
            raise FilterError(f"unknown channel {self.channel!r}; expected one of {', '.join(CHANNELS)}")
        if isinstance(self.workspaces, str):
            raise FilterError("workspaces must be a sequence of workspace ids, not one string")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "workspaces", tuple(sorted(set(self.workspaces))))

    @classmethod
    def last(cls, duration: timedelta, *, now: datetime | None = None, **kw) -> Window:
        end = as_utc(now or datetime.now(UTC))
        return cls(end - duration, end, **kw)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Window:
        """The equal-length window just before this one (for "change against the previous window")."""
        return replace(self, start=self.start - self.duration, end=self.start)

    def with_workspaces(self, workspaces: tuple[str, ...] | list[str]) -> Window:
        return replace(self, workspaces=tuple(workspaces))

    def clauses(self, *, time, workspace=None, channel=None) -> list[ColumnElement[bool]]:
        """WHERE clauses for this window on the given columns; every value is a bound parameter."""
        out: list[ColumnElement[bool]] = [time >= naive_utc(self.start), time < naive_utc(self.end)]
        if workspace is not None and self.workspaces:
            out.append(workspace.in_(self.workspaces))
        if channel is not None and self.channel is not None:
            out.append(channel == self.channel)
        return out

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M} UTC"


def default_bucket_seconds(window: Window) -> int:
    """A time-series grain that gives a readable number of points for the window."""
    hours = window.duration.total_seconds() / 3600
    if hours <= 2:
        return 60
    if hours <= 8:
        return 300
    if hours <= 48:
        return 3600
    if hours <= 24 * 8:
        return 3 * 3600
    return 86400
