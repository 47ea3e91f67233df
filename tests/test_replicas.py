"""Several replicas behind a round-robin load balancer: real sockets on loopback, one shared Apillon (the emulator).

A confirmation form on protocol 2026-07-28 is a question in one HTTP request's answer and the user's reply in the
client's next request, which the balancer may send to another replica: replicas that share
APILLON_MCP_CONFIRMATION_KEY must each accept what another sealed. Replicas share no state, so each accepts a
consent (a token, a form's reply) once: what that allows is pinned here as the README states it.
"""

import json
from collections.abc import AsyncGenerator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx2
import mcp.types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from apillon_mcp.backends import sandbox_api
from apillon_mcp.config import Settings
from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, EmulatorState, JobStatus
from apillon_mcp.http_transport import check_http_settings, http_app
from apillon_mcp.server import build_server

from loopback import served
from support import ALL_ROLES, HELLO_WORLD_CID, Forwarded, RoundRobinProxy, text, token_of

pytestmark = pytest.mark.anyio

SHARED_KEY = "one-key-for-every-replica-0123456789"


@asynccontextmanager
async def balanced(
    emulator: EmulatorState, keys: Sequence[str | None], *, per_request_credentials: bool = False
) -> AsyncGenerator[RoundRobinProxy, None]:
    """One replica per key, each on its own loopback port, behind a round-robin proxy (its URL: `proxy.url`)."""
    async with AsyncExitStack() as stack:
        upstreams = []
        for key in keys:
            settings = Settings(
                emulator=True, transport="http", confirmation_key=key, per_request_credentials=per_request_credentials
            )
            server = build_server(settings, sandbox_api(emulator))
            upstreams.append(await stack.enter_async_context(served(http_app(server, check_http_settings(settings)))))
        proxy = RoundRobinProxy(upstreams)
        proxy.url = await stack.enter_async_context(served(proxy))
        yield proxy


def live_job(emulator: EmulatorState) -> str:
    function = emulator.create_function("svc")
    job = emulator.create_job(function.function_uuid, "live", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    return job.job_uuid


async def accept(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
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


def actions(emulator: EmulatorState, marker: str) -> int:
    """How many destructive requests reached Apillon: `marker` is "/jobs/" (DELETE) or "/environment" (POST)."""
    return sum(1 for method, path in emulator.requests if method in ("DELETE", "POST") and marker in path)


async def resend(url: str, forwarded: Forwarded) -> dict[str, Any]:
    """The same request again, byte for byte, as a client retrying it (or anyone who copied it) would send it."""
    headers = [(name, value) for name, value in forwarded.headers if name.lower() != "host"]
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(f"{url}/mcp", content=forwarded.body, headers=headers)
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_token_issued_by_one_replica_is_accepted_by_another(emulator: EmulatorState) -> None:
    job_uuid = live_job(emulator)

    async with balanced(emulator, [SHARED_KEY, SHARED_KEY]) as proxy, Client(f"{proxy.url}/mcp") as client:
        asked = await client.call_tool("delete_cloud_function_job", {"job_uuid": job_uuid})
        done = await client.call_tool(
            "delete_cloud_function_job", {"job_uuid": job_uuid, "confirmation_token": token_of(asked)}
        )

    assert text(asked).startswith("Confirmation required: ")
    assert not done.is_error, text(done)
    assert emulator.jobs[job_uuid].job_status == JobStatus.DELETED
    (issued_on, _), (redeemed_on, _) = tool_calls(proxy.log)
    assert issued_on != redeemed_on


@pytest.mark.attacks
async def test_a_form_reply_sent_again_is_refused_by_the_replica_that_took_it(emulator: EmulatorState) -> None:
    function = emulator.create_function("svc")
    arguments = {"function_uuid": function.function_uuid, "variables": {"API_URL": "https://example.org"}}

    async with balanced(emulator, [SHARED_KEY]) as proxy:
        async with Client(f"{proxy.url}/mcp", elicitation_callback=accept) as client:
            done = await client.call_tool("set_cloud_function_environment", arguments)
        (reply,) = [forwarded for forwarded in proxy.log if b'"requestState"' in forwarded.body]
        again = (await resend(proxy.url, reply))["result"]
        message = json.loads(reply.body)
        message["params"]["requestState"] = message["params"]["requestState"][:-4] + "AAAA"
        forged = replace(reply, body=json.dumps(message).encode())
        forgeries = [(await resend(proxy.url, forged))["error"]["message"] for _ in range(2)]

    assert not done.is_error, text(done)
    assert again["isError"] is True
    assert again["content"][0]["text"].startswith("Not done: this reply to a confirmation form")
    assert forgeries == ["Invalid or expired requestState"] * 2
    assert actions(emulator, "/environment") == 1


@pytest.mark.attacks
async def test_with_per_request_credentials_a_form_reply_counts_only_for_the_caller_who_was_asked(
    emulator: EmulatorState,
) -> None:
    other_key, other_secret = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", "Other#Key123"
    emulator.add_api_key(other_key, other_secret, ALL_ROLES)
    function = emulator.create_function("svc")
    arguments = {"function_uuid": function.function_uuid, "variables": {"API_URL": "https://example.org"}}
    mine = {"X-Apillon-Api-Key": DEFAULT_API_KEY, "X-Apillon-Api-Secret": DEFAULT_API_SECRET}

    async with balanced(emulator, [SHARED_KEY, SHARED_KEY], per_request_credentials=True) as proxy:
        async with (
            httpx2.AsyncClient(headers=mine, timeout=30) as http,
            Client(streamable_http_client(f"{proxy.url}/mcp", http_client=http), elicitation_callback=accept) as me,
        ):
            done = await me.call_tool("set_cloud_function_environment", arguments)
        (reply,) = [forwarded for forwarded in proxy.log if b'"requestState"' in forwarded.body]
        other_replica = proxy.upstreams[1 - reply.upstream]
        theirs = [(name, value) for name, value in reply.headers if not name.lower().startswith("x-apillon-api-")]
        theirs += [("X-Apillon-Api-Key", other_key), ("X-Apillon-Api-Secret", other_secret)]
        copied = await resend(other_replica, replace(reply, headers=theirs))

    assert not done.is_error, text(done)
    assert copied["error"]["message"] == "Invalid or expired requestState"
    assert actions(emulator, "/environment") == 1


@pytest.mark.attacks
async def test_a_token_is_accepted_once_per_replica_and_only_for_what_was_confirmed(emulator: EmulatorState) -> None:
    """Two replicas can each act once on one token: the same tool, arguments and caller, while the state matches.

    The emulator clock stands still here, so the function's updateTime does not change when its environment is
    replaced: the second replica sees the state the token was issued for, as it does when two redemptions race.
    """
    job_uuid = live_job(emulator)
    function = emulator.create_function("env")
    confirmed = {"API_URL": "https://example.org"}
    replacing = {"function_uuid": function.function_uuid, "variables": confirmed}
    delete = {"job_uuid": job_uuid}

    async with balanced(emulator, [SHARED_KEY, SHARED_KEY]) as proxy:
        first, second = proxy.upstreams
        async with Client(f"{first}/mcp") as on_first, Client(f"{second}/mcp") as on_second:
            replace_token = token_of(await on_first.call_tool("set_cloud_function_environment", replacing))
            delete_token = token_of(await on_first.call_tool("delete_cloud_function_job", delete))
            replaced = [
                await replica.call_tool(
                    "set_cloud_function_environment", {**replacing, "confirmation_token": replace_token}
                )
                for replica in (on_first, on_first, on_second, on_second)
            ]
            other_values = await on_second.call_tool(
                "set_cloud_function_environment",
                {**replacing, "variables": {"API_URL": "https://evil.example"}, "confirmation_token": replace_token},
            )
            deleted = [
                await replica.call_tool("delete_cloud_function_job", {**delete, "confirmation_token": delete_token})
                for replica in (on_first, on_second)
            ]

    assert [answer.is_error for answer in replaced] == [False, True, False, True]
    assert "already used" in text(replaced[1]) and "already used" in text(replaced[3])
    assert other_values.is_error and "issued for another call" in text(other_values)
    assert actions(emulator, "/environment") == 2
    assert emulator.functions[function.function_uuid].variables == [{"key": "API_URL", "value": confirmed["API_URL"]}]
    assert [answer.is_error for answer in deleted] == [False, True]
    assert "No live job" in text(deleted[1])
    assert actions(emulator, "/jobs/") == 1
