"""How much each benchmark does: the full run, and the quick run that only proves the suite still works."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    quick: bool
    cold_start_runs: int
    """Timed spawns of each server (after one untimed warm-up spawn each)."""
    calls: int
    """Timed calls of each kind in the per-call benchmark, in memory."""
    stdio_calls: int
    scale_functions: int
    scale_jobs: int
    scale_calls: int
    """Timed calls of each kind at scale (and on the small dataset)."""
    http_sessions: int
    http_calls: int
    """Calls made by each HTTP session."""
    state_sizes: tuple[int, int]
    """Functions in the small and the large sandbox file whose cost per change is compared."""
    state_changes: int
    """Timed changes of each kind on each sandbox file."""
    timeout_seconds: float
    """Longest any one benchmark may run before it is stopped and reported as failed."""


FULL = Profile(
    quick=False,
    cold_start_runs=9,
    calls=200,
    stdio_calls=100,
    scale_functions=10_000,
    scale_jobs=1_000,
    scale_calls=20,
    http_sessions=20,
    http_calls=25,
    state_sizes=(100, 100_000),
    state_changes=200,
    timeout_seconds=600,
)
QUICK = Profile(
    quick=True,
    cold_start_runs=1,
    calls=20,
    stdio_calls=10,
    scale_functions=500,
    scale_jobs=100,
    scale_calls=3,
    http_sessions=3,
    http_calls=3,
    state_sizes=(100, 5_000),
    state_changes=30,
    timeout_seconds=120,
)
