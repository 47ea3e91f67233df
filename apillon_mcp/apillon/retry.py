"""When a request is tried again: reads only, on failures that say nothing happened, within a time budget.

A GET is retried after a connection failure, a timeout, 429, 502, 503 or 504, with exponential backoff and
jitter; a `Retry-After` the server sends is honoured when it fits the budget. A write (POST, DELETE) is retried
only when it never left this process (the connection could not be made): once it may have reached Apillon, doing
it again could create or charge twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Attempt:
    """What one try of a request came to, as far as trying it again goes."""

    number: int
    """1 for the first try."""
    method: str
    status: int | None
    """The HTTP status of the answer; None when no answer came (a transport failure)."""
    may_have_reached_server: bool = True
    """For a transport failure: the request may have been sent before it failed."""
    retry_after: str | None = None
    """The answer's `Retry-After` header."""

    @property
    def may_repeat(self) -> bool:
        """Trying again cannot do twice what the first try did: a read, or a write that never left."""
        if self.status is None:
            return self.method == "GET" or not self.may_have_reached_server
        return self.method == "GET" and self.status in RETRY_STATUSES


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Tries in all, the first one included."""
    base_delay: float = 0.5
    max_delay: float = 8.0
    """Longest single wait, and the longest `Retry-After` honoured."""
    max_wait: float = 20.0
    """Longest total time spent waiting between tries of one request."""

    def backoff(self, retry: int, jitter: float) -> float:
        """The wait before retry number `retry` (1-based): half to all of the exponential step, at random."""
        step = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return step * (0.5 + jitter / 2)

    def wait_before_retry(self, attempt: Attempt, *, waited: float, jitter: Callable[[], float]) -> float | None:
        """How long to wait before trying again after `attempt`, having waited `waited` seconds so far; None when
        its outcome stands (it may not be repeated, the tries are used up, or the wait would not fit the budget)."""
        if not attempt.may_repeat or attempt.number >= self.attempts:
            return None
        asked = retry_after_seconds(attempt.retry_after)
        delay = self.backoff(attempt.number, jitter()) if asked is None else asked
        if delay > self.max_delay or waited + delay > self.max_wait:
            return None  # longer than one wait may be, or than the call's budget has left
        return delay


NO_RETRIES = RetryPolicy(attempts=1)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """The wait a `Retry-After` header asks for (seconds or an HTTP date), or None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
