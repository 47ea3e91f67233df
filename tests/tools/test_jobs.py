from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import anyio
import anyio.lowlevel
import mcp.types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext

from apillon_mcp.apillon import Job
from apillon_mcp.apillon import JobStatus as ApiJobStatus
from apillon_mcp.config import Settings
from apillon_mcp.emulator import (
    DEFAULT_PROJECT_UUID,
    EmulatorState,
    JobStatus,
    LifecycleDelays,
    ManualClock,
    Role,
    Service,
)
from apillon_mcp.emulator.faults import Fault
from apillon_mcp.server import build_sandbox_server
from apillon_mcp.tools.waiting import Waited

from support import HELLO_WORLD_CID, ServerFactory, Waits, add_key_without, data, text, token_of

pytestmark = pytest.mark.anyio

CID_V1 = "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby"


async def test_create_job_reports_the_credits_it_spent_and_the_balance_after(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID, "slots": 2},
    )

    created = data(answer)
    job = created["job"]
    assert (job["name"], job["status"], job["slots"], job["script_cid"]) == ("v1", "DEPLOYING", 2, HELLO_WORLD_CID)
    assert emulator.jobs[job["job_uuid"]].function_uuid == function.function_uuid
    assert (created["credits_spent"], created["credit_balance"]) == (100, 900)
    assert emulator.credit_balance(DEFAULT_PROJECT_UUID) == 900
    summary = text(answer)
    assert f'Created job "v1" uuid={job["job_uuid"]}' in summary
    assert "Spent 100 credits; balance now 900." in summary
    assert "MATCHED" in summary and "get_cloud_function" in summary
    assert not summary.endswith("\n")  # no line about a job it takes over from: none served


async def test_a_cid_v1_is_stored_as_cid_v0(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")

    answer = await mcp.call_tool(
        "create_cloud_function_job", {"function_uuid": function.function_uuid, "name": "v1", "script_cid": CID_V1}
    )

    assert data(answer)["job"]["script_cid"] == HELLO_WORLD_CID


async def test_too_few_credits_is_explained_and_nothing_is_created(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")
    emulator.set_credit_balance(DEFAULT_PROJECT_UUID, 99)

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID},
    )

    assert answer.is_error
    assert "Refused before anything was created or charged: too few credits: the project has 99" in text(answer)
    assert "a job costs 100" in text(answer)
    assert "offline sandbox" in text(answer) and "apillon-mcp sandbox top-up 1000" in text(answer)
    assert not any(method == "POST" for method, _ in emulator.requests)
    assert emulator.jobs == {}
    assert emulator.credit_balance(DEFAULT_PROJECT_UUID) == 99


@pytest.mark.parametrize(
    "arguments",
    [
        {"name": "v1", "script_cid": "not-a-cid"},
        {"name": "v1", "script_cid": "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"},
        {"name": "v1", "script_cid": HELLO_WORLD_CID, "slots": 11},
        {"name": "v1", "script_cid": HELLO_WORLD_CID, "slots": -1},
        {"name": "", "script_cid": HELLO_WORLD_CID},
        {"name": "n" * 256, "script_cid": HELLO_WORLD_CID},
        {"script_cid": HELLO_WORLD_CID},
    ],
)
async def test_bad_job_arguments_are_refused_before_any_request(
    mcp: Client, emulator: EmulatorState, arguments: dict[str, object]
) -> None:
    function = emulator.create_function("fn")

    answer = await mcp.call_tool("create_cloud_function_job", {"function_uuid": function.function_uuid, **arguments})

    assert answer.is_error
    assert emulator.requests == []


async def test_create_job_on_an_unknown_function_spends_nothing(mcp: Client, emulator: EmulatorState) -> None:
    answer = await mcp.call_tool(
        "create_cloud_function_job", {"function_uuid": str(uuid4()), "name": "v1", "script_cid": HELLO_WORLD_CID}
    )

    assert answer.is_error
    assert "CLOUD_FUNCTION_NOT_FOUND" in text(answer)
    assert emulator.credit_balance(DEFAULT_PROJECT_UUID) == 1000


async def test_create_job_without_write_permission_names_the_permission(
    make_server: ServerFactory, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    key, secret = add_key_without(emulator, (Role.WRITE, Service.COMPUTING))

    async with Client(make_server(api_key=key, api_secret=secret)) as client:
        answer = await client.call_tool(
            "create_cloud_function_job",
            {"function_uuid": function.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID},
        )

    assert "lacks the Write permission for Computing (KEY_WRITE)" in text(answer)
    assert emulator.jobs == {}


async def test_deleting_a_deploying_job_says_it_cancels_the_deployment(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")
    job = emulator.create_job(function.function_uuid, "new", HELLO_WORLD_CID)

    first = await mcp.call_tool("delete_cloud_function_job", {"job_uuid": job.job_uuid})

    assert "has not started serving yet" in text(first)
    assert "credits spent on the job are not refunded" in text(first)


async def test_deleting_the_serving_job_warns_that_the_gateway_stops(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")
    job = emulator.create_job(function.function_uuid, "live", HELLO_WORLD_CID)
    emulator.clock.advance(3600)

    first = await mcp.call_tool("delete_cloud_function_job", {"job_uuid": job.job_uuid})
    token = token_of(first)
    deleted = await mcp.call_tool("delete_cloud_function_job", {"job_uuid": job.job_uuid, "confirmation_token": token})

    assert "serves the function's gateway" in text(first)
    (gone,) = data(deleted)["deleted"]
    assert gone["served_gateway"] is True
    assert gone["status"] == "DELETED"
    assert "stops answering" in text(deleted)
    assert emulator.jobs[job.job_uuid].job_status == JobStatus.DELETED
    assert emulator.functions[function.function_uuid].active_job_id == emulator.jobs[job.job_uuid].id


async def test_deleting_an_inactive_job_says_it_serves_nothing(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")
    old = emulator.create_job(function.function_uuid, "old", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    emulator.create_job(function.function_uuid, "new", HELLO_WORLD_CID)
    emulator.clock.advance(3600)

    first = await mcp.call_tool("delete_cloud_function_job", {"job_uuid": old.job_uuid})

    assert "It is INACTIVE" in text(first)


async def test_deleting_an_unknown_job_is_refused_without_a_token(mcp: Client, emulator: EmulatorState) -> None:
    emulator.create_function("fn")

    answer = await mcp.call_tool("delete_cloud_function_job", {"job_uuid": str(uuid4())})

    assert answer.is_error
    assert "No live job with uuid" in text(answer)
    assert "confirmation_token" not in text(answer)
    assert not any(method == "DELETE" for method, _ in emulator.requests)


async def test_a_job_of_an_older_function_is_found_for_deletion(mcp: Client, emulator: EmulatorState) -> None:
    target = emulator.create_function("first")
    job = emulator.create_job(target.function_uuid, "deep", HELLO_WORLD_CID)
    for n in range(150):
        emulator.create_function(f"later-{n}")

    first = await mcp.call_tool("delete_cloud_function_job", {"job_uuid": job.job_uuid})

    assert text(first).startswith("Confirmation required: ")
    assert '"deep"' in text(first)


def jobs_of(emulator: EmulatorState, count: int) -> tuple[str, list[str], str]:
    """A function with `count` INACTIVE jobs and one serving job: (function uuid, the old jobs, the serving one)."""
    function = emulator.create_function("busy")
    old = []
    for n in range(count):
        old.append(emulator.create_job(function.function_uuid, f"old-{n}", HELLO_WORLD_CID).job_uuid)
        emulator.clock.advance(60)
    serving = emulator.create_job(function.function_uuid, "live", HELLO_WORLD_CID).job_uuid
    emulator.clock.advance(60)
    return function.function_uuid, old, serving


def deletions(emulator: EmulatorState) -> int:
    return sum(1 for method, _ in emulator.requests if method == "DELETE")


async def test_removing_five_old_jobs_takes_two_calls_and_one_confirmation(
    mcp: Client, emulator: EmulatorState
) -> None:
    _, old, serving = jobs_of(emulator, 5)

    first = await mcp.call_tool("delete_cloud_function_job", {"job_uuids": old})
    token = token_of(first)
    done = await mcp.call_tool("delete_cloud_function_job", {"job_uuids": old, "confirmation_token": token})

    assert text(first).startswith("Confirmation required: Delete these 5 jobs:")
    assert all(f"uuid={uuid} (INACTIVE)" in text(first) for uuid in old)
    assert "credits spent on the jobs are not refunded" in text(first)
    assert [job["job_uuid"] for job in data(done)["deleted"]] == old
    assert data(done)["not_deleted"] == []
    assert all(job["served_gateway"] is False for job in data(done)["deleted"])
    assert text(done).startswith("Deleted 5 jobs; status DELETED:")
    assert all(emulator.jobs[uuid].job_status == JobStatus.DELETED for uuid in old)
    assert emulator.jobs[serving].job_status == JobStatus.MATCHED
    assert deletions(emulator) == 5


async def test_one_form_confirms_several_jobs(make_server: ServerFactory, emulator: EmulatorState) -> None:
    _, old, _ = jobs_of(emulator, 3)
    asked: list[str] = []

    async def accept(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})

    async with Client(make_server(), elicitation_callback=accept) as client:
        done = await client.call_tool("delete_cloud_function_job", {"job_uuids": old})

    assert len(asked) == 1 and all(uuid in asked[0] for uuid in old)
    assert len(data(done)["deleted"]) == 3


async def test_a_failure_midway_says_which_jobs_were_deleted_and_which_not(
    mcp: Client, emulator: EmulatorState
) -> None:
    _, old, _ = jobs_of(emulator, 4)
    first = await mcp.call_tool("delete_cloud_function_job", {"job_uuids": old})
    token = token_of(first)
    emulator.faults.append(Fault(path=f"/cloud-functions/jobs/{old[2]}", method="DELETE", status=503))

    done = await mcp.call_tool("delete_cloud_function_job", {"job_uuids": old, "confirmation_token": token})

    assert not done.is_error
    assert [job["job_uuid"] for job in data(done)["deleted"]] == old[:2]
    assert [item["job_uuid"] for item in data(done)["not_deleted"]] == old[2:]
    assert "NOT deleted, 2 jobs:" in text(done) and "HTTP 503" in text(done)
    assert [emulator.jobs[uuid].job_status for uuid in old] == [
        JobStatus.DELETED,
        JobStatus.DELETED,
        JobStatus.INACTIVE,
        JobStatus.INACTIVE,
    ]


@pytest.mark.parametrize(
    "arguments", [{}, {"job_uuid": str(uuid4()), "job_uuids": [str(uuid4())]}], ids=["neither", "both"]
)
async def test_delete_needs_exactly_one_way_to_name_jobs(
    mcp: Client, emulator: EmulatorState, arguments: dict[str, Any]
) -> None:
    answer = await mcp.call_tool("delete_cloud_function_job", arguments)

    assert answer.is_error
    assert "exactly one of job_uuid" in text(answer)
    assert emulator.requests == []


async def test_a_balance_that_cannot_be_read_does_not_stop_a_job_and_is_said(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    emulator.faults.append(Fault(path="/project/credit", method="GET", status=503, times=8))

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID},
    )

    created = data(answer)
    assert created["job"]["name"] == "v1"
    assert created["credits_spent"] is None and created["credit_balance"] is None
    assert "Job creation spends credits (the balance could not be read)." in text(answer)
    assert len(emulator.jobs) == 1


async def test_one_job_is_described_by_name_status_and_function(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")
    job = emulator.create_job(function.function_uuid, "new", HELLO_WORLD_CID)

    first = await mcp.call_tool("delete_cloud_function_job", {"job_uuids": [job.job_uuid]})

    assert text(first).startswith(
        f'Confirmation required: Delete job "new" (uuid={job.job_uuid}, DEPLOYING) of cloud function "fn" '
        f"(uuid={function.function_uuid}). It has not started serving yet; deleting it cancels its deployment. This "
        "cannot be undone, and the credits spent on the job are not refunded.\n"
    )


async def test_several_jobs_are_listed_one_per_line_before_what_cannot_be_undone(
    mcp: Client, emulator: EmulatorState
) -> None:
    _, old, _ = jobs_of(emulator, 2)

    first = await mcp.call_tool("delete_cloud_function_job", {"job_uuids": old})

    lines = text(first).splitlines()
    assert lines[0] == "Confirmation required: Delete these 2 jobs:"
    assert lines[1].startswith(f'- job "old-0" uuid={old[0]} (INACTIVE) of function "busy": It is INACTIVE')
    assert lines[2].startswith(f'- job "old-1" uuid={old[1]} (INACTIVE)')
    assert lines[3] == "This cannot be undone, and the credits spent on the jobs are not refunded."


async def test_a_serving_job_that_went_inactive_since_the_token_is_described_again(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    job = emulator.create_job(function.function_uuid, "v1", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    token = token_of(await mcp.call_tool("delete_cloud_function_job", {"job_uuid": job.job_uuid}))
    emulator.create_job(function.function_uuid, "v2", HELLO_WORLD_CID)
    emulator.clock.advance(120)  # v2 reaches MATCHED within the token's life; v1 goes INACTIVE

    answer = await mcp.call_tool("delete_cloud_function_job", {"job_uuid": job.job_uuid, "confirmation_token": token})

    assert text(answer).startswith(
        "Confirmation required: The situation changed since that token was issued: "
        f'job "v1" uuid={job.job_uuid} is now INACTIVE, serving nothing.'
    )
    assert emulator.jobs[job.job_uuid].job_status == JobStatus.INACTIVE


async def test_when_the_first_deletion_fails_the_error_is_the_answer_and_nothing_is_deleted(
    mcp: Client, emulator: EmulatorState
) -> None:
    _, old, _ = jobs_of(emulator, 2)
    token = token_of(await mcp.call_tool("delete_cloud_function_job", {"job_uuids": old}))
    emulator.faults.append(Fault(path=f"/cloud-functions/jobs/{old[0]}", method="DELETE", status=503))

    answer = await mcp.call_tool("delete_cloud_function_job", {"job_uuids": old, "confirmation_token": token})

    assert answer.is_error
    assert "HTTP 503" in text(answer)
    assert [emulator.jobs[uuid].job_status for uuid in old] == [JobStatus.INACTIVE, JobStatus.INACTIVE]


async def test_a_later_deletion_with_an_unknown_outcome_says_how_to_check(mcp: Client, emulator: EmulatorState) -> None:
    _, old, _ = jobs_of(emulator, 2)
    token = token_of(await mcp.call_tool("delete_cloud_function_job", {"job_uuids": old}))
    emulator.faults.append(Fault(path=f"/cloud-functions/jobs/{old[1]}", method="DELETE", kind="reset"))

    done = await mcp.call_tool("delete_cloud_function_job", {"job_uuids": old, "confirmation_token": token})

    (lost,) = data(done)["not_deleted"]
    assert lost["job_uuid"] == old[1]
    assert "Check get_cloud_function: a job no longer listed was deleted" in lost["reason"]
    assert f'- "old-0" uuid={old[0]} of function uuid=' in text(done)


async def test_a_new_job_on_a_serving_function_says_which_job_it_replaces(mcp: Client, emulator: EmulatorState) -> None:
    waited_on, queued_on = emulator.create_function("waited"), emulator.create_function("queued")
    live = {
        function.function_uuid: emulator.create_job(function.function_uuid, "v1", HELLO_WORLD_CID)
        for function in (waited_on, queued_on)
    }
    emulator.clock.advance(3600)

    queued = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": queued_on.function_uuid, "name": "v2", "script_cid": HELLO_WORLD_CID},
    )
    waited = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": waited_on.function_uuid, "name": "v2", "script_cid": HELLO_WORLD_CID, "wait": True},
    )

    before = live[queued_on.function_uuid].job_uuid
    assert f'Until it reaches MATCHED, job "v1" uuid={before} (CID {HELLO_WORLD_CID}) keeps serving' in text(queued)
    assert data(queued)["job"]["serves_gateway"] is False
    assert data(waited)["outcome"] == "matched"
    assert data(waited)["job"]["serves_gateway"] is True
    assert f'It took over the gateway from job "v1" uuid={live[waited_on.function_uuid].job_uuid}' in text(waited)


async def test_a_balance_of_exactly_one_job_pays_for_it(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")
    emulator.set_credit_balance(DEFAULT_PROJECT_UUID, 100)

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID},
    )

    assert data(answer)["credit_balance"] == 0 and data(answer)["credits_spent"] == 100


async def test_a_balance_read_only_after_the_job_is_shown_without_a_spent_figure(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    emulator.faults.append(Fault(path="/project/credit", method="GET", status=503, times=4))

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID},
    )

    assert data(answer)["credits_spent"] is None and data(answer)["credit_balance"] == 900
    assert "Job creation spends credits; balance now 900." in text(answer)


INTERNAL = {"code": 500001, "message": "Error calling internal service!", "path": "/", "timestamp": "t"}


@pytest.mark.parametrize(
    ("balance", "readable", "said"),
    [
        (100, True, "The balance is 100 credits, enough for a job, so Apillon most likely could not convert"),
        (99, True, "too few credits: the project has 99 and a job costs 100"),
        (1000, False, "Nothing was created or charged. Apillon most likely could not convert"),
    ],
    ids=["exactly-enough", "one-short", "unreadable"],
)
async def test_a_job_apillon_refuses_with_500001_is_explained_by_the_balance_read_again(
    mcp: Client, emulator: EmulatorState, balance: int, readable: bool, said: str
) -> None:
    function = emulator.create_function("fn")
    emulator.set_credit_balance(DEFAULT_PROJECT_UUID, balance)
    # The check before creating cannot read the balance (else it would refuse a short one itself).
    emulator.faults.append(Fault(path="/project/credit", method="GET", status=503, times=4 if readable else 8))
    emulator.faults.append(
        Fault(path=f"/cloud-functions/{function.function_uuid}/jobs", method="POST", status=500, body=INTERNAL)
    )

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID},
    )

    assert answer.is_error
    assert said in text(answer)


async def test_a_job_that_certainly_failed_does_not_count_against_the_spending_cap(
    make_server: ServerFactory, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    emulator.faults.append(
        Fault(path=f"/cloud-functions/{function.function_uuid}/jobs", method="POST", status=422, times=1)
    )
    arguments = {"function_uuid": function.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID}
    async with Client(make_server(spending_cap_credits=100)) as client:
        failed = await client.call_tool("create_cloud_function_job", arguments)
        created = await client.call_tool("create_cloud_function_job", arguments)

    assert failed.is_error
    assert data(created)["job"]["name"] == "v1"


async def test_a_job_whose_creation_may_have_happened_counts_against_the_spending_cap(
    make_server: ServerFactory, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    emulator.faults.append(Fault(path=f"/cloud-functions/{function.function_uuid}/jobs", method="POST", kind="reset"))
    arguments = {"function_uuid": function.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID}
    async with Client(make_server(spending_cap_credits=100)) as client:
        unknown = await client.call_tool("create_cloud_function_job", arguments)
        refused = await client.call_tool("create_cloud_function_job", arguments)

    assert "Outcome unknown" in text(unknown)
    assert refused.is_error and "spending cap is 100 credits" in text(refused)


async def test_two_jobs_racing_for_the_last_credits_under_the_cap_create_one(
    make_server: ServerFactory, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    answers: list[types.CallToolResult] = []
    go = anyio.Event()
    async with Client(make_server(spending_cap_credits=100)) as client:

        async def create(name: str) -> None:
            await go.wait()
            arguments = {"function_uuid": function.function_uuid, "name": name, "script_cid": HELLO_WORLD_CID}
            answers.append(await client.call_tool("create_cloud_function_job", arguments))

        async with anyio.create_task_group() as group:
            group.start_soon(create, "a")
            group.start_soon(create, "b")
            await anyio.lowlevel.checkpoint()
            go.set()

    assert sorted(answer.is_error for answer in answers) == [False, True]
    assert len(emulator.jobs) == 1
    assert any("Refused before anything was created or charged" in text(a) for a in answers if a.is_error)


async def test_deleting_jobs_of_two_functions_says_which_served_each_gateway(
    mcp: Client, emulator: EmulatorState
) -> None:
    first_uuid, first_old, first_serving = jobs_of(emulator, 1)
    _, second_old, _ = jobs_of(emulator, 1)
    targets = [first_serving, first_old[0], second_old[0]]
    token = token_of(await mcp.call_tool("delete_cloud_function_job", {"job_uuids": targets}))

    done = await mcp.call_tool("delete_cloud_function_job", {"job_uuids": targets, "confirmation_token": token})

    served = {job["job_uuid"]: job["served_gateway"] for job in data(done)["deleted"]}
    assert served == {first_serving: True, first_old[0]: False, second_old[0]: False}
    assert f"A deleted job served the gateway of function uuid={first_uuid}" in text(done)
    assert "NOT deleted" not in text(done)


async def test_the_rollback_of_a_job_with_a_255_character_name_keeps_within_the_limit(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    emulator.create_job(function.function_uuid, "x" * 255, HELLO_WORLD_CID)
    emulator.clock.advance(3600)

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function.function_uuid, "name": "v2", "script_cid": HELLO_WORLD_CID},
    )

    rollback = data(answer)["replaces"]["rollback"]
    assert f'name="{"x" * 244} (rollback)"' in rollback


async def test_a_new_job_of_an_old_function_among_hundreds_is_waited_for_until_it_serves(
    mcp: Client, emulator: EmulatorState
) -> None:
    """The wait finds the job again by the function it was created on, not by scanning the newest functions."""
    oldest = emulator.create_function("oldest")
    for n in range(220):
        emulator.create_function(f"later-{n}")

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": oldest.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID, "wait": True},
    )

    assert data(answer)["outcome"] == "matched"


async def test_a_job_superseded_while_it_deploys_says_so_and_takes_over_nothing(
    mcp: Client, emulator: EmulatorState
) -> None:
    """On Apillon the last job to match serves: an earlier pending job that matches first makes this one INACTIVE."""
    function = emulator.create_function("fn")
    serving = emulator.create_job(function.function_uuid, "v1", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    emulator.create_job(function.function_uuid, "v2", HELLO_WORLD_CID)
    emulator.clock.advance(1)

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function.function_uuid, "name": "v3", "script_cid": HELLO_WORLD_CID, "wait": True},
    )

    assert data(answer)["outcome"] == "superseded"
    assert data(answer)["replaces"]["job_uuid"] == serving.job_uuid
    assert "another job of the function reached MATCHED after it" in text(answer)
    assert "INACTIVE 29 s after the job was created" in text(answer)
    assert "keeps serving" not in text(answer) and "took over" not in text(answer)


async def test_waiting_reports_progress_that_increases_and_survives_a_failed_poll(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    reports: list[tuple[float, str | None]] = []

    async def heard(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, message))
        if len(reports) == 1:  # the next poll fails, all of its tries
            emulator.faults.append(Fault(path=f"/cloud-functions/{function.function_uuid}", status=503, times=4))

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID, "wait": True},
        progress_callback=heard,
    )

    assert data(answer)["outcome"] == "matched"
    assert [done for done, _ in reports] == list(range(1, len(reports) + 1))
    assert reports[0][1] == "Job DEPLOYING after 0 s; waiting for MATCHED."
    assert emulator.faults == []


@pytest.mark.parametrize(
    ("match_seconds", "outcome", "sleeps", "sentence"),
    [
        (90, "matched", [5.0] * 12 + [20.0] * 2, "MATCHED 100 s after the job was created."),
        (1000, "waiting", [5.0] * 12 + [20.0] * 9, "Still DEPLOYED when the wait ended after 240 s."),
    ],
    ids=["matched-after-the-first-minute", "never-within-the-wait"],
)
async def test_a_wait_polls_every_5_s_for_a_minute_then_every_20_s_until_its_end(
    match_seconds: float, outcome: str, sleeps: list[float], sentence: str
) -> None:
    emulator = EmulatorState(clock=ManualClock(), delays=LifecycleDelays(match_seconds=match_seconds))
    waits = Waits(emulator)
    function = emulator.create_function("slow to match")

    async with Client(build_sandbox_server(emulator, sleep=waits)) as client:
        answer = await client.call_tool(
            "create_cloud_function_job",
            {"function_uuid": function.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID, "wait": True},
        )

    assert data(answer)["outcome"] == outcome
    assert waits.seconds == sleeps
    assert sentence in text(answer)


def test_a_wait_without_the_jobs_times_names_no_time() -> None:
    """Apillon's job rows carry createTime and updateTime; without them the sentence claims no duration."""
    job = Job(
        id=1,
        job_uuid=str(uuid4()),
        function_uuid=str(uuid4()),
        name="v1",
        script_cid=HELLO_WORLD_CID,
        slots=1,
        job_status=ApiJobStatus.MATCHED,
        create_time=datetime(2026, 1, 1, tzinfo=UTC),
    )

    updated_only = job.model_copy(update={"create_time": None, "update_time": datetime(2026, 1, 1, tzinfo=UTC)})

    assert Waited(job, "matched", 30).sentence() == "MATCHED."
    assert Waited(updated_only, "matched", 30).sentence() == "MATCHED."
    assert Waited(job.model_copy(update={"job_status": ApiJobStatus.INACTIVE}), "superseded", 30).sentence() == (
        "INACTIVE: another job of the function reached MATCHED after it."
    )


async def test_a_job_that_passed_the_cap_check_is_refused_when_another_took_the_last_credits_meanwhile(
    emulator: EmulatorState,
) -> None:
    """The cap is checked before the balance is read and held only at the create: the hold is what decides."""
    function = emulator.create_function("fn")
    first_waits, released = anyio.Event(), anyio.Event()

    async def held(seconds: float) -> None:  # the first call's retry of its balance read waits for the second call
        first_waits.set()
        await released.wait()

    emulator.faults.append(Fault(path="/project/credit", method="GET", status=503, times=1))
    server = build_sandbox_server(emulator, Settings(emulator=True, spending_cap_credits=100), sleep=held)
    answers: dict[str, types.CallToolResult] = {}
    async with Client(server) as client:

        async def create(name: str) -> None:
            arguments = {"function_uuid": function.function_uuid, "name": name, "script_cid": HELLO_WORLD_CID}
            answers[name] = await client.call_tool("create_cloud_function_job", arguments)

        async with anyio.create_task_group() as group:
            group.start_soon(create, "first")
            with anyio.fail_after(10):
                await first_waits.wait()
            await create("second")
            released.set()

    assert not answers["second"].is_error, text(answers["second"])
    assert answers["first"].is_error
    assert text(answers["first"]).startswith(
        "Error executing tool create_cloud_function_job: Refused before anything was created or charged: this "
        "server's spending cap is 100 credits"
    )
    assert [job.name for job in emulator.jobs.values()] == ["second"]
