from collections.abc import AsyncGenerator, Callable
from typing import Literal

import pytest
from mcp import Client

from apillon_mcp.backends import sandbox_api
from apillon_mcp.config import Settings
from apillon_mcp.context import ApillonServer
from apillon_mcp.emulator import EmulatorState, ManualClock
from apillon_mcp.server import build_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emulator() -> EmulatorState:
    """The emulated Apillon, on a clock that moves only when a test advances it."""
    return EmulatorState(clock=ManualClock())


ServerFactory = Callable[..., ApillonServer]


@pytest.fixture
def make_server(emulator: EmulatorState) -> ServerFactory:
    """Builds the MCP server against the emulator. Tokens and waits follow the emulator clock: a wait advances it."""

    async def sleep(seconds: float) -> None:
        emulator.clock.advance(seconds)

    def make(
        *, api_key: str | None = None, api_secret: str | None = None, transport: Literal["stdio", "http"] = "stdio"
    ) -> ApillonServer:
        return build_server(
            Settings(emulator=True, transport=transport),
            sandbox_api(emulator, api_key=api_key, api_secret=api_secret),
            clock=lambda: emulator.clock.now().timestamp(),
            sleep=sleep,
        )

    return make


@pytest.fixture
async def mcp(make_server: ServerFactory) -> AsyncGenerator[Client, None]:
    """An MCP client session (no elicitation support) against the server against the emulator."""
    async with Client(make_server(), raise_exceptions=True) as client:
        yield client
