"""When a request is tried again: reads only, on failures that say nothing happened, within a time budget.

A GET is retried after a connection failure, a timeout, 429, 502, 503 or 504, with exponential backoff and
jitter; a `Retry-After` the server sends is honoured when it fits the budget. A write (POST, DELETE) is retried
only when it never left this process (the connection could not be made): once it may have reached Apillon, doing
it again could create or charge twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 502, 503, 504})


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
