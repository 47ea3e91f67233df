"""The server's own spending cap: a limit on the credits this server process may spend on new jobs.

Off unless configured (`APILLON_MCP_SPENDING_CAP`). It counts per process, from the moment the server started:
the API has no record of who spent what, and a cap that only this process enforces can only count what this
process did. A create reserves the job's price before the request goes out, so that concurrent creates cannot
pass the cap together; the reservation is kept when the job was created and released when it certainly was not.
"""

from __future__ import annotations

from dataclasses import dataclass


class CapReached(Exception):
    """Spending `amount` more would pass the cap; the message says by how much."""


@dataclass(frozen=True)
class CapStatus:
    limit: int
    spent: int
    """Credits this server spent (or holds reserved for a create under way) since it started."""

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.spent)


class SpendingLedger:
    def __init__(self, limit: int | None) -> None:
        self._limit = limit
        self._spent = 0

    def status(self) -> CapStatus | None:
        """None when no cap is set."""
        return None if self._limit is None else CapStatus(self._limit, self._spent)

    def check(self, amount: int) -> None:
        """Raise `CapReached` when spending `amount` now would pass the cap."""
        if self._limit is not None and self._spent + amount > self._limit:
            raise CapReached(
                f"this server's spending cap is {self._limit} credits (APILLON_MCP_SPENDING_CAP) and it has spent "
                f"{self._spent} since it started, so {self._limit - self._spent} remain: less than the {amount} a "
                "job costs"
            )

    def reserve(self, amount: int) -> Reservation:
        """Hold `amount` now (raises `CapReached` like `check`); release it if the create certainly failed."""
        self.check(amount)
        self._spent += amount
        return Reservation(self, amount)

    def _release(self, amount: int) -> None:
        self._spent -= amount


class Reservation:
    def __init__(self, ledger: SpendingLedger, amount: int) -> None:
        self._ledger = ledger
        self._amount = amount

    def release(self) -> None:
        """The create spent nothing: give the amount back (once)."""
        self._ledger._release(self._amount)
        self._amount = 0
