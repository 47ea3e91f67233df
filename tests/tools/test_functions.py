from uuid import uuid4

import pytest
from mcp import Client

from apillon_mcp.emulator import EmulatorState, Role, Service

from support import HELLO_WORLD_CID, ServerFactory, add_key_without, data, text

pytestmark = pytest.mark.anyio


async def test_create_cloud_function_returns_its_uuid_gateway_and_next_step(
    mcp: Client, emulator: EmulatorState
) -> None:
    answer = await mcp.call_tool("create_cloud_function", {"name": "Price feed", "description": "ETH price"})

    created = data(answer)
    stored = emulator.functions[created["function_uuid"]]
    assert (stored.name, stored.description) == ("Price feed", "ETH price")
    assert created["gateway_url"] == f"http://sandbox.invalid/gateway/{created['function_uuid']}"
    assert created["bucket_uuid"] == stored.bucket_uuid
    summary = text(answer)
    assert f'Created cloud function "Price feed" uuid={created["function_uuid"]}' in summary
    assert "deploy_cloud_function_script" in summary


async def test_create_cloud_function_refuses_bad_names_before_calling_apillon(
    mcp: Client, emulator: EmulatorState
) -> None:
    for arguments in ({"name": ""}, {"name": "x" * 256}, {"name": "ok", "description": ""}, {}):
        answer = await mcp.call_tool("create_cloud_function", arguments)
        assert answer.is_error, arguments
    assert emulator.requests == []
    assert emulator.functions == {}


async def test_list_cloud_functions_pages_and_says_how_to_get_the_next_page(
    mcp: Client, emulator: EmulatorState
) -> None:
    for n in range(5):
        emulator.create_function(f"fn-{n}")

    first = await mcp.call_tool("list_cloud_functions", {"limit": 2})
    last = await mcp.call_tool("list_cloud_functions", {"limit": 2, "page": 3})

    assert [f["name"] for f in data(first)["functions"]] == ["fn-0", "fn-1"]
    assert (data(first)["total"], data(first)["next_page"]) == (5, 2)
    assert "5 cloud functions; showing 1-2" in text(first)
    assert "call again with page=2" in text(first)
    assert [f["name"] for f in data(last)["functions"]] == ["fn-4"]
    assert data(last)["next_page"] is None
    assert "page=" not in text(last)


async def test_list_cloud_functions_searches_by_name(mcp: Client, emulator: EmulatorState) -> None:
    emulator.create_function("weather")
    emulator.create_function("prices")

    answer = await mcp.call_tool("list_cloud_functions", {"search": "pri"})

    assert [f["name"] for f in data(answer)["functions"]] == ["prices"]
    assert 'matching "pri"' in text(answer)


async def test_list_of_an_empty_project_suggests_creating_a_function(mcp: Client) -> None:
    answer = await mcp.call_tool("list_cloud_functions", {})

    assert data(answer) == {"functions": [], "total": 0, "page": 1, "limit": 20, "next_page": None}
    assert "create_cloud_function" in text(answer)


async def test_get_cloud_function_without_jobs_says_the_gateway_does_not_answer_yet(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("empty")

    answer = await mcp.call_tool("get_cloud_function", {"function_uuid": function.function_uuid})

    details = data(answer)
    assert (details["gateway_status"], details["active_job_uuid"], details["jobs"]) == ("no_job_matched_yet", None, [])
    assert "500 JOB_NOT_DEPLOYED" in text(answer)
    assert "deploy_cloud_function_script" in text(answer)


async def test_get_cloud_function_names_the_job_that_serves_the_gateway(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("served")
    old = emulator.create_job(function.function_uuid, "v1", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    new = emulator.create_job(function.function_uuid, "v2", HELLO_WORLD_CID)

    deploying = data(await mcp.call_tool("get_cloud_function", {"function_uuid": function.function_uuid}))
    emulator.clock.advance(3600)
    answer = await mcp.call_tool("get_cloud_function", {"function_uuid": function.function_uuid})

    assert deploying["active_job_uuid"] == old.job_uuid
    assert {j["name"]: j["status"] for j in deploying["jobs"]} == {"v1": "MATCHED", "v2": "DEPLOYING"}
    details = data(answer)
    assert details["gateway_status"] == "serving"
    assert details["active_job_uuid"] == new.job_uuid
    assert {j["name"]: (j["status"], j["serves_gateway"]) for j in details["jobs"]} == {
        "v1": ("INACTIVE", False),
        "v2": ("MATCHED", True),
    }
    assert 'Gateway: served by job "v2" (MATCHED)' in text(answer)
    assert f'- "v2" uuid={new.job_uuid} MATCHED, SERVES THE GATEWAY, cid={new.script_cid}' in text(answer)
    assert "INACTIVE" in text(answer)


async def test_get_cloud_function_finds_the_active_job_beyond_the_requested_page(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("many jobs")
    active = emulator.create_job(function.function_uuid, "first", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    for n in range(3):
        emulator.create_job(function.function_uuid, f"later-{n}", HELLO_WORLD_CID)

    answer = await mcp.call_tool(
        "get_cloud_function", {"function_uuid": function.function_uuid, "jobs_page": 2, "jobs_limit": 2}
    )

    details = data(answer)
    assert [j["name"] for j in details["jobs"]] == ["later-1", "later-2"]
    assert details["active_job_uuid"] == active.job_uuid
    assert details["more_jobs"] is True
    assert "jobs_page=3" in text(answer)


async def test_get_cloud_function_warns_when_the_active_job_was_deleted(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("orphaned")
    job = emulator.create_job(function.function_uuid, "only", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    emulator.delete_job(job.job_uuid, project_uuid=function.project_uuid)

    answer = await mcp.call_tool("get_cloud_function", {"function_uuid": function.function_uuid})

    assert data(answer)["gateway_status"] == "active_job_deleted"
    assert data(answer)["active_job_uuid"] is None
    assert "404 JOB_NOT_FOUND" in text(answer)


async def test_unknown_function_uuid_is_an_error_naming_the_apillon_code(mcp: Client) -> None:
    answer = await mcp.call_tool("get_cloud_function", {"function_uuid": str(uuid4())})

    assert answer.is_error
    assert "40418005 CLOUD_FUNCTION_NOT_FOUND" in text(answer)
    assert "list_cloud_functions" in text(answer)


async def test_function_of_another_project_is_forbidden_with_a_hint(mcp: Client, emulator: EmulatorState) -> None:
    foreign = emulator.create_function("theirs", project_uuid="0b9e2a77-1c3d-4e5f-8a9b-0c1d2e3f4a5b")

    answer = await mcp.call_tool("get_cloud_function", {"function_uuid": foreign.function_uuid})

    assert answer.is_error
    assert "another Apillon project" in text(answer)


@pytest.mark.parametrize("bad_uuid", ["../project/credit", "not-a-uuid", "?limit=1", "%2e%2e%2f", ""])
async def test_a_function_uuid_that_is_not_a_uuid_is_refused_before_any_request(
    mcp: Client, emulator: EmulatorState, bad_uuid: str
) -> None:
    answer = await mcp.call_tool("get_cloud_function", {"function_uuid": bad_uuid})

    assert answer.is_error
    assert "uuid" in text(answer).lower()
    assert emulator.requests == []


async def test_a_key_without_read_permission_gets_told_which_permission_to_add(
    make_server: ServerFactory, emulator: EmulatorState
) -> None:
    key, secret = add_key_without(emulator, (Role.READ, Service.COMPUTING))

    async with Client(make_server(api_key=key, api_secret=secret)) as client:
        answer = await client.call_tool("list_cloud_functions", {})

    assert answer.is_error
    assert "lacks the Read permission for Computing (KEY_READ)" in text(answer)


async def test_wrong_credentials_point_at_the_environment_variables(
    make_server: ServerFactory, emulator: EmulatorState
) -> None:
    async with Client(make_server(api_key=str(uuid4()), api_secret="Wrong#Secret")) as client:
        answer = await client.call_tool("list_cloud_functions", {})

    assert answer.is_error
    assert "40002400 INVALID_API_KEY" in text(answer)
    assert "APILLON_API_KEY" in text(answer)
    assert "Wrong#Secret" not in text(answer)
