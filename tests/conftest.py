from collections.abc import AsyncGenerator
from typing import Any, Literal

import pytest
from mcp import Client

from apillon_mcp.config import Settings
from apillon_mcp.context import ApillonServer
from apillon_mcp.emulator import EmulatorState, ManualClock
from apillon_mcp.server import build_sandbox_server

from support import ServerFactory, Waits


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emulator() -> EmulatorState:
    """The emulated Apillon, on a clock that moves only when a test advances it."""
    return EmulatorState(clock=ManualClock())


@pytest.fixture
def waits(emulator: EmulatorState) -> Waits:
    return Waits(emulator)


@pytest.fixture
def make_server(emulator: EmulatorState, waits: Waits) -> ServerFactory:
    """Builds the MCP server against the emulator. Tokens, waits and retries follow the emulator clock."""

    def make(
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        transport: Literal["stdio", "http"] = "stdio",
        **settings: Any,
    ) -> ApillonServer:
        return build_sandbox_server(
            emulator,
            Settings(emulator=True, transport=transport, **settings),
            api_key=api_key,
            api_secret=api_secret,
            sleep=waits,
        )

    return make


@pytest.fixture
async def mcp(make_server: ServerFactory) -> AsyncGenerator[Client, None]:
    """An MCP client session (no elicitation support) against the server against the emulator."""
    async with Client(make_server(), raise_exceptions=True) as client:
        yield client
