from pathlib import Path
from uuid import uuid4

import pytest
from mcp import Client

from apillon_mcp.emulator import EmulatorState, JobStatus, Role, Service
from apillon_mcp.emulator.faults import Fault
from apillon_mcp.unixfs import file_cids

from scripts import ECHO
from support import ServerFactory, add_key_without, data, text

pytestmark = pytest.mark.anyio


async def test_deploy_from_source_uploads_creates_and_waits_until_matched(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("echo")
    reports: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, message))

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "echo v1", "script_source": ECHO},
        progress_callback=on_progress,
    )

    deployed = data(answer)
    cids = file_cids(ECHO.encode())
    assert (deployed["script_cid"], deployed["script_cid_v1"]) == (cids.v0, cids.v1)
    assert deployed["outcome"] == "matched"
    assert deployed["job"]["status"] == "MATCHED" and deployed["job"]["serves_gateway"] is True
    assert deployed["warnings"] == []
    assert (deployed["credits_spent"], deployed["credit_balance"]) == (100, 900)
    job = emulator.jobs[deployed["job"]["job_uuid"]]
    assert (job.script_cid, job.job_status) == (cids.v0, JobStatus.MATCHED)
    assert emulator.file_content_by_cid(cids.v1) == ECHO.encode()
    assert emulator.functions[function.function_uuid].active_job_id == job.id
    summary = text(answer)
    assert f"CID {cids.v0}" in summary
    assert "MATCHED 30 s after the job was created" in summary and "invoke_cloud_function" in summary
    assert f"It serves http://sandbox.invalid/gateway/{function.function_uuid}" in summary
    messages = [m for _, m in reports]
    assert any("Uploaded echo-v1.js" in (m or "") for m in messages)
    assert any("waiting for MATCHED" in (m or "") for m in messages)
    assert [v for v, _ in reports] == sorted(v for v, _ in reports)


async def test_deploy_without_waiting_returns_the_deploying_job(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("echo")

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO, "wait": False},
    )

    assert data(answer)["outcome"] == "not_waited"
    assert data(answer)["job"]["status"] == "DEPLOYING"
    assert "Not serving yet" in text(answer)


async def test_a_wait_shorter_than_matching_says_what_to_do_next(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("echo")

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO, "timeout_seconds": 12},
    )

    deployed = data(answer)
    assert deployed["outcome"] == "waiting"
    assert deployed["job"]["status"] == "DEPLOYED"
    assert 12 <= deployed["waited_seconds"] < 30
    assert "Still DEPLOYED when the wait ended after 12 s." in text(answer)
    assert "check get_cloud_function" in text(answer)
    assert f"Then it serves http://sandbox.invalid/gateway/{function.function_uuid}" in text(answer)


async def test_deploy_from_a_local_file(mcp: Client, emulator: EmulatorState, tmp_path: Path) -> None:
    function = emulator.create_function("echo")
    script = tmp_path / "index.bundle.js"
    script.write_text(ECHO, encoding="utf-8")

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_path": str(script), "wait": False},
    )

    assert data(answer)["file_name"] == "index.bundle.js"
    assert data(answer)["script_cid"] == file_cids(ECHO.encode()).v0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"script_source": ECHO, "script_path": "/tmp/x.js"}, "exactly one of script_source"),
        ({}, "exactly one of script_source"),
        ({"script_path": "/etc/passwd"}, "must be a .js file"),
        ({"script_path": "/nonexistent/dir/x.js"}, "cannot read script_path"),
    ],
)
async def test_bad_script_arguments_are_refused_before_any_request(
    mcp: Client, emulator: EmulatorState, arguments: dict[str, str], message: str
) -> None:
    function = emulator.create_function("echo")

    answer = await mcp.call_tool(
        "deploy_cloud_function_script", {"function_uuid": function.function_uuid, "job_name": "v1", **arguments}
    )

    assert answer.is_error
    assert message in text(answer)
    assert emulator.requests == []


async def test_script_path_is_refused_when_the_server_is_not_local(
    make_server: ServerFactory, emulator: EmulatorState, tmp_path: Path
) -> None:
    function = emulator.create_function("echo")
    script = tmp_path / "index.js"
    script.write_text(ECHO, encoding="utf-8")

    async with Client(make_server(transport="http")) as client:
        answer = await client.call_tool(
            "deploy_cloud_function_script",
            {"function_uuid": function.function_uuid, "job_name": "v1", "script_path": str(script)},
        )

    assert answer.is_error
    assert "script_path is refused" in text(answer) and "script_source" in text(answer)
    assert emulator.requests == []


async def test_a_failed_job_creation_after_the_upload_says_how_to_resume(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("echo")
    refused = {"code": 50018013, "message": "Error creating acurast job: {}", "path": "/", "timestamp": "t"}
    emulator.faults.append(
        Fault(path=f"/cloud-functions/{function.function_uuid}/jobs", method="POST", status=500, body=refused)
    )

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO},
    )

    cid = file_cids(ECHO.encode()).v0
    message = text(answer)
    assert answer.is_error
    assert "Deploy stopped at step 'create the job'" in message
    assert "50018013" in message
    assert f"script_cid={cid}" in message and "without uploading again" in message
    assert f"Uploaded v1.js, CID {cid}." in message
    assert emulator.jobs == {}
    assert emulator.file_content_by_cid(cid) == ECHO.encode()


async def test_an_upload_failure_says_nothing_was_created(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("echo")
    emulator.faults.append(Fault(path=f"/storage/buckets/{function.bucket_uuid}/upload", method="POST", status=503))

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO},
    )

    assert answer.is_error
    assert "Deploy stopped at step 'upload v1.js" in text(answer)
    assert "Done before that: nothing; no credits were spent." in text(answer)
    assert emulator.jobs == {}


async def test_deploy_to_an_unknown_function_stops_at_the_first_step(mcp: Client, emulator: EmulatorState) -> None:
    answer = await mcp.call_tool(
        "deploy_cloud_function_script", {"function_uuid": str(uuid4()), "job_name": "v1", "script_source": ECHO}
    )

    assert "Deploy stopped at step 'find the function'" in text(answer)
    assert "CLOUD_FUNCTION_NOT_FOUND" in text(answer)


async def test_uploading_needs_the_storage_execute_permission(
    make_server: ServerFactory, emulator: EmulatorState
) -> None:
    function = emulator.create_function("echo")
    key, secret = add_key_without(emulator, (Role.EXECUTE, Service.STORAGE))

    async with Client(make_server(api_key=key, api_secret=secret)) as client:
        answer = await client.call_tool(
            "deploy_cloud_function_script",
            {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO},
        )

    assert "lacks the Execute permission for Storage (KEY_EXECUTE)" in text(answer)
    assert emulator.jobs == {}
