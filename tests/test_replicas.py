"""Several replicas behind a round-robin load balancer: real sockets on loopback, one shared Apillon (the emulator).

A confirmation form on protocol 2026-07-28 is a question in one HTTP request's answer and the user's reply in the
client's next request, which the balancer may send to another replica: replicas that share
APILLON_MCP_CONFIRMATION_KEY must each accept what another sealed.
"""

import json
from collections.abc import AsyncGenerator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import mcp.types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from apillon_mcp.backends import sandbox_api
from apillon_mcp.config import Settings
from apillon_mcp.emulator import EmulatorState, JobStatus
from apillon_mcp.http_transport import http_app
from apillon_mcp.server import build_server
from benchmarks.loopback import served

from support import Forwarded, RoundRobinProxy, text

pytestmark = pytest.mark.anyio

CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
SHARED_KEY = "one-key-for-every-replica-0123456789"


@asynccontextmanager
async def balanced(emulator: EmulatorState, keys: Sequence[str | None]) -> AsyncGenerator[RoundRobinProxy, None]:
    """One replica per key, each on its own loopback port, behind a round-robin proxy (its URL: `proxy.url`)."""
    async with AsyncExitStack() as stack:
        upstreams = []
        for key in keys:
            settings = Settings(emulator=True, transport="http", confirmation_key=key)
            server = build_server(settings, sandbox_api(emulator))
            upstreams.append(await stack.enter_async_context(served(http_app(server, settings))))
        proxy = RoundRobinProxy(upstreams)
        proxy.url = await stack.enter_async_context(served(proxy))
        yield proxy


def live_job(emulator: EmulatorState) -> str:
    function = emulator.create_function("svc")
    job = emulator.create_job(function.function_uuid, "live", CID)
    emulator.clock.advance(3600)
    return job.job_uuid


async def accept(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"confirm": True})


def tool_calls(log: list[Forwarded]) -> list[tuple[int, bool]]:
    """(replica, carries requestState) of each tools/call that went through the proxy."""
    calls = []
    for forwarded in log:
        message = json.loads(forwarded.body) if forwarded.body else {}
        if message.get("method") == "tools/call":
            calls.append((forwarded.upstream, "requestState" in message.get("params", {})))
    return calls


async def test_a_form_asked_by_one_replica_is_answered_on_another_that_shares_the_key(
    emulator: EmulatorState,
) -> None:
    job_uuid = live_job(emulator)

    async with (
        balanced(emulator, [SHARED_KEY, SHARED_KEY]) as proxy,
        Client(f"{proxy.url}/mcp", elicitation_callback=accept) as client,
    ):
        answer = await client.call_tool("delete_cloud_function_job", {"job_uuid": job_uuid})

    assert not answer.is_error, text(answer)
    assert emulator.jobs[job_uuid].job_status == JobStatus.DELETED
    (asked_on, first_has_state), (answered_on, retry_has_state) = tool_calls(proxy.log)
    assert (first_has_state, retry_has_state) == (False, True)
    assert asked_on != answered_on


async def test_without_a_shared_key_the_other_replica_refuses_the_form_and_nothing_happens(
    emulator: EmulatorState,
) -> None:
    job_uuid = live_job(emulator)

    async with (
        balanced(emulator, [None, None]) as proxy,
        Client(f"{proxy.url}/mcp", elicitation_callback=accept) as client,
    ):
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await client.call_tool("delete_cloud_function_job", {"job_uuid": job_uuid})

    assert emulator.jobs[job_uuid].job_status == JobStatus.MATCHED
    (asked_on, _), (answered_on, _) = tool_calls(proxy.log)
    assert asked_on != answered_on
