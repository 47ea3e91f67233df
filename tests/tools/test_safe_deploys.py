"""Operating a real function safely: nothing is paid for a script that cannot work, a serving gateway is never
broken unawares, and going back is one call."""

import re
import shutil
from typing import Any

import pytest
from mcp import Client

from apillon_mcp.emulator import DEFAULT_PROJECT_UUID, EmulatorState, JobStatus
from apillon_mcp.emulator.faults import Fault
from apillon_mcp.server import build_sandbox_server
from apillon_mcp.unixfs import file_cids

from scripts import ECHO, saying
from support import HELLO_WORLD_CID, ServerFactory, data, text

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("node") is None, reason="the checks and the gateway run scripts with Node.js"),
]

SYNTAX_ERROR = """
_STD_.ws.open(["wss://websocket-proxy-1.prod.gke.acurast.com/"], () => {
  _STD_.ws.registerPayloadHandler(({ sender, payload }) => {
    _STD_.ws.send(sender, Buffer.from("ok").toString("hex")
  });
}, () => {});
"""

LAMBDA_STYLE = """
const fetchPrice = async (coin) => ({ coin, price: 42 });

module.exports.handler = async (event) => {
  const body = JSON.parse(event.body);
  return { statusCode: 200, body: JSON.stringify(await fetchPrice(body.coin)) };
};
"""

THROWS = """
_STD_.ws.open(["wss://websocket-proxy-1.prod.gke.acurast.com/"], () => {
  _STD_.ws.registerPayloadHandler(({ sender, payload }) => {
    throw new Error("price feed unreachable");
    _STD_.ws.send(sender, "");
  });
}, () => {});
"""


async def serving(mcp: Client, emulator: EmulatorState, reply: str = "v1 answers") -> tuple[str, dict[str, Any]]:
    """A function whose MATCHED job answers `reply`: (its uuid, the deploy's structured result)."""
    function = emulator.create_function("prices")
    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": saying(reply)},
    )
    assert data(answer)["outcome"] == "matched"
    return function.function_uuid, data(answer)


async def reply_of(mcp: Client, function_uuid: str) -> str:
    answer = await mcp.call_tool("invoke_cloud_function", {"function_uuid": function_uuid})
    return str(data(answer)["reply"])


def storage_requests(emulator: EmulatorState) -> list[tuple[str, str]]:
    return [(method, path) for method, path in emulator.requests if "/storage/" in path or "/s3/" in path]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (SYNTAX_ERROR, ["syntax, line ", "SyntaxError: missing ) after argument list"]),
        (LAMBDA_STYLE, ["never uses the Acurast runtime", "line 4, column 1", "exports a handler, like AWS Lambda"]),
    ],
    ids=["syntax-error", "lambda-handler"],
)
async def test_a_script_that_cannot_work_is_refused_before_anything_is_spent(
    mcp: Client, emulator: EmulatorState, script: str, expected: list[str]
) -> None:
    function_uuid, before = await serving(mcp, emulator)
    jobs_before = dict(emulator.jobs)
    files_before = len(emulator.files)
    balance = emulator.credit_balance(DEFAULT_PROJECT_UUID)
    emulator.requests.clear()

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function_uuid, "job_name": "v2", "script_source": script},
    )

    assert answer.is_error
    message = text(answer)
    assert message.startswith("Error executing tool deploy_cloud_function_script: Not deployed: nothing was uploaded")
    for part in expected:
        assert part in message
    assert "Fix:" in message and "test_cloud_function_script" in message and "deploy_despite_problems" in message
    assert storage_requests(emulator) == []
    assert not any(method == "POST" for method, _ in emulator.requests)
    assert len(emulator.files) == files_before
    assert emulator.jobs.keys() == jobs_before.keys()
    assert emulator.credit_balance(DEFAULT_PROJECT_UUID) == balance
    assert emulator.jobs[before["job"]["job_uuid"]].job_status == JobStatus.MATCHED
    assert await reply_of(mcp, function_uuid) == "v1 answers"


async def test_the_user_can_insist_on_a_script_the_checks_reject(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("lambda")

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {
            "function_uuid": function.function_uuid,
            "job_name": "as-is",
            "script_source": LAMBDA_STYLE,
            "wait": False,
            "deploy_despite_problems": True,
        },
    )

    deployed = data(answer)
    assert deployed["job"]["status"] == "DEPLOYING"
    assert {problem["check"] for problem in deployed["overridden"]} == {"contract"}
    assert "DEPLOYED DESPITE PROBLEMS (the user insisted)" in text(answer)
    assert deployed["credits_spent"] == 100


async def test_too_few_credits_refuses_before_the_upload(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("echo")
    emulator.set_credit_balance(DEFAULT_PROJECT_UUID, 50)

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO},
    )

    assert answer.is_error
    assert "Not deployed: nothing was uploaded, created or charged." in text(answer)
    assert "too few credits: the project has 50 and a job costs 100" in text(answer)
    assert "apillon-mcp sandbox top-up 1000" in text(answer)
    assert "deploy_despite_problems" not in text(answer)
    assert storage_requests(emulator) == [] and emulator.jobs == {}


async def test_a_balance_that_cannot_be_read_is_checked_again_when_apillon_refuses_the_job(
    mcp: Client, emulator: EmulatorState
) -> None:
    """On the real service too few credits answer 500001, like a CID it cannot convert; the balance tells which."""
    function = emulator.create_function("echo")
    emulator.set_credit_balance(DEFAULT_PROJECT_UUID, 50)
    emulator.faults.append(Fault(path="/project/credit", method="GET", status=503, times=4))
    internal = {"code": 500001, "message": "Error calling internal service!", "path": "/", "timestamp": "t"}
    emulator.faults.append(
        Fault(path=f"/cloud-functions/{function.function_uuid}/jobs", method="POST", status=500, body=internal)
    )

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function.function_uuid, "name": "v1", "script_cid": file_cids(ECHO.encode()).v0},
    )

    assert answer.is_error
    assert "code 500001" in text(answer)
    assert "too few credits: the project has 50 and a job costs 100" in text(answer)
    assert "convert" not in text(answer)


async def test_a_refused_cid_with_enough_credits_is_named_as_such(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("echo")
    internal = {"code": 500001, "message": "Error calling internal service!", "path": "/", "timestamp": "t"}
    emulator.faults.append(
        Fault(path=f"/cloud-functions/{function.function_uuid}/jobs", method="POST", status=500, body=internal)
    )

    answer = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function.function_uuid, "name": "v1", "script_cid": file_cids(ECHO.encode()).v0},
    )

    assert "The balance is 1000 credits, enough for a job" in text(answer)
    assert "could not convert script_cid" in text(answer) and "dag-pb" in text(answer)


async def test_a_spending_cap_refuses_the_job_that_would_pass_it(
    make_server: ServerFactory, emulator: EmulatorState
) -> None:
    function = emulator.create_function("capped")
    async with Client(make_server(spending_cap_credits=150)) as client:
        first = await client.call_tool(
            "deploy_cloud_function_script",
            {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO, "wait": False},
        )
        files = len(emulator.files)
        second = await client.call_tool(
            "deploy_cloud_function_script",
            {"function_uuid": function.function_uuid, "job_name": "v2", "script_source": ECHO, "wait": False},
        )
        balance = await client.call_tool("get_credit_balance", {})

    assert not first.is_error
    assert second.is_error
    assert "spending cap is 150 credits" in text(second) and "spent 100" in text(second)
    assert len(emulator.files) == files and len(emulator.jobs) == 1
    assert data(balance)["spending_cap"] == {"limit": 150, "spent": 100, "remaining": 50}
    assert data(balance)["jobs_affordable"] == 0
    assert "spending cap: 150 credits, 100 spent since it started, 50 left" in text(balance)


async def test_a_new_job_says_which_job_it_replaces_and_the_rollback_is_one_call(
    mcp: Client, emulator: EmulatorState
) -> None:
    function_uuid, first = await serving(mcp, emulator)

    bad = await mcp.call_tool(
        "deploy_cloud_function_script",
        {
            "function_uuid": function_uuid,
            "job_name": "v2",
            "script_source": THROWS,
            "smoke_test": {"body": {"coin": "eth"}},
        },
    )

    deployed = data(bad)
    assert deployed["replaces"]["job_uuid"] == first["job"]["job_uuid"]
    assert deployed["replaces"]["script_cid"] == first["script_cid"]
    assert f'took over the gateway from job "v1" uuid={first["job"]["job_uuid"]}' in text(bad)
    assert deployed["smoke_test"]["passed"] is False
    assert "SMOKE TEST FAILED" in text(bad)
    rollback = deployed["replaces"]["rollback"]
    assert f"To go back: {rollback}" in text(bad)
    assert rollback.startswith(f"create_cloud_function_job(function_uuid={function_uuid}, ")
    assert f"script_cid={first['script_cid']}" in rollback and rollback.endswith("wait=true)")

    back = await mcp.call_tool(
        "create_cloud_function_job",
        {"function_uuid": function_uuid, "name": "v1 (rollback)", "script_cid": first["script_cid"], "wait": True},
    )

    assert data(back)["outcome"] == "matched"
    assert data(back)["replaces"]["job_uuid"] == deployed["job"]["job_uuid"]
    assert "MATCHED 30 s after the job was created" in text(back)
    assert await reply_of(mcp, function_uuid) == "v1 answers"


async def test_a_smoke_test_that_passes_shows_the_reply(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("echo")

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {
            "function_uuid": function.function_uuid,
            "job_name": "v1",
            "script_source": ECHO,
            "smoke_test": {"body": {"coin": "eth"}, "path": "/prices"},
        },
    )

    smoke = data(answer)["smoke_test"]
    assert smoke["passed"] is True and smoke["status"] == 200
    assert '"coin":"eth"' in smoke["reply"] and '"path":"/prices"' in smoke["reply"]
    assert "Smoke test: HTTP 200" in text(answer) and "<function-output " in text(answer)


async def test_a_bad_smoke_request_is_refused_before_anything_is_spent(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("echo")

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {
            "function_uuid": function.function_uuid,
            "job_name": "v1",
            "script_source": ECHO,
            "smoke_test": {"path": "../escape"},
        },
    )

    assert answer.is_error
    assert emulator.requests == []


async def test_the_job_runs_the_cid_apillon_reports(mcp: Client, emulator: EmulatorState) -> None:
    """On Apillon the file's CID comes from its IPFS node; for large files it may differ from `ipfs add`'s."""
    function = emulator.create_function("echo")
    other = file_cids(b"what the IPFS node laid out\n").v0
    listing = {
        "id": "x",
        "status": 200,
        "data": {
            "items": [{"fileUuid": "f", "name": "v1.js", "CID": other, "CIDv1": None, "fileStatus": 3}],
            "total": 1,
            "page": 1,
            "limit": 200,
        },
    }
    emulator.faults.append(
        Fault(path=f"/storage/buckets/{function.bucket_uuid}/files", method="GET", status=200, body=listing)
    )

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO, "wait": False},
    )

    deployed = data(answer)
    assert deployed["script_cid"] == other
    assert emulator.jobs[deployed["job"]["job_uuid"]].script_cid == other
    assert f"CID {other} as Apillon reports it; the bytes computed locally give {file_cids(ECHO.encode()).v0}" in (
        text(answer)
    )


async def test_the_deploy_waits_for_apillon_to_report_the_cid(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("echo")
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO, "wait": False},
        progress_callback=on_progress,
    )

    assert "Waiting for Apillon to put the script on IPFS." in messages
    assert "CID as Apillon reports it, same as the bytes give" in text(answer)


async def test_get_cloud_function_shows_each_jobs_cid_time_and_which_serves(
    mcp: Client, emulator: EmulatorState
) -> None:
    function_uuid, first = await serving(mcp, emulator)

    answer = await mcp.call_tool("get_cloud_function", {"function_uuid": function_uuid})

    line = next(line for line in text(answer).splitlines() if first["job"]["job_uuid"] in line)
    assert "SERVES THE GATEWAY" in line
    assert f"cid={first['script_cid']}" in line
    assert re.search(r" 2025-01-01 00:00:\d\dZ$", line), line


async def test_a_function_whose_serving_job_was_deleted_is_not_listed_as_served(
    mcp: Client, emulator: EmulatorState
) -> None:
    _, first = await serving(mcp, emulator)
    emulator.delete_job(first["job"]["job_uuid"], project_uuid=DEFAULT_PROJECT_UUID)

    listed = await mcp.call_tool("list_cloud_functions", {})

    assert "serv" not in text(listed).split("\n")[1]
    assert "(a job matched once)" in text(listed)
    assert "get_cloud_function" in text(listed)


async def test_an_answer_from_a_deleted_job_says_the_gateway_will_stop(mcp: Client, emulator: EmulatorState) -> None:
    function_uuid, first = await serving(mcp, emulator)
    await reply_of(mcp, function_uuid)  # the gateway caches the job for five minutes
    emulator.delete_job(first["job"]["job_uuid"], project_uuid=DEFAULT_PROJECT_UUID)

    answer = await mcp.call_tool("invoke_cloud_function", {"function_uuid": function_uuid})

    assert data(answer)["stale_job"] is True
    assert "came from the job the gateway still caches" in text(answer)
    assert "stops answering" in text(answer)


async def test_the_delete_confirmation_says_an_inactive_job_was_superseded_by_a_later_match(
    mcp: Client, emulator: EmulatorState
) -> None:
    function_uuid, first = await serving(mcp, emulator)
    await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function_uuid, "job_name": "v2", "script_source": saying("v2")},
    )

    answer = await mcp.call_tool("delete_cloud_function_job", {"job_uuid": first["job"]["job_uuid"]})

    assert "superseded by a job that reached MATCHED after it" in text(answer)


async def test_without_node_the_syntax_check_is_skipped_and_says_why(
    mcp: Client, emulator: EmulatorState, monkeypatch: pytest.MonkeyPatch
) -> None:
    function = emulator.create_function("echo")
    monkeypatch.setenv("PATH", "/nonexistent")

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO, "wait": False},
    )

    assert any(check.startswith("syntax NOT checked: ") and "Node.js" in check for check in data(answer)["checks"])
    assert "syntax NOT checked" in text(answer)
    assert data(answer)["job"]["status"] == "DEPLOYING"


async def test_with_a_smoke_test_the_way_back_is_said_once(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("echo")
    serving = emulator.create_job(function.function_uuid, "v1", HELLO_WORLD_CID)
    emulator.clock.advance(3600)

    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {
            "function_uuid": function.function_uuid,
            "job_name": "v2",
            "script_source": ECHO,
            "smoke_test": {"body": {"coin": "eth"}},
        },
    )

    assert f'It took over the gateway from job "v1" uuid={serving.job_uuid}' in text(answer)
    assert "To go back in one call" not in text(answer)
    assert text(answer).count("To go back: create_cloud_function_job(") == 1


async def test_a_balance_unreadable_after_the_job_was_created_leaves_what_it_cost_unknown(
    emulator: EmulatorState,
) -> None:
    function = emulator.create_function("fn")
    upload_polls: list[float] = []

    async def balance_unreadable_once_uploading(seconds: float) -> None:
        if not upload_polls:  # the first wait is the deploy's for the uploaded script: the balance was read before
            emulator.faults.append(Fault(path="/project/credit", method="GET", status=503, times=50))
        upload_polls.append(seconds)
        emulator.clock.advance(seconds)

    server = build_sandbox_server(emulator, sleep=balance_unreadable_once_uploading)
    async with Client(server) as client:
        answer = await client.call_tool(
            "deploy_cloud_function_script",
            {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": ECHO, "wait": False},
        )

    deployed = data(answer)
    assert (deployed["credits_spent"], deployed["credit_balance"]) == (None, None)
    assert deployed["job"]["name"] == "v1" and len(emulator.jobs) == 1
    assert "Created the job." in text(answer)
