"""What every tool call can reach: the state the server holds for its lifetime."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from apillon_mcp.apillon import ApillonClient
from apillon_mcp.apillon.lookup import JobLocator
from apillon_mcp.confirm import ConfirmationGuard
from apillon_mcp.spending import SpendingLedger

CREDENTIAL_HEADERS = ("X-Apillon-Api-Key", "X-Apillon-Api-Secret")


@dataclass(frozen=True)
class Sandbox:
    """The server runs against the offline emulator: nothing is public and the credits are play money."""

    top_up: str
    """How the user adds credits to this sandbox, as a sentence."""

    @classmethod
    def on(cls, state: Path | None) -> Sandbox:
        """The sandbox whose state is kept at `state` (None: the default file; `:memory:`: nowhere)."""
        if state is not None and str(state) == ":memory:":
            return cls("this sandbox keeps its state in memory only: restart the server for a fresh 1000 credits")
        where = "" if state is None else f" --emulator-state {shlex.quote(str(state))}"
        return cls(f"run `apillon-mcp sandbox top-up 1000{where}` in a terminal (the server sees it at once)")


@dataclass(frozen=True)
class AppState:
    client: ApillonClient
    """The client on the server's own credentials; tools reach Apillon through `apillon(ctx)`."""
    per_request_credentials: bool
    """Each request brings the caller's key and secret in `CREDENTIAL_HEADERS`; the server holds none."""
    guard: ConfirmationGuard
    jobs: JobLocator
    clock: Callable[[], float]
    """Seconds since the epoch; times confirmation tokens and waits."""
    sleep: Callable[[float], Awaitable[None]]
    elicitation_timeout: float
    """Longest wait for the user's answer to a confirmation asked mid-call (handshake-era connections)."""
    heartbeat: float
    """Seconds between the progress notifications sent while such an answer is awaited."""
    local_files: bool
    """The server runs on the user's machine (stdio), so tools may read files the user names."""
    spending: SpendingLedger
    """What this server may still spend on jobs (its own cap, if configured)."""
    sandbox: Sandbox | None = None
    """Set when the server runs against the offline emulator."""


ToolContext = Context[AppState, Any]
ApillonServer = MCPServer[AppState]


def app_state(ctx: ToolContext) -> AppState:
    return ctx.request_context.lifespan_context


def apillon(ctx: ToolContext) -> ApillonClient:
    """The Apillon client for this request: the server's credentials, or the caller's."""
    state = app_state(ctx)
    if not state.per_request_credentials:
        return state.client
    headers = ctx.headers or {}
    key, secret = (headers.get(name) for name in CREDENTIAL_HEADERS)
    if not key or not secret:
        raise ToolError(
            "This server uses each caller's own Apillon API key: send it in the X-Apillon-Api-Key and "
            "X-Apillon-Api-Secret request headers (configure them as headers of this MCP server in your client)."
        )
    return state.client.with_credentials(key, secret)
