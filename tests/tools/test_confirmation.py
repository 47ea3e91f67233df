"""The guard in front of the destructive tools, for both of them: nothing happens without consent."""

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import anyio.lowlevel
import mcp.types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext

from apillon_mcp.config import Settings
from apillon_mcp.emulator import EmulatorState, JobStatus
from apillon_mcp.form_replies import OneUsePerReply
from apillon_mcp.server import build_sandbox_server

from support import ALL_ROLES, HELLO_WORLD_CID, ServerFactory, text, token_of

pytestmark = [pytest.mark.anyio, pytest.mark.attacks]


@dataclass
class Case:
    tool: str
    arguments: dict[str, Any]
    other_arguments: dict[str, Any]
    done: Callable[[], bool]


def deletion(emulator: EmulatorState) -> Case:
    function = emulator.create_function("svc")
    job = emulator.create_job(function.function_uuid, "live", HELLO_WORLD_CID)
    spare = emulator.create_job(function.function_uuid, "spare", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    return Case(
        tool="delete_cloud_function_job",
        arguments={"job_uuid": job.job_uuid},
        other_arguments={"job_uuid": spare.job_uuid},
        done=lambda: (
            emulator.jobs[job.job_uuid].job_status == JobStatus.DELETED
            or emulator.jobs[spare.job_uuid].job_status == JobStatus.DELETED
        ),
    )


def replacement(emulator: EmulatorState) -> Case:
    function = emulator.create_function("svc")
    emulator.create_job(function.function_uuid, "live", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    variables = {"API_URL": "https://example.org", "API_TOKEN": "s3cr3t-value"}
    return Case(
        tool="set_cloud_function_environment",
        arguments={"function_uuid": function.function_uuid, "variables": variables},
        other_arguments={"function_uuid": function.function_uuid, "variables": {**variables, "API_TOKEN": "other"}},
        done=lambda: emulator.functions[function.function_uuid].variables is not None,
    )


CASES = [deletion, replacement]


@pytest.fixture(params=["auto", "legacy"])
async def mcp(make_server: ServerFactory, request: pytest.FixtureRequest) -> AsyncGenerator[Client, None]:
    """A client without elicitation, on each protocol era: the token path."""
    async with Client(make_server(), mode=request.param) as client:
        yield client


@pytest.fixture(params=CASES, ids=lambda make: make.__name__)
def case(request: pytest.FixtureRequest, emulator: EmulatorState) -> Case:
    make: Callable[[EmulatorState], Case] = request.param
    return make(emulator)


async def test_first_call_changes_nothing_and_describes_the_effect_with_a_token(mcp: Client, case: Case) -> None:
    answer = await mcp.call_tool(case.tool, case.arguments)

    assert answer.is_error
    assert text(answer).startswith("Confirmation required: ")
    assert "cannot" in text(answer)
    assert token_of(answer)
    assert not case.done()


async def test_the_token_runs_the_action_once(mcp: Client, case: Case) -> None:
    token = token_of(await mcp.call_tool(case.tool, case.arguments))

    confirmed = await mcp.call_tool(case.tool, {**case.arguments, "confirmation_token": token})
    assert not confirmed.is_error, text(confirmed)
    assert case.done()


async def test_a_reused_token_is_refused(mcp: Client, emulator: EmulatorState, case: Case) -> None:
    token = token_of(await mcp.call_tool(case.tool, case.arguments))
    await mcp.call_tool(case.tool, {**case.arguments, "confirmation_token": token})
    requests_before = len(emulator.requests)

    again = await mcp.call_tool(case.tool, {**case.arguments, "confirmation_token": token})

    assert again.is_error
    assert "already used" in text(again)
    assert not any(method in ("POST", "DELETE") for method, _ in emulator.requests[requests_before:])


async def test_a_token_for_other_arguments_is_refused(mcp: Client, case: Case) -> None:
    token = token_of(await mcp.call_tool(case.tool, case.arguments))

    answer = await mcp.call_tool(case.tool, {**case.other_arguments, "confirmation_token": token})

    assert answer.is_error
    assert "issued for another call" in text(answer)
    assert not case.done()


async def test_a_token_for_the_other_tool_is_refused(mcp: Client, emulator: EmulatorState) -> None:
    deleting, replacing = deletion(emulator), replacement(emulator)
    token = token_of(await mcp.call_tool(deleting.tool, deleting.arguments))

    answer = await mcp.call_tool(replacing.tool, {**replacing.arguments, "confirmation_token": token})

    assert answer.is_error
    assert "issued for another call" in text(answer)
    assert not deleting.done() and not replacing.done()


async def test_an_expired_token_is_refused(mcp: Client, emulator: EmulatorState, case: Case) -> None:
    token = token_of(await mcp.call_tool(case.tool, case.arguments))
    emulator.clock.advance(301)

    answer = await mcp.call_tool(case.tool, {**case.arguments, "confirmation_token": token})

    assert answer.is_error
    assert "expired" in text(answer)
    assert not case.done()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t[:10] + ("x" if t[10] != "x" else "y") + t[11:],
        lambda t: t[:-4],
        lambda t: "ct1." + "A" * 60,
        lambda t: "true",
        lambda t: "",
    ],
    ids=["last-char", "payload-char", "truncated", "forged", "boolean", "empty"],
)
async def test_a_tampered_token_is_refused(mcp: Client, case: Case, tamper: Callable[[str], str]) -> None:
    token = token_of(await mcp.call_tool(case.tool, case.arguments))

    answer = await mcp.call_tool(case.tool, {**case.arguments, "confirmation_token": tamper(token)})

    assert answer.is_error
    assert "Confirmation token refused" in text(answer)
    assert not case.done()


async def test_a_token_from_another_server_is_refused(make_server: ServerFactory, case: Case) -> None:
    async with Client(make_server()) as first:
        token = token_of(await first.call_tool(case.tool, case.arguments))

    async with Client(make_server()) as second:
        answer = await second.call_tool(case.tool, {**case.arguments, "confirmation_token": token})

    assert "not a token this server issued" in text(answer)
    assert not case.done()


async def test_a_change_of_state_since_the_token_asks_again(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("svc")
    job = emulator.create_job(function.function_uuid, "pending", HELLO_WORLD_CID)
    first = await mcp.call_tool("delete_cloud_function_job", {"job_uuid": job.job_uuid})
    assert "has not started serving yet" in text(first)
    emulator.clock.advance(60)  # within the token's life the job reaches MATCHED and serves the gateway

    answer = await mcp.call_tool(
        "delete_cloud_function_job", {"job_uuid": job.job_uuid, "confirmation_token": token_of(first)}
    )

    assert answer.is_error
    assert text(answer).startswith(
        f'Confirmation required: The situation changed since that token was issued: job "pending" uuid={job.job_uuid} '
        "is now the job serving the gateway."
    )
    assert "serves the function's gateway" in text(answer)
    assert emulator.jobs[job.job_uuid].job_status == JobStatus.MATCHED
    confirmed = await mcp.call_tool(
        "delete_cloud_function_job", {"job_uuid": job.job_uuid, "confirmation_token": token_of(answer)}
    )
    assert not confirmed.is_error
    assert emulator.jobs[job.job_uuid].job_status == JobStatus.DELETED


async def test_a_bare_confirm_flag_is_not_consent(mcp: Client, case: Case) -> None:
    answer = await mcp.call_tool(case.tool, {**case.arguments, "confirm": True})

    assert text(answer).startswith("Confirmation required: ")
    assert not case.done()


Action = Literal["accept", "decline", "cancel"]
Content = dict[str, str | int | float | bool | list[str] | None]


class Answering:
    """A client's elicitation callback that gives the same answer to every form, and keeps the forms it was shown."""

    def __init__(self, action: Action, content: Content | None = None) -> None:
        self.action, self.content = action, content
        self.asked: list[types.ElicitRequestParams] = []

    async def __call__(self, context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params)
        return types.ElicitResult(action=self.action, content=self.content)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_elicitation_accept_runs_the_action(make_server: ServerFactory, case: Case, mode: str) -> None:
    callback = Answering("accept", {"confirm": True})
    async with Client(make_server(), mode=mode, elicitation_callback=callback) as client:
        answer = await client.call_tool(case.tool, case.arguments)

    assert not answer.is_error, text(answer)
    assert case.done()
    (question,) = callback.asked
    assert "cannot" in question.message
    assert "s3cr3t-value" not in question.message


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize(
    ("action", "content", "reason"),
    [
        ("decline", None, "declined"),
        ("cancel", None, "cancelled"),
        ("accept", {"confirm": False}, "did not tick"),
    ],
)
async def test_elicitation_without_a_yes_changes_nothing(
    make_server: ServerFactory, case: Case, mode: str, action: Action, content: Content | None, reason: str
) -> None:
    async with Client(make_server(), mode=mode, elicitation_callback=Answering(action, content)) as client:
        answer = await client.call_tool(case.tool, case.arguments)

    assert answer.is_error
    assert text(answer).startswith("Not done: ")
    assert reason in text(answer)
    assert "Nothing was changed" in text(answer)
    assert not case.done()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_with_elicitation_a_token_is_not_a_substitute_for_asking(
    make_server: ServerFactory, case: Case, mode: str
) -> None:
    async with Client(make_server()) as plain:
        token = token_of(await plain.call_tool(case.tool, case.arguments))

    async with Client(make_server(), mode=mode, elicitation_callback=Answering("decline")) as client:
        answer = await client.call_tool(case.tool, {**case.arguments, "confirmation_token": token})

    assert "declined" in text(answer)
    assert not case.done()


def actions(emulator: EmulatorState, case: Case) -> int:
    """How many destructive requests reached the emulator."""
    method, marker = ("DELETE", "/jobs/") if case.tool == "delete_cloud_function_job" else ("POST", "/environment")
    return sum(1 for m, path in emulator.requests if m == method and marker in path)


async def test_two_calls_racing_on_one_token_act_once(mcp: Client, emulator: EmulatorState, case: Case) -> None:
    token = token_of(await mcp.call_tool(case.tool, case.arguments))
    answers: list[types.CallToolResult] = []
    ready = 0
    go = anyio.Event()

    async def use() -> None:
        nonlocal ready
        ready += 1
        await go.wait()  # the barrier: every call is sent in the same turn of the event loop
        answers.append(await mcp.call_tool(case.tool, {**case.arguments, "confirmation_token": token}))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(use)
        while ready < 5:
            await anyio.lowlevel.checkpoint()
        go.set()

    assert sorted(answer.is_error for answer in answers) == [False, True, True, True, True]
    assert actions(emulator, case) == 1
    assert case.done()


async def never_answering(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
    """A client that shows the form and never sends the user's answer."""
    await anyio.Event().wait()
    raise AssertionError("unreachable")


async def test_a_client_that_never_answers_the_form_is_given_up_on(
    make_server: ServerFactory, emulator: EmulatorState, case: Case
) -> None:
    server = make_server(elicitation_timeout_seconds=0.2)
    async with Client(server, mode="legacy", elicitation_callback=never_answering) as client:
        answer = await client.call_tool(case.tool, case.arguments)

    assert answer.is_error
    assert "did not answer the confirmation within" in text(answer)
    assert actions(emulator, case) == 0 and not case.done()


async def test_on_the_modern_protocol_an_unanswered_form_leaves_nothing_waiting(
    make_server: ServerFactory, emulator: EmulatorState, case: Case
) -> None:
    """From 2026-07-28 on the question travels in the call's result: the server has answered, and only the client
    waits for the user. The older path, asked on this protocol, could not show the form at all."""
    questions: list[types.ElicitRequestParams] = []
    asked = anyio.Event()

    async def shows_the_form_and_never_answers(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        questions.append(params)
        asked.set()
        return await never_answering(context, params)

    async with (
        Client(make_server(), mode="auto", elicitation_callback=shows_the_form_and_never_answers) as client,
        anyio.create_task_group() as group,
    ):
        group.start_soon(client.call_tool, case.tool, case.arguments)
        with anyio.fail_after(10):
            await asked.wait()
        group.cancel_scope.cancel()

    (question,) = questions
    assert question.message.endswith("Go ahead?") and "cannot" in question.message
    assert actions(emulator, case) == 0 and not case.done()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("content", [{"confirm": "yes"}, {"confirm": 1}, None, {"other": True}])
async def test_an_accept_with_a_malformed_answer_is_not_consent(
    make_server: ServerFactory, emulator: EmulatorState, case: Case, mode: str, content: Content | None
) -> None:
    async with Client(make_server(), mode=mode, elicitation_callback=Answering("accept", content)) as client:
        answer = await client.call_tool(case.tool, case.arguments)

    assert answer.is_error
    assert actions(emulator, case) == 0 and not case.done()


async def test_a_change_while_the_form_is_open_is_not_acted_on(
    make_server: ServerFactory, emulator: EmulatorState
) -> None:
    """On the older protocol the form is answered mid-call: the user may take minutes, and a job may match."""
    function = emulator.create_function("svc")
    job = emulator.create_job(function.function_uuid, "pending", HELLO_WORLD_CID)

    async def accept_a_minute_later(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        assert "has not started serving yet" in params.message
        emulator.clock.advance(60)
        return types.ElicitResult(action="accept", content={"confirm": True})

    async with Client(make_server(), mode="legacy", elicitation_callback=accept_a_minute_later) as client:
        answer = await client.call_tool("delete_cloud_function_job", {"job_uuid": job.job_uuid})

    assert answer.is_error
    assert text(answer).startswith(
        f'Not done: the situation changed while the confirmation was open: job "pending" uuid={job.job_uuid} was '
        "still deploying, not serving yet, now the job serving the gateway."
    )
    assert emulator.jobs[job.job_uuid].job_status == JobStatus.MATCHED
    assert not any(method == "DELETE" for method, _ in emulator.requests)


async def test_a_token_from_before_a_restart_says_to_ask_again(make_server: ServerFactory, case: Case) -> None:
    async with Client(make_server()) as before_restart:
        token = token_of(await before_restart.call_tool(case.tool, case.arguments))

    async with Client(make_server()) as after_restart:
        answer = await after_restart.call_tool(case.tool, {**case.arguments, "confirmation_token": token})

    assert "this server restarted since it issued the token" in text(answer)
    assert "call " + case.tool + " again without confirmation_token" in text(answer)
    assert not case.done()


SHARED_KEY = "k" * 32
"""APILLON_MCP_CONFIRMATION_KEY of replicas that accept each other's tokens."""


async def test_a_token_is_bound_to_the_api_key_it_was_issued_to(
    make_server: ServerFactory, emulator: EmulatorState, case: Case
) -> None:
    """Two servers sharing the confirmation key, each on its own API key: a token serves only its own caller."""
    other_key, other_secret = "3c9e1b7a-5d2f-4e8a-9b6c-1f0e2d3c4b5a", "0ther#Secret7"
    emulator.add_api_key(other_key, other_secret, ALL_ROLES)
    async with Client(make_server(confirmation_key=SHARED_KEY)) as own:
        token = token_of(await own.call_tool(case.tool, case.arguments))

    async with Client(
        make_server(confirmation_key=SHARED_KEY, api_key=other_key, api_secret=other_secret)
    ) as another_caller:
        refused = await another_caller.call_tool(case.tool, {**case.arguments, "confirmation_token": token})

    assert "issued for another call" in text(refused)
    assert not case.done()
    async with Client(make_server(confirmation_key=SHARED_KEY)) as same_caller_elsewhere:
        accepted = await same_caller_elsewhere.call_tool(case.tool, {**case.arguments, "confirmation_token": token})
    assert not accepted.is_error, text(accepted)
    assert case.done()


async def test_a_token_lasts_five_minutes_to_the_second(mcp: Client, emulator: EmulatorState, case: Case) -> None:
    late = token_of(await mcp.call_tool(case.tool, case.arguments))
    in_time = token_of(await mcp.call_tool(case.tool, case.arguments))
    emulator.clock.advance(299)

    accepted = await mcp.call_tool(case.tool, {**case.arguments, "confirmation_token": in_time})
    emulator.clock.advance(1)
    expired = await mcp.call_tool(case.tool, {**case.arguments, "confirmation_token": late})

    assert not accepted.is_error, text(accepted)
    assert "expired" in text(expired)


async def test_the_same_variables_in_another_order_are_the_same_call(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("svc")
    arguments = {"function_uuid": function.function_uuid, "variables": {"A": "1", "B": "2"}}
    token = token_of(await mcp.call_tool("set_cloud_function_environment", arguments))

    reordered = {**arguments, "variables": {"B": "2", "A": "1"}, "confirmation_token": token}
    answer = await mcp.call_tool("set_cloud_function_environment", reordered)

    assert not answer.is_error, text(answer)


async def test_while_the_user_reads_the_form_progress_keeps_the_call_alive(emulator: EmulatorState, case: Case) -> None:
    """On the older protocol the form is answered mid-call: a heartbeat of progress notifications meanwhile."""
    beats: list[tuple[float, str | None]] = []
    two_beats = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        beats.append((progress, message))
        if len(beats) == 2:
            two_beats.set()

    async def accept_after_two_beats(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        with anyio.fail_after(10):
            await two_beats.wait()
        return types.ElicitResult(action="accept", content={"confirm": True})

    server = build_sandbox_server(emulator, Settings(emulator=True), heartbeat=0.001)
    async with Client(server, mode="legacy", elicitation_callback=accept_after_two_beats) as client:
        answer = await client.call_tool(case.tool, case.arguments, progress_callback=on_progress)

    assert not answer.is_error, text(answer)
    assert beats[:2] == [(1, "Waiting for the user to confirm."), (2, "Waiting for the user to confirm.")]
    assert case.done()


async def test_a_client_that_fails_to_show_the_form_changes_nothing(
    make_server: ServerFactory, emulator: EmulatorState, case: Case
) -> None:
    async def cannot_show(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ErrorData:
        return types.ErrorData(code=types.INTERNAL_ERROR, message="no window to show it in")

    async with Client(make_server(), mode="legacy", elicitation_callback=cannot_show) as client:
        answer = await client.call_tool(case.tool, case.arguments)

    assert answer.is_error
    assert text(answer).startswith("Not done: the client could not show the confirmation")
    assert actions(emulator, case) == 0 and not case.done()


async def test_a_form_reply_is_remembered_for_the_forms_lifetime_and_then_forgotten(
    make_server: ServerFactory, emulator: EmulatorState
) -> None:
    """Each reply is refused a second time while the SDK would still accept it (the form's lifetime), not longer."""
    function = emulator.create_function("svc")
    server = make_server(elicitation_timeout_seconds=120)
    (replies,) = [m for m in server.middleware if isinstance(m, OneUsePerReply)]

    async def confirm(variables: dict[str, str]) -> None:
        async with Client(server, mode="auto", elicitation_callback=Answering("accept", {"confirm": True})) as client:
            done = await client.call_tool(
                "set_cloud_function_environment", {"function_uuid": function.function_uuid, "variables": variables}
            )
        assert not done.is_error, text(done)

    await confirm({"A": "1"})
    assert replies.remembered == 1
    emulator.clock.advance(119)
    await confirm({"A": "2"})
    assert replies.remembered == 2
    emulator.clock.advance(1)
    await confirm({"A": "3"})
    assert replies.remembered == 2
