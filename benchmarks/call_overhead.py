"""Benchmark 4: what a `get_cloud_function` tool call costs over the bare API client call it wraps.

In process: the in-memory MCP client against the server, alternating call by call with the bare
`ApillonClient.get_cloud_function` against the same emulator state (so drift hits both). Then over stdio: a
spawned `apillon-mcp --emulator`, seeded through its own tools. Same data in both: one function with 3 jobs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mcp import Client

from apillon_mcp.backends import sandbox_api
from benchmarks.harness import Sandbox, call
from benchmarks.profiles import Profile
from benchmarks.report import Outcome, Table
from benchmarks.seed import add_functions, add_jobs, script_cid
from benchmarks.stats import Latency, ratio
from benchmarks.stdio import APILLON, module_server, stdio_session

JOBS = 3
WARMUP = 5


async def timed(action: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def run(profile: Profile) -> Outcome:
    sandbox = Sandbox()
    (function,) = add_functions(sandbox.state, 1, prefix="worker")
    add_jobs(sandbox.state, function.function_uuid, JOBS)
    arguments = {"function_uuid": function.function_uuid}
    mcp_times: list[float] = []
    api_times: list[float] = []
    async with Client(sandbox.server()) as client, sandbox_api(sandbox.state)() as api:

        async def through_mcp() -> None:
            await call(client, "get_cloud_function", arguments)

        async def bare() -> None:
            await api.get_cloud_function(function.function_uuid)

        for _ in range(WARMUP):
            await through_mcp()
            await bare()
        logged = len(sandbox.state.requests)
        await through_mcp()
        requests_per_call = len(sandbox.state.requests) - logged
        for _ in range(profile.calls):
            mcp_times.append(await timed(through_mcp))
            api_times.append(await timed(bare))
    stdio_times = await _over_stdio(profile)

    in_memory, api_call, stdio = Latency.of(mcp_times), Latency.of(api_times), Latency.of(stdio_times)
    outcome = Outcome()
    outcome.figures = {
        "api_requests_per_tool_call": requests_per_call,
        "in_memory_mcp": in_memory.as_json(),
        "bare_api_client": api_call.as_json(),
        "stdio_mcp": stdio.as_json(),
        "in_memory_ratio_median": round(ratio(in_memory.median_ms, api_call.median_ms), 2),
        "in_memory_ratio_p99": round(ratio(in_memory.p99_ms, api_call.p99_ms), 2),
        "in_memory_overhead_median_ms": round(in_memory.median_ms - api_call.median_ms, 3),
        "stdio_ratio_median": round(ratio(stdio.median_ms, api_call.median_ms), 2),
        "stdio_ratio_p99": round(ratio(stdio.p99_ms, api_call.p99_ms), 2),
    }
    rows = [
        ("bare ApillonClient.get_cloud_function", api_call.median_ms, api_call.p99_ms, 1.0, api_call.samples),
        (
            "get_cloud_function, in-memory MCP client",
            in_memory.median_ms,
            in_memory.p99_ms,
            ratio(in_memory.median_ms, api_call.median_ms),
            in_memory.samples,
        ),
        (
            "get_cloud_function, MCP over stdio",
            stdio.median_ms,
            stdio.p99_ms,
            ratio(stdio.median_ms, api_call.median_ms),
            stdio.samples,
        ),
    ]
    title = f"Per-call latency (function with {JOBS} jobs; {requests_per_call} API request(s) per tool call)"
    outcome.tables.append(Table(title, ("path", "median ms", "p99 ms", "x bare (median)", "calls"), rows))
    return outcome


async def _over_stdio(profile: Profile) -> list[float]:
    """Latencies of get_cloud_function against a spawned server, seeded through create_* tools."""
    times: list[float] = []
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        async with stdio_session(module_server(APILLON), devnull) as client:
            created = await call(client, "create_cloud_function", {"name": "worker-000001"})
            function_uuid = str((created.structured_content or {})["function_uuid"])
            for n in range(1, JOBS + 1):
                job = {"function_uuid": function_uuid, "name": f"release-{n:06d}", "script_cid": script_cid(str(n))}
                await call(client, "create_cloud_function_job", job)
            arguments = {"function_uuid": function_uuid}
            for _ in range(WARMUP):
                await call(client, "get_cloud_function", arguments)
            for _ in range(profile.stdio_calls):
                started = time.perf_counter()
                await call(client, "get_cloud_function", arguments)
                times.append(time.perf_counter() - started)
    return times
