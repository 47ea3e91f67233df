"""Helpers shared by the tests."""

import hashlib
import itertools
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import httpx2
from mcp.types import CallToolResult, TextContent
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apillon_mcp.context import ApillonServer
from apillon_mcp.emulator import EmulatorState, Role, Service

ALL_ROLES = [(role, service) for role in Role for service in (Service.COMPUTING, Service.STORAGE)]

HELLO_WORLD_CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
"""The CIDv0 of a file holding `hello world\n`: any valid script CID, where the script's bytes do not matter."""

NO_AUTH = httpx2.Auth()
"""No credentials on one request of a client that has them (a presigned upload URL, the emulator's bearer-token
controls): what `auth=None` means to httpx, in the type every request method takes."""

ServerFactory = Callable[..., ApillonServer]
"""The `make_server` fixture: builds the MCP server against the test's emulator (see conftest)."""

Serve = Callable[..., AbstractAsyncContextManager[str]]
"""The browser tests' `serve` fixture: serves the MCP server and the test host page over HTTP (see ui/conftest)."""


class Waits:
    """The server's and the client's sleeps, in order: each advances the emulator clock instead of waiting."""

    def __init__(self, emulator: EmulatorState) -> None:
        self._emulator = emulator
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        self._emulator.clock.advance(seconds)


def text(answer: CallToolResult) -> str:
    return "\n".join(block.text for block in answer.content if isinstance(block, TextContent))


def token_of(answer: CallToolResult | str) -> str:
    """The confirmation token an answer (or its text) asks to be sent back."""
    match = re.search(r'confirmation_token="([^"]+)"', answer if isinstance(answer, str) else text(answer))
    assert match is not None, answer
    return match.group(1)


def data(answer: CallToolResult) -> dict[str, Any]:
    assert not answer.is_error, text(answer)
    assert isinstance(answer.structured_content, dict)
    return answer.structured_content


def add_key_without(emulator: EmulatorState, missing: tuple[Role, Service]) -> tuple[str, str]:
    """A key of the default project holding every role but `missing`."""
    key, secret = "0f6a3b2c-9d84-4e1f-a7b5-c3d2e1f09a8b", "Lim1ted#Key9"
    emulator.add_api_key(key, secret, [r for r in ALL_ROLES if r != missing])
    return key, secret


class SetsCookies:
    """An ASGI app in front of another that answers every request with a `Set-Cookie` (a session named after the
    caller's Authorization header) and records the `Cookie` header each request arrived with."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self.cookies_received: list[str | None] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        self.cookies_received.append(headers.get("cookie"))
        session = hashlib.sha256(headers.get("authorization", "").encode()).hexdigest()[:16]

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = f"session={session}; Path=/; HttpOnly".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        await self._app(scope, receive, send_with_cookie)


@dataclass(frozen=True)
class Forwarded:
    upstream: int
    """Which upstream answered: its index in the proxy's list."""
    headers: list[tuple[str, str]]
    body: bytes


class RoundRobinProxy:
    """A reverse proxy that sends each HTTP request to the next of its upstreams in turn, as a round-robin load
    balancer does, and logs which one answered each request."""

    _HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"})

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self._next = itertools.cycle(range(len(upstreams)))
        self.log: list[Forwarded] = []
        self.url = ""
        """Where the proxy itself listens, once it is served."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        request = Request(scope, receive)
        body = await request.body()
        upstream = next(self._next)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in self._HOP_BY_HOP]
        self.log.append(Forwarded(upstream, headers, body))
        url = f"{self.upstreams[upstream]}{request.url.path}"
        async with httpx2.AsyncClient(timeout=30) as http:
            answer = await http.request(request.method, url, params=request.query_params, headers=headers, content=body)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in self._HOP_BY_HOP | {"content-encoding"}}
        await Response(answer.content, status_code=answer.status_code, headers=kept)(scope, receive, send)
