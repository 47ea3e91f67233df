"""The emulator's notion of time: every timestamp and every job transition is read from a `Clock`."""

from datetime import UTC, datetime, timedelta
from typing import Protocol

DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` (never backwards)."""
        ...


def _check_step(seconds: float) -> timedelta:
    if seconds < 0:
        raise ValueError(f"the clock only moves forward, got {seconds} seconds")
    return timedelta(seconds=seconds)


class ManualClock:
    """Time that moves only when advanced; starts at `start` (default 2025-01-01T00:00:00Z)."""

    def __init__(self, start: datetime | None = None) -> None:
        start = DEFAULT_START if start is None else start
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += _check_step(seconds)


class SystemClock:
    """Real UTC time plus an offset that `advance` increases (lets a live sandbox skip ahead).

    A saved state keeps the offset, not a time, so a restarted sandbox goes on from real time, as far ahead.
    """

    def __init__(self, offset: timedelta | None = None) -> None:
        self._offset = timedelta() if offset is None else offset
        if self._offset < timedelta():
            raise ValueError(f"a SystemClock offset cannot be negative, got {self._offset}")

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += _check_step(seconds)
