"""The `/_emulator/` control routes (reset, clock, faults) and the request log."""

import base64

import anyio
import httpx2
import pytest

from apillon_mcp.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_PROJECT_UUID,
    ConnectionDropped,
    EmulatorState,
    Role,
    Service,
    create_emulator,
)

pytestmark = pytest.mark.anyio

OTHER_KEY, OTHER_SECRET = "0b8d5c1e-7a2f-4e6b-9d3c-5f1a8e2b7c40", "Zx9!Qw3#Er5%"
SCRIPT = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"


async def test_reset_brings_back_a_fresh_state_with_only_the_default_key(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(Role.READ, Service.COMPUTING)])
    function = state.create_function("f")
    state.create_job(function.function_uuid, "job", SCRIPT)
    await client.post("/_emulator/faults", json={"path": "/nowhere"})
    await client.get("/cloud-functions")

    response = await client.post("/_emulator/reset")

    assert response.status_code == 200
    assert (state.functions, state.jobs, state.buckets, state.faults, state.requests) == ({}, {}, {}, [], [])
    assert list(state.api_keys) == [DEFAULT_API_KEY]
    assert state.credit_balance(DEFAULT_PROJECT_UUID) == 1000
    assert (await client.get("/cloud-functions", auth=(OTHER_KEY, OTHER_SECRET))).status_code == 401


async def test_control_routes_need_no_credentials_and_are_not_logged(
    state: EmulatorState, anonymous: httpx2.AsyncClient
) -> None:
    clock = await anonymous.post("/_emulator/clock", json={"advance_seconds": 0})
    faults = await anonymous.get("/_emulator/faults")

    assert (clock.status_code, faults.status_code) == (200, 200)
    assert state.requests == []


async def test_every_api_request_is_logged_in_order_with_its_query_string(
    state: EmulatorState, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    await client.post("/cloud-functions", json={"name": "f"})
    await client.get("/cloud-functions?page=2&search=x")
    await anonymous.delete("/cloud-functions/jobs/abc")
    await client.get("/unknown")

    assert state.requests == [
        ("POST", "/cloud-functions"),
        ("GET", "/cloud-functions?page=2&search=x"),
        ("DELETE", "/cloud-functions/jobs/abc"),
        ("GET", "/unknown"),
    ]


@pytest.mark.parametrize(
    "body",
    [{}, {"advance_seconds": -1}, {"advance_seconds": "10"}, {"advance_seconds": True}, [10]],
    ids=["missing", "negative", "string", "bool", "array"],
)
async def test_the_clock_refuses_anything_but_a_non_negative_number(client: httpx2.AsyncClient, body: object) -> None:
    response = await client.post("/_emulator/clock", json=body)

    assert response.status_code == 400
    assert "advance_seconds" in response.json()["error"]


async def test_a_fault_answers_the_next_matching_request_once_then_the_api_answers_again(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    added = await client.post(
        "/_emulator/faults", json={"method": "get", "path": "/cloud-functions", "status": 503, "body": {"down": True}}
    )

    faulted = await client.get("/cloud-functions?page=1")
    normal = await client.get("/cloud-functions")

    assert added.json() == {"pending": 1}
    assert (faulted.status_code, faulted.json()) == (503, {"down": True})
    assert normal.status_code == 200
    assert state.faults == []


async def test_a_fault_pattern_with_times_changes_no_state(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    function = state.create_function("f")
    await client.post("/_emulator/faults", json={"method": "POST", "path": "/cloud-functions/*", "times": 2})
    path = f"/cloud-functions/{function.function_uuid}/jobs"

    first = await client.post(path, json={"name": "j", "scriptCid": SCRIPT})
    not_matching = await client.get(f"/cloud-functions/{function.function_uuid}")
    second = await client.post(path, json={"name": "j", "scriptCid": SCRIPT})
    third = await client.post(path, json={"name": "j", "scriptCid": SCRIPT})

    body = first.json()
    assert (first.status_code, second.status_code, not_matching.status_code, third.status_code) == (500, 500, 200, 201)
    assert set(body) == {"id", "code", "message", "path", "timestamp"}
    assert (body["code"], body["message"], body["path"]) == (500001, "Error calling internal service!", path)
    assert len(state.jobs) == 1
    assert state.credit_balance(DEFAULT_PROJECT_UUID) == 900


async def test_a_string_fault_body_is_sent_as_a_raw_html_page(
    anonymous: httpx2.AsyncClient,
) -> None:
    page = "<html><body>502 Bad Gateway</body></html>"
    await anonymous.post("/_emulator/faults", json={"path": "/project/credit", "status": 502, "body": page})

    response = await anonymous.get("/project/credit")

    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == page


async def test_faults_come_before_authentication(anonymous: httpx2.AsyncClient) -> None:
    await anonymous.post("/_emulator/faults", json={"path": "/cloud-functions", "status": 504})

    response = await anonymous.get("/cloud-functions")

    assert response.status_code == 504


async def test_pending_faults_can_be_listed_and_cleared(client: httpx2.AsyncClient) -> None:
    await client.post("/_emulator/faults", json={"path": "/a", "times": 3})
    await client.post("/_emulator/faults", json={"path": "/b/*", "method": "DELETE", "delay_seconds": 1.5})

    listed = (await client.get("/_emulator/faults")).json()
    cleared = await client.delete("/_emulator/faults")

    assert listed["pending"] == 4
    assert listed["faults"] == [
        {"path": "/a", "method": None, "status": 500, "body": None, "delay_seconds": 0, "times": 3, "kind": "error"},
        {
            "path": "/b/*",
            "method": "DELETE",
            "status": 500,
            "body": None,
            "delay_seconds": 1.5,
            "times": 1,
            "kind": "error",
        },
    ]
    assert cleared.json() == {"pending": 0}
    assert (await client.get("/_emulator/faults")).json() == {"pending": 0, "faults": []}


async def test_a_delayed_fault_holds_the_request_back(client: httpx2.AsyncClient) -> None:
    await client.post("/_emulator/faults", json={"path": "/project/credit", "delay_seconds": 3600})
    answered = False

    async def call() -> None:
        nonlocal answered
        await client.get("/project/credit")
        answered = True

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        group.cancel_scope.cancel()

    assert not answered


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({}, "'path'"),
        ({"path": "cloud-functions"}, "'path'"),
        ({"path": "/x", "status": 700}, "'status'"),
        ({"path": "/x", "status": "500"}, "'status'"),
        ({"path": "/x", "delay_seconds": -1}, "'delay_seconds'"),
        ({"path": "/x", "times": 0}, "'times'"),
        ({"path": "/x", "method": 5}, "'method'"),
        ({"path": "/x", "statuss": 500}, "unknown fields"),
        (["/x"], "JSON object"),
    ],
)
async def test_a_malformed_fault_is_refused_with_a_400_that_says_why(
    state: EmulatorState, client: httpx2.AsyncClient, body: object, complaint: str
) -> None:
    response = await client.post("/_emulator/faults", json=body)

    assert response.status_code == 400
    assert complaint in response.json()["error"]
    assert state.faults == []


async def test_a_key_added_through_the_control_route_has_exactly_its_roles(
    anonymous: httpx2.AsyncClient, state: EmulatorState
) -> None:
    key, secret = "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "Limit3d#Key"
    added = await anonymous.post(
        "/_emulator/keys", json={"key": key, "secret": secret, "roles": [["READ", "COMPUTING"]]}
    )

    listed = await anonymous.get("/cloud-functions", auth=(key, secret))
    created = await anonymous.post("/cloud-functions", json={"name": "x"}, auth=(key, secret))

    assert added.status_code == 200
    assert added.json() == {"key": key, "roles": [["READ", "COMPUTING"]]}
    assert listed.status_code == 200
    assert created.status_code == 403
    assert created.json()["message"] == "Insufficient permissions - missing KEY_WRITE permission"


@pytest.mark.parametrize(
    "body",
    [
        {"key": "not-a-uuid", "secret": "s", "roles": []},
        {"key": "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "secret": "", "roles": []},
        {"key": "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "secret": "s", "roles": [["ADMIN", "COMPUTING"]]},
        ["not", "an", "object"],
    ],
)
async def test_a_bad_key_body_is_refused(anonymous: httpx2.AsyncClient, state: EmulatorState, body: object) -> None:
    response = await anonymous.post("/_emulator/keys", json=body)

    assert response.status_code == 400
    assert len(state.api_keys) == 1


async def test_a_reset_fault_lets_the_request_take_effect_then_drops_the_connection(
    client: httpx2.AsyncClient, state: EmulatorState
) -> None:
    await client.post("/_emulator/faults", json={"path": "/cloud-functions", "method": "POST", "kind": "reset"})

    with pytest.raises(ConnectionDropped):
        await client.post("/cloud-functions", json={"name": "made anyway"})

    assert [f.name for f in state.functions.values()] == ["made anyway"]


async def test_a_truncate_fault_sends_half_the_answer_then_drops_the_connection(
    client: httpx2.AsyncClient, state: EmulatorState
) -> None:
    await client.post("/_emulator/faults", json={"path": "/project/credit", "kind": "truncate"})
    sent: list[bytes] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message["body"])  # type: ignore[arg-type]

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/project/credit",
        "raw_path": b"/project/credit",
        "query_string": b"",
        "headers": [
            (b"authorization", b"Basic " + base64.b64encode(f"{DEFAULT_API_KEY}:{DEFAULT_API_SECRET}".encode()))
        ],
        "scheme": "http",
        "server": ("emulator", 80),
        "root_path": "",
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }
    with pytest.raises(ConnectionDropped):
        await create_emulator(state)(scope, receive, send)

    assert b"".join(sent).startswith(b'{"id":')
    assert b"balance" not in b"".join(sent)


async def test_a_slow_fault_answers_for_real_after_the_delay(client: httpx2.AsyncClient) -> None:
    await client.post("/_emulator/faults", json={"path": "/project/credit", "kind": "slow", "delay_seconds": 3600})
    answered = False

    async def call() -> None:
        nonlocal answered
        response = await client.get("/project/credit")
        answered = response.json()["data"] == {"balance": 1000}

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        assert not answered
        group.cancel_scope.cancel()


async def test_an_unknown_fault_kind_is_refused(client: httpx2.AsyncClient) -> None:
    response = await client.post("/_emulator/faults", json={"path": "/x", "kind": "explode"})

    assert response.status_code == 400
    assert "kind" in response.json()["error"]
