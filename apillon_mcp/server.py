"""The composition root: an MCPServer wired to an Apillon client."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from mcp.server.mcpserver import MCPServer

from apillon_mcp import __version__, dashboard, prompts, resources
from apillon_mcp.apillon import Connect
from apillon_mcp.apillon.lookup import JobLocator
from apillon_mcp.backends import sandbox_api
from apillon_mcp.config import Settings
from apillon_mcp.confirm import HEARTBEAT_SECONDS, ConfirmationGuard
from apillon_mcp.context import ApillonServer, AppState, Sandbox
from apillon_mcp.form_replies import OneUsePerReply
from apillon_mcp.instructions import instructions_for
from apillon_mcp.keys import ServerKeys
from apillon_mcp.spending import SpendingLedger
from apillon_mcp.tools import select_tools

if TYPE_CHECKING:
    from apillon_mcp.emulator import EmulatorState


def build_server(
    settings: Settings,
    connect: Connect,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> ApillonServer:
    """An MCP server with the tools `settings` select; `clock` and `sleep` time confirmation tokens and waits,
    `heartbeat` the progress notifications that keep a client waiting for the user's answer to a form.

    Raises `ToolSelectionError` when the selection names unknown tools.
    """
    tools = select_tools(read_only=settings.read_only, names=settings.tools)
    keys = ServerKeys.from_setting(settings.confirmation_key)
    guard = ConfirmationGuard(keys.confirmation, clock=clock)
    jobs = JobLocator()
    spending = SpendingLedger(settings.spending_cap_credits)
    sandbox = Sandbox.on(settings.emulator_state) if settings.emulator else None

    @asynccontextmanager
    async def lifespan(_: ApillonServer) -> AsyncGenerator[AppState, None]:
        async with connect() as client:
            yield AppState(
                client=client,
                per_request_credentials=settings.per_request_credentials,
                guard=guard,
                jobs=jobs,
                clock=clock,
                sleep=sleep,
                elicitation_timeout=settings.elicitation_timeout_seconds,
                heartbeat=heartbeat,
                local_files=settings.transport == "stdio",
                spending=spending,
                sandbox=sandbox,
            )

    mcp: ApillonServer = MCPServer(
        "apillon-mcp",
        title="Apillon Cloud Functions",
        version=__version__,
        instructions=instructions_for(
            [tool.name for tool in tools], read_only=settings.read_only, sandbox=settings.emulator
        ),
        lifespan=lifespan,
        tools=[tool.build() for tool in tools],
        request_state_security=keys.request_state_security(
            ttl=settings.elicitation_timeout_seconds, per_caller=settings.per_request_credentials
        ),
        extensions=dashboard.apps_for(tool.view for tool in tools),
    )
    # Outermost, so that it sees each form reply's state still sealed by the SDK.
    mcp.middleware.insert(0, OneUsePerReply(ttl=settings.elicitation_timeout_seconds, clock=clock))
    resources.register(mcp)
    prompts.register(mcp, tools=[tool.name for tool in tools])
    return mcp


def build_sandbox_server(
    emulator: EmulatorState,
    settings: Settings | None = None,
    *,
    connect: Connect | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> ApillonServer:
    """A server against an in-process emulator that runs on the emulator's clock: confirmation tokens expire by it,
    and every wait (a deploy's, a retry's) advances it instead of sleeping, so that minutes pass at once.

    `sleep` replaces that wait (it should still advance the clock); `connect` another client of the same emulator
    (one that records its requests, say). The demo, the tests and the benchmarks build their servers here.
    """

    async def skip_ahead(seconds: float) -> None:
        emulator.clock.advance(seconds)

    wait = sleep or skip_ahead
    return build_server(
        settings or Settings(emulator=True),
        connect or sandbox_api(emulator, api_key=api_key, api_secret=api_secret, sleep=wait),
        clock=lambda: emulator.clock.now().timestamp(),
        sleep=wait,
        heartbeat=heartbeat,
    )
