"""The Apillon client against the emulator: envelopes unwrapped, every error shape mapped to the exception tree."""

import base64
import functools
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import uuid4

import httpx2
import pytest

from apillon_mcp.apillon import (
    ApillonAPIError,
    ApillonAuthError,
    ApillonBadResponse,
    ApillonClient,
    ApillonForbidden,
    ApillonNotFound,
    ApillonServerError,
    ApillonUnreachable,
    ApillonValidationError,
    JobStatus,
    open_client,
)
from apillon_mcp.apillon.client import DEFAULT_TIMEOUT
from apillon_mcp.apillon.retry import NO_RETRIES, RetryPolicy
from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, EmulatorState, Role, Service, create_emulator

from support import ALL_ROLES, HELLO_WORLD_CID, SetsCookies, add_key_without

pytestmark = pytest.mark.anyio

BASE = "http://emulator"


def connect(
    emulator: EmulatorState, key: str = DEFAULT_API_KEY, secret: str = DEFAULT_API_SECRET
) -> AbstractAsyncContextManager[ApillonClient]:
    transport = httpx2.ASGITransport(app=create_emulator(emulator, base_url=BASE))
    return open_client(
        base_url=BASE, api_key=key, api_secret=secret, user_agent="test/1", transport=transport, retry=NO_RETRIES
    )


def mocked(handler: Callable[[httpx2.Request], httpx2.Response]) -> AbstractAsyncContextManager[ApillonClient]:
    transport = httpx2.MockTransport(handler)
    return open_client(
        base_url=BASE, api_key="k", api_secret="s", user_agent="apillon-mcp/9", transport=transport, retry=NO_RETRIES
    )


@pytest.fixture
async def apillon(emulator: EmulatorState) -> AsyncGenerator[ApillonClient, None]:
    async with connect(emulator) as client:
        yield client


async def inject(emulator: EmulatorState, **fault: Any) -> None:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=create_emulator(emulator)), base_url=BASE) as http:
        response = await http.post("/_emulator/faults", json=fault)
        assert response.status_code == 200, response.text


async def test_a_function_round_trips_through_create_get_and_list(apillon: ApillonClient) -> None:
    created = await apillon.create_cloud_function("fn", "desc")
    job = await apillon.create_job(created.function_uuid, name="v1", script_cid=HELLO_WORLD_CID, slots=0)
    fetched = await apillon.get_cloud_function(created.function_uuid)
    listing = await apillon.list_cloud_functions(search="f")

    assert (created.name, created.description, created.jobs) == ("fn", "desc", None)
    assert created.gateway_url == f"{BASE}/gateway/{created.function_uuid}"
    assert (job.job_status, job.job_id, job.slots) == (JobStatus.DEPLOYING, None, 0)
    assert [j.job_uuid for j in fetched.jobs or []] == [job.job_uuid]
    assert [f.function_uuid for f in listing.items] == [created.function_uuid]
    assert (listing.total, listing.page, listing.limit) == (1, 1, 20)


async def test_deleted_jobs_are_fetched_only_when_asked_for(apillon: ApillonClient) -> None:
    function = await apillon.create_cloud_function("fn")
    job = await apillon.create_job(function.function_uuid, name="v1", script_cid=HELLO_WORLD_CID)
    deleted = await apillon.delete_job(job.job_uuid)

    live = await apillon.get_cloud_function(function.function_uuid)
    gone = await apillon.get_cloud_function(function.function_uuid, job_status=JobStatus.DELETED)

    assert deleted.job_status is JobStatus.DELETED
    assert live.jobs == []
    assert [j.job_uuid for j in gone.jobs or []] == [job.job_uuid]


async def test_set_environment_sends_the_variables_as_the_api_list(
    apillon: ApillonClient, emulator: EmulatorState
) -> None:
    function = await apillon.create_cloud_function("fn")

    answer = await apillon.set_environment(function.function_uuid, {"A": "1", "B": "2"})

    assert answer.function_uuid == function.function_uuid
    assert emulator.functions[function.function_uuid].variables == [
        {"key": "A", "value": "1"},
        {"key": "B", "value": "2"},
    ]


async def test_credit_balance_is_read(apillon: ApillonClient) -> None:
    assert await apillon.get_credit_balance() == 1000


async def test_requests_carry_basic_auth_and_the_user_agent() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"id": "x", "status": 200, "data": {"balance": 5}})

    async with mocked(handler) as client:
        assert await client.get_credit_balance() == 5

    (request,) = seen
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"k:s").decode()
    assert request.headers["user-agent"] == "apillon-mcp/9"


@pytest.mark.parametrize("timeout", [None, httpx2.Timeout(7.0, connect=3.0)], ids=["default", "the-callers"])
async def test_api_and_gateway_requests_alike_carry_the_clients_timeouts(timeout: httpx2.Timeout | None) -> None:
    """Explicit timeouts (the default waits out a gateway's 29 s), not httpx's 5 s, on both of its HTTP clients."""
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.extensions["timeout"])
        return httpx2.Response(200, json={"id": "x", "status": 200, "data": {"balance": 5}})

    opening = functools.partial(
        open_client,
        base_url=BASE,
        api_key="k",
        api_secret="s",
        user_agent="t",
        transport=httpx2.MockTransport(handler),
        retry=NO_RETRIES,
    )
    async with opening() if timeout is None else opening(timeout=timeout) as client:
        await client.get_credit_balance()
        await client.call_gateway("https://gateway.example/fn", "/", body={})

    assert seen == [(timeout or DEFAULT_TIMEOUT).as_dict()] * 2


async def test_missing_role_is_forbidden_with_the_role_named(emulator: EmulatorState) -> None:
    key, secret = add_key_without(emulator, (Role.EXECUTE, Service.COMPUTING))
    async with connect(emulator, key, secret) as client:
        function = await client.create_cloud_function("fn")
        with pytest.raises(ApillonForbidden) as raised:
            await client.set_environment(function.function_uuid, {"A": "1"})

    assert (raised.value.status, raised.value.code, raised.value.missing_role) == (403, 40300000, "KEY_EXECUTE")


@pytest.mark.parametrize(
    ("message", "missing_role"),
    [
        ("Insufficient permissions - missing KEY_WRITE permission", "KEY_WRITE"),
        ("Insufficient permissins - missing KEY_WRITE permission", "KEY_WRITE"),
        ("Insufficient permissions to modify this record", None),
        ("Insufficient permissins", None),
    ],
    ids=["guard", "guard-misspelt", "record", "record-misspelt"],
)
async def test_both_spellings_of_the_403_text_are_read(
    emulator: EmulatorState, apillon: ApillonClient, message: str, missing_role: str | None
) -> None:
    """The role guard spells "permissions"; some of the backend's record checks spell "permissins"."""
    body = {"id": "x", "status": 403, "code": 40300000, "message": message, "path": "/cloud-functions"}
    await inject(emulator, path="/cloud-functions", status=403, body=body)

    with pytest.raises(ApillonForbidden) as raised:
        await apillon.list_cloud_functions()

    assert (raised.value.message, raised.value.missing_role) == (message, missing_role)


async def test_record_of_another_project_is_forbidden_without_a_missing_role(
    apillon: ApillonClient, emulator: EmulatorState
) -> None:
    foreign = emulator.create_function("theirs", project_uuid="0b9e2a77-1c3d-4e5f-8a9b-0c1d2e3f4a5b")

    with pytest.raises(ApillonForbidden) as raised:
        await apillon.get_cloud_function(foreign.function_uuid)

    assert raised.value.missing_role is None
    assert "access this record" in raised.value.message


async def test_wrong_secret_is_an_auth_error(emulator: EmulatorState) -> None:
    async with connect(emulator, DEFAULT_API_KEY, "Wrong#Secret") as client:
        with pytest.raises(ApillonAuthError) as raised:
            await client.list_cloud_functions()

    assert (raised.value.status, raised.value.code) == (401, 40002400)


async def test_unknown_function_is_not_found_with_the_apillon_code(apillon: ApillonClient) -> None:
    with pytest.raises(ApillonNotFound) as raised:
        await apillon.get_cloud_function(str(uuid4()))

    assert (raised.value.status, raised.value.code, raised.value.message) == (404, 40418005, "CLOUD_FUNCTION_NOT_FOUND")


async def test_api_layer_validation_errors_carry_each_field(apillon: ApillonClient) -> None:
    with pytest.raises(ApillonValidationError) as raised:
        await apillon.create_cloud_function("x" * 256, "")

    errors = {(e.property, e.code) for e in raised.value.field_errors}
    assert errors == {("name", 42200205), ("description", 42200206)}
    assert raised.value.status == 422
    assert raised.value.code in {42200205, 42200206}


async def test_microservice_validation_unwraps_the_real_code(apillon: ApillonClient) -> None:
    function = await apillon.create_cloud_function("fn")

    with pytest.raises(ApillonValidationError) as raised:
        await apillon.set_environment(function.function_uuid, {"A": ""})

    assert raised.value.code == 42218016
    assert [(e.property, e.code) for e in raised.value.field_errors] == [("variables", 42218016)]


async def test_unhandled_backend_errors_are_server_errors(apillon: ApillonClient) -> None:
    with pytest.raises(ApillonServerError) as raised:
        await apillon.delete_job(str(uuid4()))

    assert (raised.value.status, raised.value.code) == (500, 500001)


async def test_too_few_credits_is_the_services_unhandled_error(apillon: ApillonClient, emulator: EmulatorState) -> None:
    function = await apillon.create_cloud_function("fn")
    emulator.set_credit_balance(function.project_uuid or "", 0)

    with pytest.raises(ApillonServerError) as raised:
        await apillon.create_job(function.function_uuid, name="v1", script_cid=HELLO_WORLD_CID)

    assert (raised.value.status, raised.value.code) == (500, 500001)
    assert raised.value.message == "Error calling internal service!"


async def test_an_html_error_page_does_not_crash_the_parser(apillon: ApillonClient, emulator: EmulatorState) -> None:
    await inject(emulator, path="/cloud-functions", status=502, body="<html><body>Bad Gateway</body></html>")

    with pytest.raises(ApillonBadResponse) as raised:
        await apillon.list_cloud_functions()

    assert raised.value.status == 502
    assert "Bad Gateway" in str(raised.value)


@pytest.mark.parametrize("body", [{"id": "x", "status": 200}, ["not", "an", "envelope"], "<html>ok</html>"])
async def test_a_success_without_the_envelope_is_a_bad_response(
    apillon: ApillonClient, emulator: EmulatorState, body: object
) -> None:
    await inject(emulator, path="/project/credit", status=200, body=body)

    with pytest.raises(ApillonBadResponse):
        await apillon.get_credit_balance()


async def test_data_of_the_wrong_shape_is_a_bad_response(apillon: ApillonClient, emulator: EmulatorState) -> None:
    await inject(
        emulator, path="/project/credit", status=200, body={"id": "x", "status": 200, "data": {"balance": "lots"}}
    )

    with pytest.raises(ApillonBadResponse) as raised:
        await apillon.get_credit_balance()

    assert "balance" in str(raised.value)


async def test_a_refused_connection_is_unreachable_and_never_reached_the_server() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    async with mocked(handler) as client:
        with pytest.raises(ApillonUnreachable) as raised:
            await client.create_cloud_function("fn")

    assert raised.value.may_have_reached_server is False


async def test_a_read_timeout_may_have_reached_the_server() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=request)

    async with mocked(handler) as client:
        with pytest.raises(ApillonUnreachable) as raised:
            await client.create_cloud_function("fn")

    assert raised.value.may_have_reached_server is True


@pytest.mark.parametrize("bad", ["../project/credit", "a/b", "x?y=1", ""])
async def test_uuid_path_arguments_cannot_reshape_the_url(
    apillon: ApillonClient, emulator: EmulatorState, bad: str
) -> None:
    with pytest.raises(ValueError):
        await apillon.get_cloud_function(bad)
    with pytest.raises(ValueError):
        await apillon.delete_job(bad)
    assert emulator.requests == []


async def test_no_cookie_set_for_one_caller_goes_out_with_another_callers_request(emulator: EmulatorState) -> None:
    other_key, other_secret = "5d4c3b2a-1f0e-4d9c-8b7a-695847362514", "Other#Key123"
    emulator.add_api_key(other_key, other_secret, ALL_ROLES, project_uuid="9a8b7c6d-5e4f-4321-8765-43210fedcba9")
    server = SetsCookies(create_emulator(emulator))
    transport = httpx2.ASGITransport(app=server)
    async with open_client(
        base_url=BASE, api_key=None, api_secret=None, user_agent="test/1", transport=transport, retry=NO_RETRIES
    ) as shared:
        mine = shared.with_credentials(DEFAULT_API_KEY, DEFAULT_API_SECRET)
        theirs = shared.with_credentials(other_key, other_secret)
        gateway_url = (await mine.create_cloud_function("fn")).gateway_url
        assert gateway_url is not None
        await theirs.list_cloud_functions()
        await mine.call_gateway(gateway_url, "/", body={})
        await theirs.call_gateway(gateway_url, "/", body={})
        await mine.list_cloud_functions()

    assert server.cookies_received == [None] * 5


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"code": 40000003, "message": "MISSING_AUTHORIZATION_HEADER"}, ApillonAuthError),
        (400, {"code": 40000004, "message": "INVALID_AUTHORIZATION_HEADER"}, ApillonAuthError),
        (400, {"code": 40000001, "message": "BAD_REQUEST"}, ApillonValidationError),
        (401, {"code": 40100000, "message": "INVALID_API_KEY"}, ApillonAuthError),
        (422, {"code": 40000003, "message": "UNEXPECTED"}, ApillonValidationError),
    ],
)
async def test_missing_or_malformed_credentials_are_an_auth_error_and_other_400s_a_refusal(
    status: int, body: dict[str, Any], error: type[ApillonAPIError]
) -> None:
    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, json={"id": "x", "path": request.url.path, **body})

    async with mocked(answer) as apillon:
        with pytest.raises(ApillonAPIError) as raised:
            await apillon.get_credit_balance()

    assert type(raised.value) is error
    assert str(raised.value) == f"HTTP {status}, code {body['code']}: {body['message']}"
    assert raised.value.message == body["message"]
    assert raised.value.path == "/project/credit"


@pytest.mark.parametrize(("size", "truncated"), [(1024 * 1024, False), (1024 * 1024 + 1, True)])
async def test_a_gateway_reply_is_read_up_to_one_mebibyte(size: int, truncated: bool) -> None:
    def gateway(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=b"x" * size)

    async with mocked(gateway) as apillon:
        reply = await apillon.call_gateway("https://gateway.example/fn/", "/", body={"a": 1})

    assert reply.truncated is truncated
    assert len(reply.text) == 1024 * 1024
    assert reply.status == 200


async def test_api_requests_ask_for_json_and_public_ones_carry_only_the_user_agent() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"id": "x", "status": 200, "data": {"balance": 5}})

    async with mocked(handler) as apillon:
        await apillon.get_credit_balance()
        await apillon.call_gateway("https://gateway.example/fn", "/", body={"a": 1}, headers={"X-Trace": "7"})

    api, gateway = seen
    assert api.headers["accept"] == "application/json"
    assert gateway.headers["user-agent"] == "apillon-mcp/9"
    assert gateway.headers["x-trace"] == "7"
    assert "authorization" not in gateway.headers
    assert gateway.content == b'{"a":1}'


async def test_a_client_knows_its_key_and_one_for_another_caller_keeps_the_retry_rules() -> None:
    answers = iter([httpx2.Response(503), httpx2.Response(503), httpx2.Response(200, json={"data": {"balance": 7}})])
    seen: list[httpx2.Request] = []
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return next(answers)

    async with httpx2.AsyncClient(base_url=BASE, transport=httpx2.MockTransport(handler)) as http:
        own = ApillonClient(http, public=http, key_id="own-key", sleep=sleep, jitter=lambda: 0.0)
        caller = own.with_credentials("callers-key", "callers-secret")

        assert (own.key_id, caller.key_id) == ("own-key", "callers-key")
        assert await caller.get_credit_balance() == 7

    assert waits == [0.25, 0.5]
    assert all(
        r.headers["authorization"] == "Basic " + base64.b64encode(b"callers-key:callers-secret").decode() for r in seen
    )


async def test_open_client_names_the_key_it_uses() -> None:
    async with open_client(base_url=BASE, api_key="k", api_secret="s", user_agent="t") as apillon:
        assert apillon.key_id == "k"
    async with open_client(base_url=BASE, api_key=None, api_secret=None, user_agent="t") as anonymous:
        assert anonymous.key_id is None


async def test_a_gateway_call_is_timed_on_the_clients_clock_and_its_bytes_read_leniently() -> None:
    ticks = iter([100.0, 100.25])
    async with httpx2.AsyncClient(
        transport=httpx2.MockTransport(lambda request: httpx2.Response(502, content=b"bad \xff byte"))
    ) as http:
        apillon = ApillonClient(http, public=http, timer=lambda: next(ticks))
        reply = await apillon.call_gateway("https://gateway.example/fn", "/", body=None)

    assert reply.elapsed_ms == 250.0
    assert (reply.status, reply.text, reply.truncated) == (502, "bad \ufffd byte", False)


async def test_the_wait_budget_counts_from_zero() -> None:
    """With waits of 1 s then 2 s and a budget of 3 s, both fit exactly; a third (4 s) does not."""
    answers = iter([httpx2.Response(503, json={"code": 50300000, "message": "down"})] * 5)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with httpx2.AsyncClient(base_url=BASE, transport=httpx2.MockTransport(lambda r: next(answers))) as http:
        apillon = ApillonClient(
            http,
            public=http,
            retry=RetryPolicy(attempts=5, base_delay=1.0, max_delay=8.0, max_wait=3.0),
            sleep=sleep,
            jitter=lambda: 1.0,
        )
        with pytest.raises(ApillonServerError):
            await apillon.get_credit_balance()

    assert waits == [1.0, 2.0]


async def test_a_refused_connection_keeps_its_cause_and_a_dropped_read_is_no_unknown_outcome() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    def drop(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.RemoteProtocolError("dropped", request=request)

    async with mocked(refuse) as refused_client:
        with pytest.raises(ApillonUnreachable) as refused:
            await refused_client.get_credit_balance()
    async with mocked(drop) as dropped_client:
        with pytest.raises(ApillonUnreachable) as dropped:
            await dropped_client.get_credit_balance()

    assert isinstance(refused.value.__cause__, httpx2.ConnectError)
    assert refused.value.may_have_reached_server is False
    assert dropped.value.may_have_reached_server is True
    assert dropped.value.outcome_unknown is False


async def test_an_unreadable_error_answer_to_a_write_is_an_unknown_outcome() -> None:
    async with mocked(lambda request: httpx2.Response(500, text="<html>oops</html>")) as apillon:
        with pytest.raises(ApillonBadResponse) as raised:
            await apillon.delete_job(str(uuid4()))

    assert raised.value.outcome_unknown is True


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {
                "code": 42200000,
                "message": "",
                "errors": [{"code": 42200008, "property": "name", "message": "too long"}],
            },
            42200000,
            "name: too long",
        ),
        (
            {"code": 500004, "message": "wrapped", "errors": [{"code": 42200008, "property": "name", "message": "x"}]},
            42200008,
            "wrapped",
        ),
        ({"message": 5, "errors": []}, None, "HTTP 422"),
    ],
    ids=["own-code-empty-message", "wrapper-code", "no-text"],
)
async def test_an_error_body_keeps_its_own_code_and_a_readable_message(
    body: dict[str, Any], code: int | None, message: str
) -> None:
    async with mocked(lambda request: httpx2.Response(422, json=body)) as apillon:
        with pytest.raises(ApillonValidationError) as raised:
            await apillon.get_credit_balance()

    assert (raised.value.code, raised.value.message) == (code, message)


async def test_a_retry_is_logged_with_what_failed(caplog: pytest.LogCaptureFixture) -> None:
    answers: Iterator[httpx2.Response | Exception] = iter(
        [httpx2.ConnectError("refused"), httpx2.Response(200, json={"data": {"balance": 1}})]
    )
    caplog.set_level(logging.INFO, logger="apillon_mcp.apillon.client")

    def handler(request: httpx2.Request) -> httpx2.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def no_wait(seconds: float) -> None:
        pass

    async with httpx2.AsyncClient(base_url=BASE, transport=httpx2.MockTransport(handler)) as http:
        assert await ApillonClient(http, public=http, sleep=no_wait).get_credit_balance() == 1

    assert "GET /project/credit: ConnectError, retry 1 in" in caplog.text


SESSION = "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b"
BUCKET = "5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c"


async def test_the_upload_flow_speaks_the_storage_api_as_documented() -> None:
    seen: list[httpx2.Request] = []
    envelope = {"id": "x", "status": 200}
    answers = {
        ("POST", f"/storage/buckets/{BUCKET}/upload"): {
            **envelope,
            "data": {"sessionUuid": SESSION, "files": [{"fileUuid": "f", "fileName": "a.js", "url": "https://s3/put"}]},
        },
        ("PUT", "/put"): None,
        ("POST", f"/storage/buckets/{BUCKET}/upload/{SESSION}/end"): {**envelope, "data": True},
        ("GET", f"/storage/buckets/{BUCKET}/files"): {
            **envelope,
            "data": {"items": [{"fileUuid": "f", "name": "a.js", "CID": HELLO_WORLD_CID, "fileStatus": 3}]},
        },
    }

    def storage(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        body = answers[(request.method, request.url.path)]
        return httpx2.Response(200) if body is None else httpx2.Response(201, json=body)

    async with mocked(storage) as apillon:
        opened = await apillon.start_upload(
            BUCKET, session_uuid=SESSION, file_name="a.js", content_type="application/javascript"
        )
        await apillon.put_upload(opened.files[0].url, b"code", content_type="application/javascript")
        await apillon.end_upload(BUCKET, SESSION)
        (stored,) = await apillon.list_session_files(BUCKET, SESSION)

    start, put, end, listing = seen
    assert json.loads(start.content) == {
        "sessionUuid": SESSION,
        "files": [{"fileName": "a.js", "contentType": "application/javascript"}],
    }
    assert (put.content, put.headers["content-type"]) == (b"code", "application/javascript")
    assert "authorization" not in put.headers
    assert json.loads(end.content) == {}
    assert dict(listing.url.params) == {"sessionUuid": SESSION, "limit": "200"}
    assert stored.cid == HELLO_WORLD_CID


@pytest.mark.parametrize("data", [[], {"items": None}, {"total": 0}], ids=["a-list", "null-items", "no-items"])
async def test_a_file_listing_without_items_is_a_bad_response(data: object) -> None:
    async with mocked(lambda request: httpx2.Response(200, json={"id": "x", "status": 200, "data": data})) as apillon:
        with pytest.raises(ApillonBadResponse, match="the file listing has no items"):
            await apillon.list_session_files(BUCKET, SESSION)


async def test_a_presigned_upload_refused_or_unreachable_is_an_apillon_error() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(403, text="<Error><Code>SignatureDoesNotMatch</Code></Error>")

    def unreachable(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("no route", request=request)

    async with mocked(refuse) as apillon:
        with pytest.raises(ApillonBadResponse) as refused:
            await apillon.put_upload("https://s3.example/put", b"code", content_type="application/javascript")
    async with mocked(unreachable) as apillon:
        with pytest.raises(ApillonUnreachable) as lost:
            await apillon.put_upload("https://s3.example/put", b"code", content_type="application/javascript")

    assert refused.value.status == 403
    assert "refused the file with HTTP 403" in str(refused.value) and "SignatureDoesNotMatch" in str(refused.value)
    assert "the presigned upload URL" in str(lost.value)


async def test_an_unreachable_gateway_and_an_endless_reply_are_handled() -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 65536

    def unreachable(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("no route", request=request)

    async with mocked(lambda request: httpx2.Response(200, content=endless())) as apillon:
        reply = await apillon.call_gateway("https://gateway.example/fn", "/", body=None)
    async with mocked(unreachable) as apillon:
        with pytest.raises(ApillonUnreachable) as lost:
            await apillon.call_gateway("https://gateway.example/fn", "/", body=None)

    assert reply.truncated and len(reply.text) == 1024 * 1024
    assert "POST the gateway URL failed" in str(lost.value)


async def test_odd_error_entries_and_unexpected_data_are_read_without_failing() -> None:
    errors = ["not an object", {"code": 42200008, "property": "name", "message": "too long"}]
    async with mocked(lambda request: httpx2.Response(422, json={"errors": errors})) as apillon:
        with pytest.raises(ApillonValidationError) as refused:
            await apillon.get_credit_balance()
    async with mocked(lambda request: httpx2.Response(200, json={"data": "a string"})) as apillon:
        with pytest.raises(ApillonBadResponse) as odd:
            await apillon.get_credit_balance()

    assert [e.property for e in refused.value.field_errors] == ["name"]
    assert str(odd.value) == "Apillon answered with data of an unexpected shape (fields: data)"


async def test_a_callers_client_keeps_the_servers_retry_policy_and_clock() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    answers = iter([httpx2.Response(503, json={"code": 50300000, "message": "down"})] * 3)
    async with httpx2.AsyncClient(base_url=BASE, transport=httpx2.MockTransport(lambda r: next(answers))) as http:
        own = ApillonClient(http, public=http, retry=RetryPolicy(attempts=2), sleep=sleep, jitter=lambda: 0.0)
        with pytest.raises(ApillonServerError):
            await own.with_credentials("k", "s").get_credit_balance()
    ticks = iter([1.0, 1.125])
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(lambda r: httpx2.Response(200))) as public:
        timed = ApillonClient(public, public=public, timer=lambda: next(ticks)).with_credentials("k", "s")
        reply = await timed.call_gateway("https://gateway.example/fn", "/", body=None)

    assert waits == [0.25]  # two tries in all, as the server's own client has
    assert reply.elapsed_ms == 125.0
