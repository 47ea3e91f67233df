"""The emulator's notion of time: every timestamp and every job transition is read from a `Clock`."""

import math
from datetime import UTC, datetime, timedelta
from typing import Protocol

DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
"""The emulator's time never goes past this, a year short of the last date a timestamp can hold, so that whatever
is scheduled after `now` (a job's next state, an upload URL's expiry) still fits."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` (never backwards, never past `LATEST`); ValueError otherwise."""
        ...


class OffsetStore(Protocol):
    """Where a `SystemClock` keeps how far ahead of real time it runs (in a sandbox: its database)."""

    def read(self) -> timedelta: ...

    def add(self, step: timedelta) -> None: ...


def _check_step(seconds: float, now: datetime) -> timedelta:
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"the clock only moves forward by a finite number of seconds, got {seconds}")
    room = (LATEST - now).total_seconds()
    if seconds > room:
        raise ValueError(
            f"the clock may move at most {max(room, 0):.0f} seconds now: it stops at {LATEST.date().isoformat()}, "
            "a year before dates overflow"
        )
    return timedelta(seconds=seconds)


class ManualClock:
    """Time that moves only when advanced; starts at `start` (default 2025-01-01T00:00:00Z)."""

    def __init__(self, start: datetime | None = None) -> None:
        start = DEFAULT_START if start is None else start
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        if not EPOCH <= start <= LATEST:
            raise ValueError(f"ManualClock starts between {EPOCH.date()} and {LATEST.date()}")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += _check_step(seconds, self._now)


class MemoryOffset:
    """An offset kept in this process only."""

    def __init__(self, offset: timedelta | None = None) -> None:
        self._offset = timedelta() if offset is None else offset
        if self._offset < timedelta():
            raise ValueError(f"a SystemClock offset cannot be negative, got {self._offset}")

    def read(self) -> timedelta:
        return self._offset

    def add(self, step: timedelta) -> None:
        self._offset += step


class SystemClock:
    """Real UTC time plus an offset that `advance` increases (lets a live sandbox skip ahead).

    The offset lives in `store`: a sandbox keeps it in its database, so every process serving the sandbox runs
    on the same time, and a restarted one goes on from real time, as far ahead.
    """

    def __init__(self, store: OffsetStore | None = None) -> None:
        self._store: OffsetStore = MemoryOffset() if store is None else store

    @property
    def offset(self) -> timedelta:
        return self._store.read()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._store.read()

    def advance(self, seconds: float) -> None:
        self._store.add(_check_step(seconds, self.now()))
