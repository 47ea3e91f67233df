"""Benchmark 8: the sandbox's state in SQLite: what one change costs as the sandbox grows, and the worst searches.

Two sandbox files in a temporary directory are seeded, in transactions of 1,000, with functions (100 and
100,000; quick: 100 and 5,000). Then, alternating between the two files so that drift hits both, each change is
timed from the call to its commit on the file: creating a function (two rows inserted) and replacing a function's
environment (one row updated). The judged rule: the large sandbox's median change costs at most twice the small
one's. Before SQLite, saving after one change rewrote the whole file: 9 ms at 100 functions, 1.6 s at 50,000.

Search: each LIKE pattern that used to make a regex backtrack for minutes is timed over 1,000 functions with
255-character names; judged: the slowest answers within 250 ms.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from apillon_mcp.emulator import DEFAULT_PROJECT_UUID, EmulatorState, ManualClock
from apillon_mcp.emulator.database import Database
from apillon_mcp.emulator.listing import ListQuery
from benchmarks.profiles import Profile
from benchmarks.report import Budget, Json, Outcome, Table
from benchmarks.stats import Latency, ratio

GROWTH_LIMIT = 2.0
SEARCH_LIMIT_MS = 250.0
SEED_BATCH = 1_000
SEARCH_NAMES = ("a" * 255, "ab" * 127 + "a", "a" * 254 + "b", "b" + "a" * 254)
SEARCH_ROWS = 1_000
PATTERNS = {
    "%a%a%a%b (the issue's)": "%a%a%a%b",
    "%a repeated 127 times, then b": "%a" * 127 + "b",
    "_% repeated 127 times, then b": "_%" * 127 + "b",
    "254 a, then b": "a" * 254 + "b",
    "two runs of 127 a, then c": "a" * 127 + "%" + "a" * 127 + "c",
}


class Sandbox:
    """A sandbox file seeded with `size` functions, and one more whose environment the changes replace."""

    def __init__(self, directory: Path, size: int) -> None:
        self.path = directory / f"sandbox-{size}.sqlite3"
        database = Database.open(self.path)
        self.state = EmulatorState(clock=ManualClock(), database=database)
        started = time.perf_counter()
        for first in range(0, size, SEED_BATCH):
            with database.transaction():  # the creates join it: one commit per batch
                for n in range(first, min(first + SEED_BATCH, size)):
                    self.state.create_function(f"price-oracle-{n:06d}", "Fetches a price feed.")
        self.seed_seconds = time.perf_counter() - started
        self.size = size
        self.target = self.state.create_function("target").function_uuid
        self.creates: list[float] = []
        self.updates: list[float] = []

    def change(self, n: int) -> None:
        self.creates.append(_timed(lambda: self.state.create_function(f"added-{n:06d}")))
        variables = [{"key": "VERSION", "value": str(n)}]
        self.updates.append(
            _timed(lambda: self.state.set_environment(self.target, variables, project_uuid=DEFAULT_PROJECT_UUID))
        )

    def figures(self) -> dict[str, Json]:
        return {
            "functions": self.size,
            "seed_seconds": round(self.seed_seconds, 2),
            "file_bytes": self.path.stat().st_size,
            "create": Latency.of(self.creates).as_json(),
            "update": Latency.of(self.updates).as_json(),
        }


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def searches() -> dict[str, float]:
    """Milliseconds each pattern takes over `SEARCH_ROWS` functions with 255-character names."""
    state = EmulatorState(clock=ManualClock())
    for n in range(SEARCH_ROWS):
        state.create_function(SEARCH_NAMES[n % len(SEARCH_NAMES)])
    timings = {}
    for name, pattern in PATTERNS.items():
        started = time.perf_counter()
        state.list_functions(ListQuery(search=pattern), project_uuid=DEFAULT_PROJECT_UUID)
        timings[name] = (time.perf_counter() - started) * 1000
    return timings


async def run(profile: Profile) -> Outcome:
    small_size, large_size = profile.state_sizes
    with tempfile.TemporaryDirectory(prefix="apillon-benchmark-") as directory:
        small, large = Sandbox(Path(directory), small_size), Sandbox(Path(directory), large_size)
        for n in range(profile.state_changes):
            small.change(n)
            large.change(n)
        outcome = Outcome()
        outcome.figures = {"small": small.figures(), "large": large.figures()}
        small.state.close()
        large.state.close()
    rows = []
    growths = []
    for kind in ("create", "update"):
        little, big = Latency.of(getattr(small, f"{kind}s")), Latency.of(getattr(large, f"{kind}s"))
        growth = ratio(big.median_ms, little.median_ms)
        growths.append(growth)
        rows.append((kind, little.median_ms, big.median_ms, f"x{growth:.2f}", little.p99_ms, big.p99_ms))
    columns = ("change", f"median ms at {small_size:,}", f"at {large_size:,}", "growth", "p99 ms small", "large")
    outcome.tables.append(Table("Sandbox state: one change, committed to the file", columns, rows))
    outcome.budgets.append(
        Budget(
            f"sandbox state: a change at {large_size:,} functions vs {small_size:,}",
            f"<= x{GROWTH_LIMIT:.1f}",
            f"x{max(growths):.2f}",
            max(growths) <= GROWTH_LIMIT,
        )
    )
    timings = searches()
    outcome.figures["search_ms"] = {name: round(ms, 3) for name, ms in timings.items()}
    outcome.tables.append(
        Table(
            f"Sandbox search over {SEARCH_ROWS:,} 255-character names",
            ("pattern", "ms"),
            [(name, ms) for name, ms in timings.items()],
        )
    )
    slowest = max(timings.values())
    outcome.budgets.append(
        Budget(
            "sandbox search: worst LIKE pattern",
            f"<= {SEARCH_LIMIT_MS:.0f} ms",
            f"{slowest:.1f} ms",
            slowest <= SEARCH_LIMIT_MS,
        )
    )
    return outcome
