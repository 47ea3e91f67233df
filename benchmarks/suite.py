"""The benchmarks, in the order they run and are reported."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from benchmarks import call_overhead, cold_start, context_cost, http_load, result_size, sandbox_state, scale, scenarios
from benchmarks.profiles import Profile
from benchmarks.report import Outcome


@dataclass(frozen=True)
class Benchmark:
    name: str
    """Its key in the JSON file and for `--only`."""
    title: str
    run: Callable[[Profile], Awaitable[Outcome]]


BENCHMARKS = (
    Benchmark("context_cost", "1. Context cost of tools/list", context_cost.run),
    Benchmark("result_size", "2. Result size against the raw API response", result_size.run),
    Benchmark("cold_start", "3. Cold start over stdio", cold_start.run),
    Benchmark("call_overhead", "4. Per-call overhead of get_cloud_function", call_overhead.run),
    Benchmark("scale", "5. Scale: 10,000 functions, 1,000 jobs (quick: 500 / 100)", scale.run),
    Benchmark("http", "6. Streamable HTTP, concurrent sessions", http_load.run),
    Benchmark("scenarios", "7. Agent scenarios through the MCP client", scenarios.run),
    Benchmark(
        "sandbox_state",
        "8. Sandbox state: a change at 100 and 100,000 functions (quick: 5,000); worst searches",
        sandbox_state.run,
    ),
)
