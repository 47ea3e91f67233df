"""Many tool calls at once, in one session, across sessions, and over HTTP: all answered, the state consistent."""

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

from apillon_mcp.emulator import DEFAULT_PROJECT_UUID, EmulatorState, JobStatus

from support import HELLO_WORLD_CID, ServerFactory, data, text, token_of

pytestmark = [pytest.mark.anyio, pytest.mark.load]


async def concurrently(calls: list[Callable[[], Awaitable[CallToolResult]]]) -> list[CallToolResult]:
    answers: list[CallToolResult | None] = [None] * len(calls)

    async def run(index: int) -> None:
        answers[index] = await calls[index]()

    async with anyio.create_task_group() as group:
        for index in range(len(calls)):
            group.start_soon(run, index)
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def calling(client: Client, tool: str, arguments: dict[str, Any]) -> Callable[[], Awaitable[CallToolResult]]:
    return lambda: client.call_tool(tool, arguments)


async def test_fifty_concurrent_calls_in_one_session(mcp: Client, emulator: EmulatorState) -> None:
    emulator.set_credit_balance(DEFAULT_PROJECT_UUID, 100_000)
    function = emulator.create_function("busy")
    calls = [calling(mcp, "create_cloud_function", {"name": f"fn-{n}"}) for n in range(20)]
    calls += [
        calling(
            mcp,
            "create_cloud_function_job",
            {"function_uuid": function.function_uuid, "name": f"j{n}", "script_cid": HELLO_WORLD_CID},
        )
        for n in range(20)
    ]
    calls += [calling(mcp, "get_cloud_function", {"function_uuid": function.function_uuid}) for _ in range(5)]
    calls += [calling(mcp, "list_cloud_functions", {"limit": 100}) for _ in range(5)]

    answers = await concurrently(calls)

    assert [a.is_error for a in answers] == [False] * 50, [text(a) for a in answers if a.is_error]
    created = {data(a)["function_uuid"] for a in answers[:20]}
    assert len(created) == 20 and {f.name for f in emulator.functions.values()} >= {f"fn-{n}" for n in range(20)}
    jobs = {data(a)["job"]["job_uuid"] for a in answers[20:40]}
    assert jobs == {j.job_uuid for j in emulator.jobs.values()}
    assert emulator.credit_balance(DEFAULT_PROJECT_UUID) == 100_000 - 20 * 100


async def test_concurrent_sessions_each_get_their_own_answers(
    make_server: ServerFactory, emulator: EmulatorState
) -> None:
    server = make_server()
    results: dict[int, list[CallToolResult]] = {}

    async def session(number: int) -> None:
        async with Client(server) as client:
            calls = [calling(client, "create_cloud_function", {"name": f"s{number}-{n}"}) for n in range(10)]
            results[number] = await concurrently(calls)

    async with anyio.create_task_group() as group:
        for number in range(5):
            group.start_soon(session, number)

    for number, answers in results.items():
        assert sorted(data(a)["name"] for a in answers) == sorted(f"s{number}-{n}" for n in range(10))
    assert len(emulator.functions) == 50


async def test_concurrent_confirmed_deletions_each_act_once(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("many")
    jobs = [emulator.create_job(function.function_uuid, f"j{n}", HELLO_WORLD_CID) for n in range(10)]
    firsts = await concurrently([calling(mcp, "delete_cloud_function_job", {"job_uuid": j.job_uuid}) for j in jobs])
    tokens = [token_of(a) for a in firsts]

    answers = await concurrently(
        [
            calling(mcp, "delete_cloud_function_job", {"job_uuid": job.job_uuid, "confirmation_token": token})
            for job, token in zip(jobs, tokens, strict=True)
        ]
    )

    assert not any(a.is_error for a in answers)
    assert all(emulator.jobs[j.job_uuid].job_status == JobStatus.DELETED for j in jobs)
    assert sum(1 for method, _ in emulator.requests if method == "DELETE") == 10
