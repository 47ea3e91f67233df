"""The function gateway (apillon-api.md §10, §11, §15): payload, script run in Node.js, errors, job cache."""

import json
import logging
import shutil
from pathlib import Path

import anyio
import httpx2
import pytest
from pytest import MonkeyPatch

from apillon_mcp.emulator import (
    CloudFunction,
    EmulatorState,
    GatewayConfig,
    Job,
    JobStatus,
    ManualClock,
    RecordStatus,
)

from support import HELLO_WORLD_CID

pytestmark = pytest.mark.anyio
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="the gateway runs scripts with Node.js")

WEBSOCKETS = '["wss://websocket-proxy-1.prod.gke.acurast.com/", "wss://websocket-proxy-2.prod.gke.acurast.com/"]'
ECHO = (
    f"_STD_.ws.open({WEBSOCKETS}, () => {{\n"
    """  _STD_.ws.registerPayloadHandler(({ sender, payload }) => {
    const request = JSON.parse(Buffer.from(payload, "hex").toString("utf8"));
    console.log("a log line must not end up in the reply");
    process.stdout.write("neither must a raw write\\n");
    const reply = JSON.stringify({ type: "success", data: { request, greeting: _STD_.env["GREETING"] } });
    _STD_.ws.send(sender, Buffer.from(reply, "utf8").toString("hex"));
  });
}, (err) => { console.error(err); });
"""
)
TIMEOUT = {"message": "Endpoint request timed out"}


def replying(text: str) -> str:
    """A script that answers every call with `text`."""
    reply = json.dumps(text)
    return (
        f"_STD_.ws.open({WEBSOCKETS}, () => {{ _STD_.ws.registerPayloadHandler(({{ sender }}) => "
        f'_STD_.ws.send(sender, Buffer.from({reply}, "utf8").toString("hex"))); }}, () => {{}});\n'
    )


def deploy(state: EmulatorState, clock: ManualClock, script: str, function: CloudFunction | None = None) -> Job:
    """Store `script` in the function's bucket, create a job for it and let the job match."""
    function = state.create_function("gateway") if function is None else function
    stored = state.store_file(function.bucket_uuid, "index.js", script.encode())
    job = state.create_job(function.function_uuid, "job", stored.cid_v1)
    clock.advance(30)
    return job


async def invoke(http: httpx2.AsyncClient, job: Job, content: bytes = b"") -> httpx2.Response:
    return await http.post(f"/gateway/{job.function_uuid}", content=content)


@needs_node
async def test_the_script_receives_the_request_as_the_gateway_payload_and_its_reply_is_the_body(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    job = deploy(state, clock, ECHO)

    response = await anonymous.post(
        f"/gateway/{job.function_uuid}/prices/btc?currency=eur&tag=a&tag=b",
        json={"symbol": "BTC"},
        headers={"x-trace": "7", "Authorization": "Bearer caller-token"},
    )

    reply = json.loads(response.text)
    request = reply["data"]["request"]
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply["type"] == "success"
    assert request["body"] == {"symbol": "BTC"}
    assert request["path"] == "/prices/btc"
    assert request["pathParameters"] == {"proxy": "prices/btc"}
    assert request["queryStringParameters"] == {"currency": "eur", "tag": "b"}
    assert request["multiValueQueryStringParameters"] == {"currency": ["eur"], "tag": ["a", "b"]}
    assert request["headers"]["x-trace"] == "7"
    assert request["headers"]["authorization"] == "Bearer caller-token"
    assert request["headers"]["content-type"] == "application/json"
    assert list(request) == [
        "body",
        "headers",
        "path",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
    ]


@needs_node
@pytest.mark.parametrize(
    ("content", "seen"),
    [(b"[1, 2]", [1, 2]), (b"plain text", "plain text"), (b"", None), (b"NaN", "NaN"), ("héllo".encode(), "héllo")],
    ids=["json", "text", "empty", "nan", "utf8"],
)
async def test_the_body_is_parsed_json_else_the_raw_text_else_null(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient, content: bytes, seen: object
) -> None:
    job = deploy(state, clock, ECHO)

    response = await invoke(anonymous, job, content=content)

    assert json.loads(response.text)["data"]["request"]["body"] == seen


@needs_node
async def test_the_root_path_has_no_path_parameters_and_no_query(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    job = deploy(state, clock, ECHO)

    request = json.loads((await invoke(anonymous, job)).text)["data"]["request"]

    assert (request["path"], request["pathParameters"]) == ("/", None)
    assert (request["queryStringParameters"], request["multiValueQueryStringParameters"]) == (None, None)


@needs_node
async def test_the_script_sees_the_functions_environment_at_call_time(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    job = deploy(state, clock, ECHO)
    variables = [{"key": "GREETING", "value": "hello"}, {"key": "GREETING", "value": "hi"}]
    await client.post(f"/cloud-functions/{job.function_uuid}/environment", json={"variables": variables})

    response = await invoke(anonymous, job)

    assert json.loads(response.text)["data"]["greeting"] == "hi"


@needs_node
async def test_the_reply_is_returned_byte_for_byte(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    job = deploy(state, clock, replying("Error: not JSON, still 200 ✓\n"))

    response = await invoke(anonymous, job)

    assert response.status_code == 200
    assert response.content == "Error: not JSON, still 200 ✓\n".encode()


@needs_node
async def test_the_script_can_read_its_on_chain_job_id(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    script = (
        f"_STD_.ws.open({WEBSOCKETS}, () => _STD_.ws.registerPayloadHandler(({{ sender }}) => "
        '_STD_.ws.send(sender, Buffer.from(String(_STD_.job.getId())).toString("hex"))));\n'
    )
    job = deploy(state, clock, script)

    response = await invoke(anonymous, job)

    assert response.text == str(state.jobs[job.job_uuid].job_id)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_only_post_is_handled(state: EmulatorState, anonymous: httpx2.AsyncClient, method: str) -> None:
    function = state.create_function("f")

    response = await anonymous.request(method, f"/gateway/{function.function_uuid}/any")

    assert response.status_code == 400
    assert response.json() == {"message": "Invalid request"}


async def test_an_unknown_function_is_a_404(anonymous: httpx2.AsyncClient) -> None:
    response = await anonymous.post("/gateway/00000000-0000-4000-8000-000000000000")

    assert response.status_code == 404
    assert response.json() == {"message": "CLOUD_FUNCTION_NOT_FOUND"}


async def test_a_deleted_function_is_a_404(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    job = deploy(state, clock, ECHO)
    state.edit_function(job.function_uuid, status=RecordStatus.DELETED)

    response = await invoke(anonymous, job)

    assert (response.status_code, response.json()) == (404, {"message": "CLOUD_FUNCTION_NOT_FOUND"})


async def test_a_function_without_an_active_job_is_a_500_job_not_deployed(
    state: EmulatorState, anonymous: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    state.create_job(function.function_uuid, "still deploying", HELLO_WORLD_CID)

    response = await anonymous.post(f"/gateway/{function.function_uuid}")

    assert (response.status_code, response.json()) == (500, {"message": "JOB_NOT_DEPLOYED"})


async def test_an_active_job_that_is_not_matched_is_a_500_job_not_deployed(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    job = deploy(state, clock, ECHO)
    state.edit_job(job.job_uuid, job_status=JobStatus.INACTIVE)

    response = await invoke(anonymous, job)

    assert (response.status_code, response.json()) == (500, {"message": "JOB_NOT_DEPLOYED"})


async def test_an_active_job_without_an_on_chain_id_is_a_500_job_id_is_missing(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    job = deploy(state, clock, ECHO)
    state.edit_job(job.job_uuid, job_id=None)

    response = await invoke(anonymous, job)

    assert (response.status_code, response.json()) == (500, {"message": "JOB_ID_IS_MISSING"})


async def test_a_deleted_active_job_not_called_for_five_minutes_is_a_404_job_not_found_at_once(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    job = deploy(state, clock, ECHO)
    clock.advance(300)
    await client.delete(f"/cloud-functions/jobs/{job.job_uuid}")

    response = await invoke(anonymous, job)

    assert (response.status_code, response.json()) == (404, {"message": "JOB_NOT_FOUND"})


@needs_node
async def test_a_deleted_active_job_keeps_serving_until_five_minutes_after_the_last_uncached_call(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    job = deploy(state, clock, replying("still here"))
    clock.advance(1000)
    await invoke(anonymous, job)
    await client.delete(f"/cloud-functions/jobs/{job.job_uuid}")

    right_after = await invoke(anonymous, job)
    clock.advance(299)
    just_before_expiry = await invoke(anonymous, job)
    clock.advance(1)
    expired = await invoke(anonymous, job)

    assert (right_after.status_code, right_after.text) == (200, "still here")
    assert (just_before_expiry.status_code, just_before_expiry.text) == (200, "still here")
    assert (expired.status_code, expired.json()) == (404, {"message": "JOB_NOT_FOUND"})


async def test_a_match_leaves_nothing_cached_so_deleting_before_any_call_is_a_404_at_once(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    job = deploy(state, clock, replying("never called"))
    await client.delete(f"/cloud-functions/jobs/{job.job_uuid}")

    response = await invoke(anonymous, job)

    assert (response.status_code, response.json()) == (404, {"message": "JOB_NOT_FOUND"})


@needs_node
async def test_a_newer_job_takes_over_as_soon_as_it_matches_despite_the_cache(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    old = deploy(state, clock, replying("old"))
    await invoke(anonymous, old)

    deploy(state, clock, replying("new"), state.functions[old.function_uuid])

    assert (await invoke(anonymous, old)).text == "new"


async def test_a_script_whose_bytes_are_not_in_storage_is_a_500_saying_so(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    state.create_job(function.function_uuid, "job", HELLO_WORLD_CID)
    clock.advance(30)

    response = await anonymous.post(f"/gateway/{function.function_uuid}")

    assert response.status_code == 500
    assert response.json() == {
        "message": f"The bytes of script CID {HELLO_WORLD_CID} are not in the "
        "emulator's storage: upload the script through the storage API first."
    }


async def test_without_node_the_gateway_is_a_500_saying_what_is_missing_and_how_to_install_it(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient, tmp_path: Path, monkeypatch: MonkeyPatch
) -> None:
    job = deploy(state, clock, ECHO)
    monkeypatch.setenv("PATH", str(tmp_path))

    response = await invoke(anonymous, job)

    message = response.json()["message"]
    assert response.status_code == 500
    assert message.startswith("Node.js was not found on PATH (looked for `node`)")
    assert "Node.js 20.16+ or 22.3+" in message and "https://nodejs.org" in message
    assert "retry" not in message.lower()


@needs_node
@pytest.mark.parametrize(
    "script",
    [
        f"_STD_.ws.open({WEBSOCKETS}, () => _STD_.ws.registerPayloadHandler(() => {{}}));\n",
        f"_STD_.ws.open({WEBSOCKETS}, () => _STD_.ws.registerPayloadHandler(() => "
        '_STD_.ws.send("someone-else", "6869")));\n',
    ],
    ids=["never-replies", "replies-to-someone-else"],
)
async def test_a_script_that_does_not_reply_in_time_gets_api_gateways_504(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient, script: str
) -> None:
    job = deploy(state, clock, script)
    state.gateway = GatewayConfig(timeout_seconds=0.3)

    response = await invoke(anonymous, job)

    assert (response.status_code, response.json()) == (504, TIMEOUT)


def test_the_gateway_waits_as_long_as_api_gateway_by_default() -> None:
    assert GatewayConfig().timeout_seconds == 29


@needs_node
@pytest.mark.parametrize(
    "script",
    [
        "throw new Error('secret detail from the script');\n",
        f"_STD_.ws.open({WEBSOCKETS}, () => _STD_.ws.registerPayloadHandler(() => {{ throw new Error('boom'); }}));\n",
        f"_STD_.ws.open({WEBSOCKETS}, () => _STD_.ws.registerPayloadHandler(({{ sender }}) => "
        '_STD_.ws.send(sender, "not hex")));\n',
        "console.log('nothing to wait for');\n",
        f"_STD_.ws.open({WEBSOCKETS}, () => _STD_.ws.registerPayloadHandler(() => process.exit(3)));\n",
    ],
    ids=["throws-at-load", "handler-throws", "reply-not-hex", "never-listens-and-ends", "exits"],
)
async def test_a_script_that_ends_without_replying_gets_the_504_at_once_and_nothing_of_its_output(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient, script: str
) -> None:
    job = deploy(state, clock, script)
    state.gateway = GatewayConfig(timeout_seconds=60)

    with anyio.fail_after(20):  # far below the configured limit: the gateway did not wait for it
        response = await invoke(anonymous, job)

    assert (response.status_code, response.json()) == (504, TIMEOUT)


@needs_node
async def test_the_scripts_output_is_logged_at_debug_level_without_its_variables_values(
    state: EmulatorState,
    clock: ManualClock,
    client: httpx2.AsyncClient,
    anonymous: httpx2.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = (
        "console.log('from console.log, token', _STD_.env.API_TOKEN);\n"
        "process.stdout.write(JSON.stringify({ token: _STD_.env.API_TOKEN }) + '\\n');\n"
        "throw new Error('secret detail ' + _STD_.env.API_TOKEN);\n"
    )
    job = deploy(state, clock, script)
    variables = [{"key": "API_TOKEN", "value": 'tok-"9f8e7d6c5b4a'}]
    await client.post(f"/cloud-functions/{job.function_uuid}/environment", json={"variables": variables})
    caplog.set_level(logging.DEBUG, logger="apillon_mcp.runner")

    response = await invoke(anonymous, job)

    assert "secret detail" not in response.text
    assert "from console.log, token [API_TOKEN]" in caplog.text
    assert '{"token":"[API_TOKEN]"}' in caplog.text
    assert "Error: secret detail [API_TOKEN]" in caplog.text
    assert "9f8e7d6c5b4a" not in caplog.text


@needs_node
async def test_the_first_reply_wins(state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient) -> None:
    script = (
        f"_STD_.ws.open({WEBSOCKETS}, () => _STD_.ws.registerPayloadHandler(({{ sender }}) => {{\n"
        '  _STD_.ws.send(sender, Buffer.from("first").toString("hex"));\n'
        '  _STD_.ws.send(sender, Buffer.from("second").toString("hex"));\n'
        "}));\n"
    )
    job = deploy(state, clock, script)

    assert (await invoke(anonymous, job)).text == "first"


@needs_node
async def test_a_script_uploaded_through_the_storage_api_runs_behind_the_gateway(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    function = state.create_function("uploaded")
    upload = (
        await client.post(f"/storage/buckets/{function.bucket_uuid}/upload", json={"files": [{"fileName": "index.js"}]})
    ).json()["data"]
    await anonymous.put(upload["files"][0]["url"], content=replying("uploaded ok").encode())
    await client.post(f"/storage/buckets/{function.bucket_uuid}/upload/{upload['sessionUuid']}/end")
    clock.advance(5)
    files = (await client.get(f"/storage/buckets/{function.bucket_uuid}/files")).json()["data"]["items"]
    await client.post(
        f"/cloud-functions/{function.function_uuid}/jobs", json={"name": "v1", "scriptCid": files[0]["CIDv1"]}
    )
    clock.advance(30)

    response = await anonymous.post(f"/gateway/{function.function_uuid}")

    assert (response.status_code, response.text) == (200, "uploaded ok")


async def test_gateway_calls_need_no_credentials_and_are_logged(
    state: EmulatorState, anonymous: httpx2.AsyncClient
) -> None:
    response = await anonymous.post("/gateway/unknown/a?b=c")

    assert response.status_code == 404
    assert state.requests == [("POST", "/gateway/unknown/a?b=c")]
