"""Benchmark 6: concurrent sessions against the stateless streamable-HTTP server, over a real loopback socket.

The server (bearer token required) and every client share this process and its event loop. Each session opens
its own HTTP client and MCP session, then makes its calls one after another, alternating get_cloud_function (a
function with 20 jobs) and list_cloud_functions (20 of 50 functions). Throughput counts successful calls over the
wall time of the whole run, session set-up included. Judged: zero errors.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from apillon_mcp.http_transport import MCP_PATH, check_http_settings, http_app
from benchmarks.harness import Sandbox, settings
from benchmarks.loopback import served
from benchmarks.profiles import Profile
from benchmarks.report import Budget, Outcome, Table
from benchmarks.seed import add_functions, add_jobs_in_every_status
from benchmarks.sizes import summary_text
from benchmarks.stats import Latency

FUNCTIONS = 50
JOBS = 20


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: list[str] = []


async def session(url: str, token: str, calls: list[tuple[str, dict[str, Any]]], tally: Tally) -> None:
    try:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            for tool, arguments in calls:
                started = time.perf_counter()
                try:
                    result = await client.call_tool(tool, arguments)
                except Exception as error:
                    tally.errors.append(f"{tool}: {error!r}")
                    continue
                if result.is_error:
                    tally.errors.append(f"{tool}: {summary_text(result)[:200]}")
                else:
                    tally.latencies.append(time.perf_counter() - started)
    except Exception as error:
        tally.errors.append(f"session: {error!r}")


async def run(profile: Profile) -> Outcome:
    sandbox = Sandbox()
    functions = add_functions(sandbox.state, FUNCTIONS)
    add_jobs_in_every_status(sandbox.state, functions[0].function_uuid, JOBS)
    token = secrets.token_hex(24)
    config = settings(transport="http", http_token=token)
    plan = [
        ("get_cloud_function", {"function_uuid": functions[0].function_uuid})
        if n % 2 == 0
        else ("list_cloud_functions", {"limit": 20})
        for n in range(profile.http_calls)
    ]
    tally = Tally()
    async with served(http_app(sandbox.server(config=config), check_http_settings(config))) as base:
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(profile.http_sessions):
                group.start_soon(session, f"{base}{MCP_PATH}", token, plan, tally)
        wall = time.perf_counter() - started

    attempted = profile.http_sessions * profile.http_calls
    succeeded = len(tally.latencies)
    latency = Latency.of(tally.latencies) if tally.latencies else None
    throughput = succeeded / wall if wall else 0.0
    outcome = Outcome()
    outcome.figures = {
        "sessions": profile.http_sessions,
        "calls_per_session": profile.http_calls,
        "calls_attempted": attempted,
        "calls_succeeded": succeeded,
        "errors": len(tally.errors),
        "error_samples": tally.errors[:5],
        "wall_seconds": round(wall, 3),
        "throughput_calls_per_second": round(throughput, 1),
        "latency": None if latency is None else latency.as_json(),
    }
    row = (
        profile.http_sessions,
        attempted,
        succeeded,
        len(tally.errors),
        round(wall, 2),
        round(throughput, 1),
        None if latency is None else latency.median_ms,
        None if latency is None else latency.p99_ms,
    )
    columns = ("sessions", "calls", "ok", "errors", "wall s", "calls/s", "p50 ms", "p99 ms")
    outcome.tables.append(Table("Streamable HTTP (stateless, bearer token), concurrent sessions", columns, [row]))
    outcome.budgets.append(
        Budget(
            "http: errors under concurrent sessions",
            "0",
            f"{len(tally.errors)} errors; {succeeded} of {attempted} calls ok",
            not tally.errors,
            "; ".join(tally.errors[:3]),
        )
    )
    return outcome
