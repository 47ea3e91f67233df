"""Tools under injected faults: reads recover, writes report an unknown outcome with the way to check, never twice."""

import pytest
from mcp import Client

from apillon_mcp.emulator import DEFAULT_PROJECT_UUID, EmulatorState, JobStatus
from apillon_mcp.emulator.faults import Fault

from scripts import ECHO
from support import HELLO_WORLD_CID, ServerFactory, Waits, data, text, token_of

pytestmark = [pytest.mark.anyio, pytest.mark.faults]


async def test_a_read_recovers_from_passing_gateway_errors(mcp: Client, emulator: EmulatorState, waits: Waits) -> None:
    function = emulator.create_function("fn")
    emulator.faults.append(Fault(path=f"/cloud-functions/{function.function_uuid}", status=502, times=2))

    answer = await mcp.call_tool("get_cloud_function", {"function_uuid": function.function_uuid})

    assert data(answer)["name"] == "fn"
    assert len(waits.seconds) == 2


async def test_a_read_that_keeps_failing_gives_a_clear_error(mcp: Client, emulator: EmulatorState) -> None:
    emulator.faults.append(Fault(path="/cloud-functions", status=502, body="<html>Bad Gateway</html>", times=10))

    answer = await mcp.call_tool("list_cloud_functions", {})

    assert answer.is_error
    assert "could not be read" in text(answer) and "HTTP 502" in text(answer)
    assert "Traceback" not in text(answer)


async def test_create_function_with_a_lost_answer_says_how_to_check_and_makes_one(
    mcp: Client, emulator: EmulatorState
) -> None:
    emulator.faults.append(Fault(path="/cloud-functions", method="POST", kind="reset"))

    answer = await mcp.call_tool("create_cloud_function", {"name": "lost answer"})
    check = await mcp.call_tool("list_cloud_functions", {"search": "lost answer"})

    assert answer.is_error
    assert "Outcome unknown" in text(answer) and "It was not retried" in text(answer)
    assert "list_cloud_functions(search=<the name>)" in text(answer)
    assert data(check)["total"] == 1
    assert len(emulator.functions) == 1


async def test_create_job_with_a_timed_out_answer_charges_once_and_says_how_to_check(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    emulator.faults.append(Fault(path=f"/cloud-functions/{function.function_uuid}/jobs", method="POST", kind="reset"))

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function.function_uuid, "name": "v1", "script_cid": HELLO_WORLD_CID},
    )

    assert "Outcome unknown" in text(answer)
    assert "would spend credits again" in text(answer)
    assert len(emulator.jobs) == 1
    assert emulator.credit_balance(DEFAULT_PROJECT_UUID) == 900


async def test_a_gateway_error_in_front_of_a_write_is_an_unknown_outcome(mcp: Client, emulator: EmulatorState) -> None:
    emulator.faults.append(
        Fault(path="/cloud-functions", method="POST", status=504, body="<html>Gateway Timeout</html>")
    )

    answer = await mcp.call_tool("create_cloud_function", {"name": "x"})

    assert "Outcome unknown" in text(answer)


async def test_delete_with_a_lost_answer_deletes_once(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")
    job = emulator.create_job(function.function_uuid, "v1", HELLO_WORLD_CID)
    first = text(await mcp.call_tool("delete_cloud_function_job", {"job_uuid": job.job_uuid}))
    emulator.faults.append(Fault(path=f"/cloud-functions/jobs/{job.job_uuid}", method="DELETE", kind="reset"))

    answer = await mcp.call_tool(
        "delete_cloud_function_job", {"job_uuid": job.job_uuid, "confirmation_token": token_of(first)}
    )

    assert "Outcome unknown" in text(answer) and "Deleting it again is harmless" in text(answer)
    assert emulator.jobs[job.job_uuid].job_status == JobStatus.DELETED
    assert sum(1 for method, _ in emulator.requests if method == "DELETE") == 1


async def test_set_environment_with_a_lost_answer_says_repeating_is_safe(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")
    arguments = {"function_uuid": function.function_uuid, "variables": {"A": "1"}}
    first = text(await mcp.call_tool("set_cloud_function_environment", arguments))
    path = f"/cloud-functions/{function.function_uuid}/environment"
    emulator.faults.append(Fault(path=path, method="POST", kind="truncate"))

    answer = await mcp.call_tool("set_cloud_function_environment", {**arguments, "confirmation_token": token_of(first)})

    assert "Outcome unknown" in text(answer) and "Setting the same variables again is safe" in text(answer)
    assert emulator.functions[function.function_uuid].variables == [{"key": "A", "value": "1"}]


async def test_deploy_with_a_lost_job_answer_does_not_offer_to_create_it_blindly(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    emulator.faults.append(Fault(path=f"/cloud-functions/{function.function_uuid}/jobs", method="POST", kind="reset"))

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO},
    )

    message = text(answer)
    assert "Deploy stopped at step 'create the job'" in message and "Outcome unknown" in message
    assert message.index("Look for a job with this name") < message.index("If there is none")
    assert len(emulator.jobs) == 1


async def test_the_server_still_answers_after_every_fault(make_server: ServerFactory, emulator: EmulatorState) -> None:
    for kind in ("reset", "truncate"):
        emulator.faults.append(Fault(path="/cloud-functions", method="POST", kind=kind))
    emulator.faults.append(Fault(path="/cloud-functions", method="POST", status=500, body="not json"))
    async with Client(make_server()) as client:
        for n in range(3):
            assert (await client.call_tool("create_cloud_function", {"name": f"f{n}"})).is_error
        healthy = await client.call_tool("create_cloud_function", {"name": "after"})

    assert data(healthy)["name"] == "after"
