"""Streamable HTTP over a real socket: tokens, Host checks, health, per-request credentials, script_path."""

import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypedDict, Unpack

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apillon_mcp import __version__
from apillon_mcp.apillon import ApillonClient, open_client
from apillon_mcp.backends import sandbox_api
from apillon_mcp.config import Settings
from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, EmulatorState, create_emulator
from apillon_mcp.http_transport import BearerTokenGate, HttpConfigError, check_http_settings, http_app, serve_http
from apillon_mcp.server import build_server

from loopback import served
from scripts import ECHO
from support import ALL_ROLES, SetsCookies, data, text

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-token-of-the-team-0123456789"


class HttpOverrides(TypedDict, total=False):
    host: str
    port: int
    http_token: str
    allowed_hosts: tuple[str, ...]
    per_request_credentials: bool


def http_settings(**overrides: Unpack[HttpOverrides]) -> Settings:
    return Settings(emulator=True, transport="http", **overrides)


@asynccontextmanager
async def running(emulator: EmulatorState, settings: Settings) -> AsyncGenerator[str, None]:
    async with served(gate_on(emulator, settings)) as base:
        yield base


def gate_on(emulator: EmulatorState, settings: Settings) -> ASGIApp:
    """The HTTP app a server on the emulator serves: the bearer gate in front of the MCP endpoint."""
    return http_app(build_server(settings, sandbox_api(emulator)), check_http_settings(settings))


@asynccontextmanager
async def connect(base: str, headers: dict[str, str] | None = None) -> AsyncGenerator[Client, None]:
    """The SDK's client over streamable HTTP, sending `headers` with every request."""
    async with (
        httpx2.AsyncClient(headers=headers or {}, timeout=30) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        yield client


async def test_health_answers_without_a_token(emulator: EmulatorState) -> None:
    async with running(emulator, http_settings(http_token=TOKEN)) as base, httpx2.AsyncClient() as http:
        response = await http.get(f"{base}/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_without_the_token_mcp_answers_401(emulator: EmulatorState) -> None:
    async with running(emulator, http_settings(http_token=TOKEN)) as base, httpx2.AsyncClient() as http:
        missing = await http.post(f"{base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        wrong = await http.post(
            f"{base}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Authorization": "Bearer not-the-token-at-all-000"},
        )

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in missing.text + wrong.text


async def test_the_sdk_client_without_the_token_cannot_connect(emulator: EmulatorState) -> None:
    async with running(emulator, http_settings(http_token=TOKEN)) as base:
        with pytest.raises((MCPError, httpx2.HTTPStatusError, ExceptionGroup)):
            async with connect(base, {"Authorization": "Bearer wrong-wrong-wrong-wrong"}) as client:
                await client.list_tools()


async def test_with_the_token_tools_are_listed_and_called(emulator: EmulatorState) -> None:
    async with (
        running(emulator, http_settings(http_token=TOKEN)) as base,
        connect(base, {"Authorization": f"Bearer {TOKEN}"}) as client,
    ):
        listed = (await client.list_tools()).tools
        created = await client.call_tool("create_cloud_function", {"name": "over http"})

    assert len(listed) == 10
    assert data(created)["name"] == "over http"
    assert emulator.functions[data(created)["function_uuid"]].name == "over http"


async def test_a_foreign_host_header_is_refused(emulator: EmulatorState) -> None:
    async with running(emulator, http_settings(http_token=TOKEN)) as base, httpx2.AsyncClient() as http:
        response = await http.post(
            f"{base}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Host": "evil.example",
                "Accept": "application/json, text/event-stream",
            },
        )
        foreign_origin = await http.post(
            f"{base}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Origin": "http://evil.example",
                "Accept": "application/json, text/event-stream",
            },
        )

    assert response.status_code == 421
    assert foreign_origin.status_code == 403
    assert emulator.requests == []


async def test_a_configured_public_host_name_is_accepted(emulator: EmulatorState) -> None:
    settings = http_settings(http_token=TOKEN, allowed_hosts=("mcp.example.org",))
    headers = {"Authorization": f"Bearer {TOKEN}", "Host": "mcp.example.org"}
    async with running(emulator, settings) as base, connect(base, headers) as client:
        listed = (await client.list_tools()).tools

    assert len(listed) == 10


async def test_per_request_credentials_use_each_callers_key(emulator: EmulatorState) -> None:
    other_key, other_secret = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", "Other#Key123"
    emulator.add_api_key(other_key, other_secret, [], project_uuid="9a8b7c6d-5e4f-4321-8765-43210fedcba9")
    settings = http_settings(per_request_credentials=True)
    async with running(emulator, settings) as base:
        async with connect(base) as anonymous:
            refused = await anonymous.call_tool("list_cloud_functions", {})
        own = {"X-Apillon-Api-Key": DEFAULT_API_KEY, "X-Apillon-Api-Secret": DEFAULT_API_SECRET}
        async with connect(base, own) as caller:
            created = await caller.call_tool("create_cloud_function", {"name": "mine"})
        theirs = {"X-Apillon-Api-Key": other_key, "X-Apillon-Api-Secret": other_secret}
        async with connect(base, theirs) as stranger:
            forbidden = await stranger.call_tool("list_cloud_functions", {})

    assert refused.is_error and "X-Apillon-Api-Key" in text(refused)
    assert data(created)["name"] == "mine"
    assert forbidden.is_error and "KEY_READ" in text(forbidden)
    assert other_secret not in text(forbidden)


async def test_per_request_callers_share_no_cookies(emulator: EmulatorState) -> None:
    other_key, other_secret = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", "Other#Key123"
    emulator.add_api_key(other_key, other_secret, ALL_ROLES, project_uuid="9a8b7c6d-5e4f-4321-8765-43210fedcba9")
    apillon = SetsCookies(create_emulator(emulator))

    def connect_apillon() -> AbstractAsyncContextManager[ApillonClient]:
        transport = httpx2.ASGITransport(app=apillon)
        return open_client(
            base_url="http://apillon", api_key=None, api_secret=None, user_agent="t/1", transport=transport
        )

    settings = http_settings(per_request_credentials=True)
    mine = {"X-Apillon-Api-Key": DEFAULT_API_KEY, "X-Apillon-Api-Secret": DEFAULT_API_SECRET}
    theirs = {"X-Apillon-Api-Key": other_key, "X-Apillon-Api-Secret": other_secret}
    async with (
        served(http_app(build_server(settings, connect_apillon), check_http_settings(settings))) as base,
        connect(base, mine) as me,
        connect(base, theirs) as them,
    ):
        created = await me.call_tool("create_cloud_function", {"name": "mine"})
        their_listing = await them.call_tool("list_cloud_functions", {})
        my_listing = await me.call_tool("list_cloud_functions", {})

    assert data(created)["name"] == "mine"
    assert (data(their_listing)["total"], data(my_listing)["total"]) == (0, 1)
    assert apillon.cookies_received == [None, None, None]


async def test_script_path_is_refused_over_http(emulator: EmulatorState, tmp_path: Path) -> None:
    function = emulator.create_function("fn")
    script = tmp_path / "index.js"
    script.write_text(ECHO, encoding="utf-8")
    async with (
        running(emulator, http_settings(http_token=TOKEN)) as base,
        connect(base, {"Authorization": f"Bearer {TOKEN}"}) as client,
    ):
        answer = await client.call_tool(
            "deploy_cloud_function_script",
            {"function_uuid": function.function_uuid, "job_name": "v1", "script_path": str(script)},
        )

    assert answer.is_error
    assert "script_path is refused" in text(answer)


def websocket_scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
        "subprotocols": [],
    }


@pytest.mark.parametrize(
    "headers", [[], [(b"authorization", f"Bearer {TOKEN}".encode())]], ids=["without the token", "with the token"]
)
async def test_a_websocket_is_refused_before_anything_behind_the_gate_sees_it(
    emulator: EmulatorState, headers: list[tuple[bytes, bytes]]
) -> None:
    reached: list[Scope] = []
    sent: list[Message] = []

    async def behind(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope)

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await BearerTokenGate(behind, TOKEN)(websocket_scope(headers), receive, send)
    for settings in (http_settings(), http_settings(http_token=TOKEN)):
        await gate_on(emulator, settings)(websocket_scope(headers), receive, send)

    assert reached == []
    assert [(m["type"], m["code"]) for m in sent] == [("websocket.close", 1008)] * 3
    assert emulator.requests == []


async def test_an_unknown_kind_of_connection_is_refused() -> None:
    async def behind(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("reached the app behind the gate")

    async def receive() -> Message:
        raise AssertionError("nothing is read")

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    with pytest.raises(ValueError, match="unsupported ASGI scope type 'webtransport'"):
        await BearerTokenGate(behind, TOKEN)({"type": "webtransport", "path": "/mcp"}, receive, send)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (lambda: http_settings(host="0.0.0.0"), "without authentication"),
        (lambda: http_settings(host="10.1.2.3"), "without authentication"),
        (lambda: http_settings(http_token="short"), "too short"),
    ],
)
def test_unsafe_http_settings_refuse_to_start(settings: Callable[[], Settings], message: str) -> None:
    with pytest.raises(HttpConfigError, match=message):
        check_http_settings(settings())


def test_a_token_allows_binding_beyond_loopback() -> None:
    check_http_settings(http_settings(host="0.0.0.0", http_token=TOKEN))


@pytest.mark.fuzz
async def test_json_nested_deeper_than_any_client_sends_is_refused_and_the_server_keeps_answering(
    emulator: EmulatorState,
) -> None:
    depth = 100_000
    deep = '{"k":' * depth + "1" + "}" * depth
    call = (
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_cloud_functions",'
        f'"arguments":{{"search":{deep}}}}}}}'
    )
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
    }
    async with running(emulator, http_settings(http_token=TOKEN)) as base:
        async with httpx2.AsyncClient(timeout=30) as http:
            response = await http.post(f"{base}/mcp", content=call, headers=headers)
        async with connect(base, {"Authorization": f"Bearer {TOKEN}"}) as client:
            after = await client.call_tool("get_credit_balance", {})

    assert response.status_code < 500
    assert "Traceback" not in response.text
    assert data(after)["balance"] == 1000


@pytest.mark.load
async def test_fifty_concurrent_calls_over_http_across_sessions(emulator: EmulatorState) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    names: list[str] = []

    async def session(number: int) -> None:
        async with connect(base, headers) as client, anyio.create_task_group() as group:
            for n in range(10):
                group.start_soon(create, client, f"h{number}-{n}")

    async def create(client: Client, name: str) -> None:
        names.append(data(await client.call_tool("create_cloud_function", {"name": name}))["name"])

    async with running(emulator, http_settings(http_token=TOKEN)) as base, anyio.create_task_group() as group:
        for number in range(5):
            group.start_soon(session, number)

    assert sorted(names) == sorted(f"h{s}-{n}" for s in range(5) for n in range(10))
    assert sorted(f.name for f in emulator.functions.values()) == sorted(names)


async def post_tools_list(http: httpx2.AsyncClient, base: str, headers: dict[str, str]) -> httpx2.Response:
    return await http.post(
        f"{base}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Accept": "application/json, text/event-stream", **headers},
    )


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "localhost:8000"}, 200),
        ({"Host": "127.0.0.1"}, 200),
        ({"Host": "[::1]:8000"}, 200),
        ({"Origin": "http://localhost:8000"}, 200),
        ({"Origin": "https://127.0.0.1"}, 200),
        ({"Host": "192.0.2.10:8000"}, 200),
        ({"Origin": "https://192.0.2.10"}, 200),
        ({"Host": "192.0.2.11:8000"}, 421),
        ({"Origin": "ftp://localhost"}, 403),
        ({"Origin": "http://192.0.2.10.evil.example"}, 403),
    ],
)
async def test_a_server_bound_to_an_address_accepts_that_address_and_localhost_only(
    emulator: EmulatorState, headers: dict[str, str], status: int
) -> None:
    settings = http_settings(host="192.0.2.10", http_token=TOKEN)
    async with running(emulator, settings) as base, httpx2.AsyncClient() as http:
        response = await post_tools_list(http, base, {"Authorization": f"Bearer {TOKEN}", **headers})

    assert response.status_code == status


@pytest.mark.parametrize("authorization", [f"Basic {TOKEN}", f"Token {TOKEN}", TOKEN, f"Bearer {TOKEN}x", "Bearer"])
async def test_only_the_bearer_scheme_with_the_exact_token_is_let_in(
    emulator: EmulatorState, authorization: str
) -> None:
    async with running(emulator, http_settings(http_token=TOKEN)) as base, httpx2.AsyncClient() as http:
        refused = await post_tools_list(http, base, {"Authorization": authorization})
        accepted = await post_tools_list(http, base, {"Authorization": f"bearer  {TOKEN}"})

    assert refused.status_code == 401
    assert accepted.status_code == 200


async def test_health_is_one_complete_answer_even_where_a_token_is_required(emulator: EmulatorState) -> None:
    """In process, so that a second response after the first would fail the request, not vanish in a log."""
    settings = http_settings(http_token=TOKEN)
    app = gate_on(emulator, settings)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        response = await http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


def test_localhost_in_any_case_is_loopback_and_needs_no_token() -> None:
    assert check_http_settings(http_settings(host="LOCALHOST")).token is None
    with pytest.raises(HttpConfigError):
        check_http_settings(http_settings(host="localhost.example"))


@pytest.mark.parametrize("bound", ["0.0.0.0", "::"])
@pytest.mark.parametrize(
    ("host", "status"), [("localhost:8000", 200), ("0.0.0.0:8000", 421), ("[::]:8000", 421), ("mcp.example.org", 200)]
)
async def test_a_server_on_every_address_accepts_loopback_and_configured_names_not_the_wildcard(
    emulator: EmulatorState, bound: str, host: str, status: int
) -> None:
    """A browser may send a page's requests for 0.0.0.0 to this machine: the wildcard is no name of the server."""
    settings = http_settings(host=bound, http_token=TOKEN, allowed_hosts=("mcp.example.org",))
    async with running(emulator, settings) as base, httpx2.AsyncClient() as http:
        response = await post_tools_list(http, base, {"Authorization": f"Bearer {TOKEN}", "Host": host})

    assert response.status_code == status


def test_a_token_of_16_characters_is_long_enough_and_15_is_not() -> None:
    assert check_http_settings(http_settings(host="0.0.0.0", http_token="t" * 16)).token == "t" * 16
    with pytest.raises(HttpConfigError, match="too short"):
        check_http_settings(http_settings(host="0.0.0.0", http_token="t" * 15))


async def test_the_gate_passes_the_servers_start_and_stop_through_and_nothing_more(emulator: EmulatorState) -> None:
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[Message] = []

    async def receive() -> Message:
        return next(incoming)

    async def send(message: Message) -> None:
        sent.append(message)

    await gate_on(emulator, http_settings(http_token=TOKEN))(
        {"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send
    )

    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_a_websocket_is_closed_with_the_reason(emulator: EmulatorState) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await gate_on(emulator, http_settings())(websocket_scope([]), receive, send)

    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "MCP is served over HTTP"}]


async def test_answers_are_plain_json_and_a_refusal_says_how_to_authenticate(emulator: EmulatorState) -> None:
    async with running(emulator, http_settings(http_token=TOKEN)) as base, httpx2.AsyncClient() as http:
        refused = await post_tools_list(http, base, {})
        listed = await post_tools_list(http, base, {"Authorization": f"Bearer {TOKEN}"})
        ping = await http.post(
            f"{base}/mcp",
            json={"jsonrpc": "2.0", "id": 2, "method": "ping"},
            headers={"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {TOKEN}"},
        )
        called_without_params = await http.post(
            f"{base}/mcp",
            json={"jsonrpc": "2.0", "id": 3, "method": "tools/call"},
            headers={"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {TOKEN}"},
        )

    assert refused.status_code == 401
    assert refused.json() == {
        "error": "unauthorized",
        "error_description": "send 'Authorization: Bearer <APILLON_MCP_TOKEN>'",
    }
    assert listed.headers["content-type"].startswith("application/json")
    assert len(listed.json()["result"]["tools"]) == 10
    assert ping.status_code == 200 and "error" not in ping.json()
    assert called_without_params.json()["error"]["code"] == -32602  # invalid params, not a crash of the server


async def test_a_server_on_another_loopback_address_answers_to_that_address(emulator: EmulatorState) -> None:
    async with running(emulator, http_settings(host="127.0.0.2")) as base, httpx2.AsyncClient() as http:
        own = await post_tools_list(http, base, {"Host": "127.0.0.2:8000"})
        other = await post_tools_list(http, base, {"Host": "127.0.0.3:8000"})

    assert own.status_code == 200
    assert other.status_code == 421


async def test_serve_http_runs_the_gated_app_where_configured_and_says_so(
    emulator: EmulatorState, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import uvicorn

    runs: list[tuple[ASGIApp, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append((app, options)))
    caplog.set_level(logging.INFO, logger="apillon_mcp.http_transport")

    settings = http_settings(host="0.0.0.0", port=8765, http_token=TOKEN)
    serve_http(build_server(settings, sandbox_api(emulator)), check_http_settings(settings))

    ((app, options),) = runs
    assert options == {"host": "0.0.0.0", "port": 8765, "log_level": "info", "lifespan": "on"}
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://localhost") as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await post_tools_list(http, "http://localhost", {})).status_code == 401
    assert "serving MCP at http://0.0.0.0:8765/mcp (bearer token required)" in caplog.text
    loopback = http_settings(port=8766)
    serve_http(build_server(loopback, sandbox_api(emulator)), check_http_settings(loopback))
    assert "serving MCP at http://127.0.0.1:8766/mcp (no token (loopback only))" in caplog.text
