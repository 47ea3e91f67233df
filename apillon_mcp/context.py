"""What every tool call can reach: the state the server holds for its lifetime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context, MCPServer

from apillon_mcp.apillon import ApillonClient
from apillon_mcp.apillon.lookup import JobLocator
from apillon_mcp.confirm import ConfirmationGuard


@dataclass(frozen=True)
class AppState:
    apillon: ApillonClient
    guard: ConfirmationGuard
    jobs: JobLocator
    clock: Callable[[], float]
    """Seconds since the epoch; times confirmation tokens and waits."""
    sleep: Callable[[float], Awaitable[None]]
    local_files: bool
    """The server runs on the user's machine (stdio), so tools may read files the user names."""


ToolContext = Context[AppState, Any]
ApillonServer = MCPServer[AppState]


def app_state(ctx: ToolContext) -> AppState:
    return ctx.request_context.lifespan_context


def apillon(ctx: ToolContext) -> ApillonClient:
    return app_state(ctx).apillon
