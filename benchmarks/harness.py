"""The server under test, in process: an emulator on a manual clock, and the MCP server built against it."""

from __future__ import annotations

from typing import Any, Literal

from mcp import Client
from mcp.types import CallToolResult

from apillon_mcp.apillon import Connect
from apillon_mcp.config import Settings
from apillon_mcp.context import ApillonServer
from apillon_mcp.emulator import EmulatorState, ManualClock
from apillon_mcp.server import build_sandbox_server
from benchmarks.sizes import summary_text


class ToolFailed(Exception):
    """A tool answered with an error where the benchmark needs a result."""


def settings(*, transport: Literal["stdio", "http"] = "stdio", http_token: str | None = None) -> Settings:
    """Settings for the sandbox, stated in full so that APILLON_* variables of the shell change nothing."""
    return Settings(
        emulator=True,
        read_only=False,
        tools=None,
        per_request_credentials=False,
        transport=transport,
        http_token=http_token,
    )


class Sandbox:
    """An emulator whose clock moves only when the server waits: a deploy's wait advances it instead of sleeping."""

    def __init__(self) -> None:
        self.state = EmulatorState(clock=ManualClock())

    def server(self, connect: Connect | None = None, config: Settings | None = None) -> ApillonServer:
        return build_sandbox_server(self.state, config or settings(), connect=connect)


async def call(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
    """Call a tool; raise `ToolFailed` when it answers with an error."""
    result = await client.call_tool(tool, arguments or {})
    if result.is_error:
        raise ToolFailed(f"{tool} failed: {summary_text(result)}")
    return result
