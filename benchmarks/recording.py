"""An Apillon client whose every response is kept: the raw API bytes a tool read to build its result."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx2
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apillon_mcp.apillon import ApillonClient, Connect, open_client
from apillon_mcp.backends import SANDBOX_URL, USER_AGENT
from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, EmulatorState, create_emulator
from apillon_mcp.emulator.gateway import script_pool


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    status: int
    body: bytes
    """The whole response body, envelope included."""


class Recorder:
    """ASGI middleware that keeps each HTTP response body, in order."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self.exchanges: list[Exchange] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        status = 0
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self._app(scope, receive, keep)
        self.exchanges.append(Exchange(scope["method"], scope["path"], status, b"".join(chunks)))

    def take(self) -> list[Exchange]:
        """The exchanges so far, forgetting them."""
        taken, self.exchanges = self.exchanges, []
        return taken

    def find(self, method: str, path: str) -> list[Exchange]:
        return [exchange for exchange in self.exchanges if exchange.method == method and exchange.path == path]


def recording_api(state: EmulatorState) -> tuple[Connect, Recorder]:
    """`sandbox_api(state)` with the emulator behind a `Recorder`: same URL, key, user agent and transport."""
    app = create_emulator(state)
    recorder = Recorder(app)

    @asynccontextmanager
    async def connect() -> AsyncIterator[ApillonClient]:
        async with (
            script_pool(app).session(),  # the scripts' processes stop with the client
            open_client(
                base_url=SANDBOX_URL,
                api_key=DEFAULT_API_KEY,
                api_secret=DEFAULT_API_SECRET,
                user_agent=USER_AGENT,
                transport=httpx2.ASGITransport(app=recorder),
            ) as client,
        ):
            yield client

    return connect, recorder
