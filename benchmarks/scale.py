"""Benchmark 5: many functions, one function with many jobs: results stay one page, calls stay fast.

The large dataset (10,000 functions, one of them with 1,000 jobs; quick: 500 / 100) and a small one (two pages
of each) are seeded straight into emulator states. On both, the same four calls go through the in-memory MCP
client: the first and the last page of functions, and of the big function's jobs, 20 per page. The judged rule:
each large-data result, summary and structured content alike, is at most 10% larger than the same call's on the
small dataset (paging, not growth). Latencies are reported, not judged. Memory: tracemalloc while seeding and
during one round of the calls (a separate round from the timed ones, which run without tracing), and the
process's peak RSS.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

from mcp import Client

from benchmarks.harness import Sandbox, call
from benchmarks.profiles import Profile
from benchmarks.report import Budget, Json, Outcome, Table
from benchmarks.seed import add_functions, add_jobs
from benchmarks.sizes import ResultBytes

PAGE = 20
GROWTH_LIMIT = 1.10


@dataclass(frozen=True)
class Dataset:
    sandbox: Sandbox
    functions: int
    jobs: int
    big_function_uuid: str
    seed_seconds: float

    @classmethod
    def seeded(cls, functions: int, jobs: int) -> Dataset:
        started = time.perf_counter()
        sandbox = Sandbox()
        created = add_functions(sandbox.state, functions)
        big = created[-1].function_uuid
        add_jobs(sandbox.state, big, jobs)
        return cls(sandbox, functions, jobs, big, time.perf_counter() - started)

    def calls(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Each measured call, by name: (tool, arguments)."""
        last_page, last_jobs_page = math.ceil(self.functions / PAGE), math.ceil(self.jobs / PAGE)
        get = {"function_uuid": self.big_function_uuid, "jobs_limit": PAGE}
        return {
            "list, first page": ("list_cloud_functions", {"page": 1, "limit": PAGE}),
            "list, last page": ("list_cloud_functions", {"page": last_page, "limit": PAGE}),
            "get, first jobs page": ("get_cloud_function", {**get, "jobs_page": 1}),
            "get, last jobs page": ("get_cloud_function", {**get, "jobs_page": last_jobs_page}),
        }


@dataclass(frozen=True)
class Measured:
    size: ResultBytes
    median_ms: float


async def measure(dataset: Dataset, repeats: int) -> dict[str, Measured]:
    results: dict[str, Measured] = {}
    async with Client(dataset.sandbox.server()) as client:
        for name, (tool, arguments) in dataset.calls().items():
            size = ResultBytes.of(await call(client, tool, arguments))
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                await call(client, tool, arguments)
                times.append(time.perf_counter() - started)
            results[name] = Measured(size, statistics.median(times) * 1000)
    return results


async def traced_round(dataset: Dataset) -> int:
    """Peak bytes allocated during one round of the calls, above what was allocated before it."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        async with Client(dataset.sandbox.server()) as client:
            for tool, arguments in dataset.calls().values():
                await call(client, tool, arguments)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def seeded_traced(functions: int, jobs: int) -> tuple[Dataset, int]:
    """The dataset, and the bytes its seeding left allocated."""
    tracemalloc.start()
    try:
        dataset = Dataset.seeded(functions, jobs)
        return dataset, tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def peak_rss_bytes() -> int | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


async def run(profile: Profile) -> Outcome:
    small = Dataset.seeded(2 * PAGE, 2 * PAGE)
    large, state_bytes = seeded_traced(profile.scale_functions, profile.scale_jobs)
    call_peak_bytes = await traced_round(large)
    small_results = await measure(small, profile.scale_calls)
    large_results = await measure(large, profile.scale_calls)

    outcome = Outcome()
    rows = []
    per_call: dict[str, Json] = {}
    too_big: list[str] = []
    growths: list[float] = []
    for name, big in large_results.items():
        little = small_results[name]
        growth = max(big.size.summary / little.size.summary, big.size.structured / little.size.structured)
        growths.append(growth)
        if growth > GROWTH_LIMIT:
            too_big.append(f"{name} x{growth:.2f}")
        rows.append(
            (
                name,
                big.size.summary,
                little.size.summary,
                big.size.structured,
                little.size.structured,
                f"x{growth:.2f}",
                big.median_ms,
                little.median_ms,
            )
        )
        per_call[name] = {
            "summary_bytes": big.size.summary,
            "structured_bytes": big.size.structured,
            "small_summary_bytes": little.size.summary,
            "small_structured_bytes": little.size.structured,
            "growth": round(growth, 3),
            "median_ms": round(big.median_ms, 3),
            "small_median_ms": round(little.median_ms, 3),
        }
    rss = peak_rss_bytes()
    outcome.figures = {
        "functions": large.functions,
        "jobs": large.jobs,
        "page": PAGE,
        "timed_calls_each": profile.scale_calls,
        "seed_seconds": round(large.seed_seconds, 2),
        "state_traced_bytes": state_bytes,
        "call_round_peak_traced_bytes": call_peak_bytes,
        "process_peak_rss_bytes": rss,
        "calls": per_call,
    }
    title = f"Scale: {large.functions:,} functions, one with {large.jobs:,} jobs, vs {small.functions} / {small.jobs}"
    columns = ("call", "summary B", "small", "structured B", "small", "growth", "median ms", "small ms")
    outcome.tables.append(Table(title, columns, rows))
    memory = [
        ("seeding time (s, includes tracemalloc)", round(large.seed_seconds, 2)),
        ("state after seeding (traced MiB)", round(state_bytes / 2**20, 1)),
        ("peak during one round of the calls (traced MiB)", round(call_peak_bytes / 2**20, 2)),
        ("process peak RSS so far (MiB)", None if rss is None else round(rss / 2**20, 1)),
    ]
    outcome.tables.append(Table("Scale: memory", ("figure", "value"), memory))
    outcome.budgets.append(
        Budget(
            "scale: result bytes bounded (large vs small data)",
            f"<= x{GROWTH_LIMIT:.2f}",
            f"x{max(growths):.2f} at most",
            not too_big,
            f"grew: {', '.join(too_big)}" if too_big else "",
        )
    )
    return outcome
