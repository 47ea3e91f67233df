"""The `/_emulator/` control routes (reset, clock, faults) and the request log."""

import base64
from collections.abc import AsyncGenerator

import anyio
import httpx2
import pytest
from starlette.types import Message, Scope

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
from apillon_mcp.emulator.clock import LATEST

from support import HELLO_WORLD_CID

pytestmark = pytest.mark.anyio

OTHER_KEY, OTHER_SECRET = "0b8d5c1e-7a2f-4e6b-9d3c-5f1a8e2b7c40", "Zx9!Qw3#Er5%"


async def test_reset_brings_back_a_fresh_state_with_only_the_default_key(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(Role.READ, Service.COMPUTING)])
    function = state.create_function("f")
    state.create_job(function.function_uuid, "job", HELLO_WORLD_CID)
    await client.post("/_emulator/faults", json={"path": "/nowhere"})
    await client.get("/cloud-functions")

    response = await client.post("/_emulator/reset", json={})

    assert response.status_code == 200
    assert (state.functions, state.jobs, state.buckets, list(state.faults), state.requests) == ({}, {}, {}, [], [])
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

    first = await client.post(path, json={"name": "j", "scriptCid": HELLO_WORLD_CID})
    not_matching = await client.get(f"/cloud-functions/{function.function_uuid}")
    second = await client.post(path, json={"name": "j", "scriptCid": HELLO_WORLD_CID})
    third = await client.post(path, json={"name": "j", "scriptCid": HELLO_WORLD_CID})

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

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            sent.append(message["body"])

    scope: Scope = {
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


def observable(state: EmulatorState) -> tuple[object, ...]:
    """What a control request could change: keys, functions, faults, credits, the clock."""
    return (
        sorted(state.api_keys),
        sorted(state.functions),
        [fault.to_json() for fault in state.faults],
        state.credit_balance(DEFAULT_PROJECT_UUID),
        state.clock.now(),
    )


CHANGES = [
    ("/_emulator/reset", b"{}"),
    ("/_emulator/clock", b'{"advance_seconds": 3600}'),
    ("/_emulator/credits", b'{"balance": 0}'),
    ("/_emulator/faults", b'{"path": "/project/credit", "status": 500}'),
    ("/_emulator/keys", b'{"key": "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "secret": "s", "roles": []}'),
]


@pytest.mark.parametrize(("path", "body"), CHANGES, ids=[path.rsplit("/", 1)[1] for path, _ in CHANGES])
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
async def test_a_control_post_that_is_not_json_is_refused_and_changes_nothing(
    state: EmulatorState, anonymous: httpx2.AsyncClient, path: str, body: bytes, content_type: str | None
) -> None:
    """What a web page can make a browser send anywhere without asking: a form, plain text, no type at all."""
    state.create_function("kept")
    before = observable(state)
    headers = {} if content_type is None else {"content-type": content_type}

    response = await anonymous.post(path, content=body, headers=headers)

    assert response.status_code == 415
    assert response.json() == {
        "error": "control requests must be sent as 'Content-Type: application/json' (the body may be empty)"
    }
    assert observable(state) == before


TOKEN = "k3p7-control-token-for-tests"


@pytest.fixture
async def guarded(state: EmulatorState) -> AsyncGenerator[httpx2.AsyncClient, None]:
    """Raw HTTP to an emulator whose control routes ask for `TOKEN`."""
    transport = httpx2.ASGITransport(app=create_emulator(state, control_token=TOKEN))
    async with httpx2.AsyncClient(transport=transport, base_url="http://emulator") as http:
        yield http


@pytest.mark.parametrize(("path", "body"), CHANGES, ids=[path.rsplit("/", 1)[1] for path, _ in CHANGES])
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
async def test_with_a_control_token_a_request_without_it_is_refused_and_changes_nothing(
    state: EmulatorState, guarded: httpx2.AsyncClient, path: str, body: bytes, authorization: str | None
) -> None:
    state.create_function("kept")
    before = observable(state)
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization

    response = await guarded.post(path, content=body, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert "Authorization: Bearer <control token>" in response.json()["error"]
    assert observable(state) == before


async def test_with_a_control_token_every_control_route_takes_it(
    state: EmulatorState, guarded: httpx2.AsyncClient
) -> None:
    auth = {"authorization": f"Bearer {TOKEN}"}

    listed = await guarded.get("/_emulator/faults", headers=auth)
    unlisted = await guarded.get("/_emulator/faults")
    added = await guarded.post("/_emulator/faults", json={"path": "/x"}, headers=auth)
    cleared = await guarded.delete("/_emulator/faults", headers=auth)
    uncleared = await guarded.delete("/_emulator/faults")
    reset = await guarded.post("/_emulator/reset", headers={**auth, "content-type": "application/json"})

    assert (listed.status_code, unlisted.status_code, uncleared.status_code) == (200, 401, 401)
    assert (added.json(), cleared.json(), reset.status_code) == ({"pending": 1}, {"pending": 0}, 200)


async def test_the_control_token_does_not_open_the_api(guarded: httpx2.AsyncClient) -> None:
    response = await guarded.get("/cloud-functions", headers={"authorization": f"Bearer {TOKEN}"})

    assert (response.status_code, response.json()["code"]) == (400, 40000003)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b'{"advance_seconds": ' + b"[" * 5000 + b"]" * 5000 + b"}", "more than 64 levels deep"),
        (b'{"advance_seconds": ' + b"9" * 5000 + b"}", "beyond what a JavaScript number can hold"),
        (b'{"advance_seconds": NaN}', "Unexpected token N in JSON at position 20"),
        (b'{"advance_seconds": 1', "Unexpected end of JSON input"),
    ],
    ids=["nested", "huge", "nan", "truncated"],
)
async def test_a_control_body_that_is_not_usable_json_is_a_400_that_says_why(
    state: EmulatorState, anonymous: httpx2.AsyncClient, body: bytes, complaint: str
) -> None:
    before = state.clock.now()

    response = await anonymous.post("/_emulator/clock", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert complaint in response.json()["error"]
    assert state.clock.now() == before


async def test_a_control_body_over_1_mib_is_a_413(state: EmulatorState, anonymous: httpx2.AsyncClient) -> None:
    response = await anonymous.post("/_emulator/faults", json={"path": "/x", "body": "x" * (1 << 20)})

    assert response.status_code == 413
    assert state.faults == []


async def test_the_clock_stops_a_year_before_dates_overflow_and_the_state_still_works(
    state: EmulatorState, anonymous: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    room = (LATEST - state.clock.now()).total_seconds()

    too_far = await anonymous.post("/_emulator/clock", json={"advance_seconds": room + 1})
    absurd = await anonymous.post("/_emulator/clock", json={"advance_seconds": 1e300})
    to_the_end = await anonymous.post("/_emulator/clock", json={"advance_seconds": room})
    past_the_end = await anonymous.post("/_emulator/clock", json={"advance_seconds": 1})
    created = await client.post("/cloud-functions", json={"name": "at the end of time"})
    job = await client.post(
        f"/cloud-functions/{created.json()['data']['functionUuid']}/jobs",
        json={"name": "j", "scriptCid": HELLO_WORLD_CID},
    )
    await anonymous.post("/_emulator/clock", json={"advance_seconds": 0})

    assert (too_far.status_code, absurd.status_code, past_the_end.status_code) == (400, 400, 400)
    assert too_far.json()["error"] == (
        f"the clock may move at most {room:.0f} seconds now: it stops at 9999-01-01, a year before dates overflow"
    )
    assert "may move at most 0 seconds now" in past_the_end.json()["error"]
    assert to_the_end.json() == {"now": "9999-01-01T00:00:00.000Z"}
    assert (created.status_code, job.status_code) == (201, 201)
    assert (await client.get("/cloud-functions")).status_code == 200


@pytest.mark.parametrize(
    ("body", "balance"),
    [({"add": 500}, 1500), ({"balance": 0}, 0), ({"balance": 250, "project_uuid": DEFAULT_PROJECT_UUID}, 250)],
    ids=["add", "set", "set-for-project"],
)
async def test_credits_can_be_topped_up_or_set(
    anonymous: httpx2.AsyncClient, client: httpx2.AsyncClient, body: dict[str, object], balance: int
) -> None:
    response = await anonymous.post("/_emulator/credits", json=body)

    assert response.json() == {"project_uuid": DEFAULT_PROJECT_UUID, "balance": balance}
    assert (await client.get("/project/credit")).json()["data"] == {"balance": balance}


async def test_credits_of_another_project_are_its_own(state: EmulatorState, anonymous: httpx2.AsyncClient) -> None:
    other = "c0ffee00-1234-4abc-8def-0123456789ab"

    response = await anonymous.post("/_emulator/credits", json={"add": 1, "project_uuid": other})

    assert response.json() == {"project_uuid": other, "balance": 1001}
    assert state.credit_balance(DEFAULT_PROJECT_UUID) == 1000


async def test_a_top_up_lets_a_project_without_credits_create_a_job_again(
    state: EmulatorState, anonymous: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    await anonymous.post("/_emulator/credits", json={"balance": 0})
    path = f"/cloud-functions/{function.function_uuid}/jobs"
    refused = await client.post(path, json={"name": "j", "scriptCid": HELLO_WORLD_CID})

    await anonymous.post("/_emulator/credits", json={"add": 100})
    created = await client.post(path, json={"name": "j", "scriptCid": HELLO_WORLD_CID})

    assert refused.status_code == 500
    assert created.status_code == 201
    assert state.credit_balance(DEFAULT_PROJECT_UUID) == 0


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({}, 'the body must be {"add": <credits>} or {"balance": <credits>}'),
        ({"add": 1, "balance": 1}, 'the body must be {"add": <credits>}'),
        ({"top_up": 1}, 'the body must be {"add": <credits>}'),
        ({"add": 0}, "'add' must be a whole number of credits from 1 to 1000000000"),
        ({"add": 1.5}, "'add' must be a whole number"),
        ({"add": "100"}, "'add' must be a whole number"),
        ({"add": True}, "'add' must be a whole number"),
        ({"add": 999_999_001}, "the balance would pass 1000000000 credits"),
        ({"balance": -1}, "'balance' must be a whole number of credits from 0 to 1000000000"),
        ({"balance": 10**15}, "'balance' must be a whole number"),
        ({"balance": 1, "project_uuid": "mine"}, "'project_uuid' must be a UUID"),
        (["add", 1], 'the body must be {"add": <credits>}'),
    ],
)
async def test_a_bad_credits_body_is_a_400_that_says_why_and_changes_nothing(
    state: EmulatorState, anonymous: httpx2.AsyncClient, body: object, complaint: str
) -> None:
    response = await anonymous.post("/_emulator/credits", json=body)

    assert response.status_code == 400
    assert complaint in response.json()["error"]
    assert state.credit_balance(DEFAULT_PROJECT_UUID) == 1000


async def test_role_names_that_are_not_strings_are_a_400(state: EmulatorState, anonymous: httpx2.AsyncClient) -> None:
    response = await anonymous.post(
        "/_emulator/keys",
        json={"key": "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "secret": "s", "roles": [[["READ"], "COMPUTING"]]},
    )

    assert response.status_code == 400
    assert len(state.api_keys) == 1
