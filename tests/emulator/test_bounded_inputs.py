"""Bodies no request may crash or bloat the emulator with: nesting, huge numbers, JavaScript's grammar, sizes."""

import json
import shutil
from collections.abc import AsyncIterator

import httpx2
import pytest

from apillon_mcp.emulator import EmulatorState, ManualClock
from apillon_mcp.emulator.app import API_BODY_LIMIT
from apillon_mcp.emulator.request_bodies import MAX_DEPTH
from apillon_mcp.emulator.s3 import MAX_OBJECT_BYTES

pytestmark = pytest.mark.anyio

SHAPE_E = {"id", "code", "message", "path", "timestamp"}
JSON = {"content-type": "application/json"}
ECHO_BODY = """_STD_.ws.open([], () => {
  _STD_.ws.registerPayloadHandler(({ sender, payload }) => {
    const request = JSON.parse(Buffer.from(payload, "hex").toString("utf8"));
    _STD_.ws.send(sender, Buffer.from(JSON.stringify({ body: request.body }), "utf8").toString("hex"));
  });
}, () => {});
"""


def nested(depth: int) -> str:
    """A function body whose description nests `depth` arrays (so the body nests `depth + 1` levels)."""
    return '{"name": "f", "description": ' + "[" * depth + "]" * depth + "}"


async def refused(client: httpx2.AsyncClient, body: str | bytes, status: int = 400) -> str:
    response = await client.post("/cloud-functions", content=body, headers=JSON)
    answer = response.json()
    assert response.status_code == status, response.text
    assert set(answer) == SHAPE_E
    assert answer["code"] == 500001
    message: str = answer["message"]
    return message


@pytest.mark.parametrize("depth", [MAX_DEPTH, 5_000, 100_000 // 2 - 20])
async def test_json_nested_deeper_than_the_limit_is_a_400_and_creates_nothing(
    state: EmulatorState, client: httpx2.AsyncClient, depth: int
) -> None:
    message = await refused(client, nested(depth))

    assert message == f"the JSON nests arrays and objects more than {MAX_DEPTH} levels deep"
    assert state.functions == {}


async def test_json_nested_up_to_the_limit_is_read(client: httpx2.AsyncClient) -> None:
    response = await client.post("/cloud-functions", content=nested(MAX_DEPTH - 1), headers=JSON)

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("literal", "shown"),
    [("1e999", "1e999"), ("-1e400", "-1e400"), ("9" * 400, "9" * 20 + "… (400 characters)"), ("9" * 5000, None)],
    ids=["float", "negative", "integer", "beyond-python-int-parsing"],
)
async def test_a_number_javascript_cannot_hold_is_a_400_that_says_so(
    state: EmulatorState, client: httpx2.AsyncClient, literal: str, shown: str | None
) -> None:
    message = await refused(client, '{"name": "f", "slots": ' + literal + "}")

    assert message.startswith(f"the number {shown or literal[:20]}")
    assert message.endswith("is beyond what a JavaScript number can hold (about ±1.8e308)")
    assert state.functions == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"name": NaN}', "Unexpected token N in JSON at position 9"),
        ('{"name": "Infinity", "slots": -Infinity}', "Unexpected token I in JSON at position 31"),
        ('{"name": "x", "slots": Infinity}', "Unexpected token I in JSON at position 23"),
    ],
)
async def test_constants_json_parse_does_not_know_are_syntax_errors(
    state: EmulatorState, client: httpx2.AsyncClient, body: str, message: str
) -> None:
    assert await refused(client, body) == message
    assert state.functions == {}


async def test_a_json_body_over_100_kb_is_a_413_before_auth(
    state: EmulatorState, anonymous: httpx2.AsyncClient
) -> None:
    body = '{"name": "' + "x" * API_BODY_LIMIT + '"}'

    assert await refused(anonymous, body, status=413) == "request entity too large"
    assert state.requests == [("POST", "/cloud-functions")]


async def test_a_chunked_json_body_over_100_kb_is_a_413(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(API_BODY_LIMIT // 1000 + 1):
            yield b"x" * 1000
        yield b'"}'

    response = await client.post("/cloud-functions", content=chunks(), headers=JSON)

    assert (response.status_code, response.json()["message"]) == (413, "request entity too large")
    assert state.functions == {}


async def test_a_json_body_of_exactly_100_kb_is_read(client: httpx2.AsyncClient) -> None:
    body = '{"name": "f", "pad": "' + "x" * (API_BODY_LIMIT - 24) + '"}'
    assert len(body) == API_BODY_LIMIT

    response = await client.post("/cloud-functions", content=body, headers=JSON)

    assert response.status_code == 201


async def test_a_large_body_that_is_not_json_is_not_read(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/cloud-functions", content=b"x" * (API_BODY_LIMIT * 10), headers={"content-type": "text/plain"}
    )

    assert response.status_code == 422  # as if there were no body: the name is missing


async def test_variables_sent_as_deeply_nested_json_text_are_invalid_variables_not_a_crash(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")

    response = await client.post(
        f"/cloud-functions/{function.function_uuid}/environment", json={"variables": "[" * 20_000 + "]" * 20_000}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [{"code": 42218016, "property": "variables", "message": "FIELD_INVALID"}]
    assert state.functions[function.function_uuid].variables is None


async def presigned_url(state: EmulatorState, client: httpx2.AsyncClient) -> tuple[str, str]:
    bucket = state.create_function("f").bucket_uuid
    answer = await client.post(f"/storage/buckets/{bucket}/upload", json={"files": [{"fileName": "big.bin"}]})
    entry = answer.json()["data"]["files"][0]
    return entry["url"], entry["fileUuid"]


async def test_an_upload_over_the_size_limit_gets_s3s_entity_too_large_and_stores_nothing(
    state: EmulatorState, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    url, file_uuid = await presigned_url(state, client)

    response = await anonymous.put(url, content=b"x" * (MAX_OBJECT_BYTES + 1))

    assert response.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in response.text
    assert "<Message>Your proposed upload exceeds the maximum allowed size</Message>" in response.text
    assert f"<ProposedSize>{MAX_OBJECT_BYTES + 1}</ProposedSize>" in response.text
    assert f"<MaxSizeAllowed>{MAX_OBJECT_BYTES}</MaxSizeAllowed>" in response.text
    assert state.storage.uploads[file_uuid].content is None


async def test_a_chunked_upload_is_cut_off_at_the_size_limit(
    state: EmulatorState, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    url, file_uuid = await presigned_url(state, client)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < MAX_OBJECT_BYTES * 4:
            sent += 1 << 20
            yield b"x" * (1 << 20)

    response = await anonymous.put(url, content=chunks())

    assert response.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in response.text and "<ProposedSize>" not in response.text
    assert state.storage.uploads[file_uuid].content is None


async def test_an_upload_of_exactly_the_size_limit_is_stored(
    state: EmulatorState, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    url, file_uuid = await presigned_url(state, client)

    response = await anonymous.put(url, content=b"x" * MAX_OBJECT_BYTES)

    assert response.status_code == 200
    assert len(state.storage.uploads[file_uuid].content or b"") == MAX_OBJECT_BYTES


@pytest.mark.skipif(shutil.which("node") is None, reason="the gateway runs scripts with Node.js")
@pytest.mark.parametrize(
    "body",
    ["[" * 5_000 + "]" * 5_000, '{"n": ' + "9" * 5_000 + "}", '{"n": NaN}'],
    ids=["nested", "huge-number", "nan"],
)
async def test_a_gateway_body_past_the_bounds_reaches_the_script_as_text(
    state: EmulatorState, clock: ManualClock, anonymous: httpx2.AsyncClient, body: str
) -> None:
    """The gateway hands the script whatever it cannot parse as text, as it does for any body that is not JSON."""
    function = state.create_function("echo")
    stored = state.store_file(function.bucket_uuid, "index.js", ECHO_BODY.encode())
    state.create_job(function.function_uuid, "job", stored.cid_v1)
    clock.advance(30)

    response = await anonymous.post(f"/gateway/{function.function_uuid}", content=body)

    assert response.status_code == 200
    assert json.loads(response.text) == {"body": body}
