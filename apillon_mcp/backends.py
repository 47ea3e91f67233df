"""Where the server's Apillon client points: the live API, or the embedded emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import httpx2

from apillon_mcp import __version__
from apillon_mcp.apillon import ApillonClient, Connect, open_client
from apillon_mcp.apillon.client import DEFAULT_RETRY
from apillon_mcp.apillon.retry import RetryPolicy
from apillon_mcp.config import Settings

if TYPE_CHECKING:
    from apillon_mcp.emulator import EmulatorState

USER_AGENT = f"apillon-mcp/{__version__}"
SANDBOX_URL = "http://sandbox.invalid"
"""Base URL of the in-process emulator: requests never leave the process."""


class SandboxTransport(httpx2.ASGITransport):
    """The emulator in-process, failing the way a network does: a connection it drops is a protocol error."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        from apillon_mcp.emulator import ConnectionDropped

        try:
            return await super().handle_async_request(request)
        except ConnectionDropped as dropped:
            raise httpx2.RemoteProtocolError(str(dropped), request=request) from dropped


def live_api(settings: Settings) -> Connect:
    """The client against Apillon on the server's own key; with per-request credentials on none at all, so that
    nothing can act on a key no caller sent (each call brings its own, see `context.apillon`)."""
    key: str | None = None
    secret: str | None = None
    if not settings.per_request_credentials:
        if settings.api_key is None or settings.api_secret is None:
            raise ValueError("live API access needs APILLON_API_KEY and APILLON_API_SECRET")
        key, secret = settings.api_key.get_secret_value(), settings.api_secret.get_secret_value()

    def connect() -> AbstractAsyncContextManager[ApillonClient]:
        return open_client(
            base_url=settings.api_url,
            api_key=key,
            api_secret=secret,
            user_agent=USER_AGENT,
            retry=settings.retry_policy,
        )

    return connect


def sandbox_api(
    state: EmulatorState,
    *,
    api_key: str | None = None,
    api_secret: str | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> Connect:
    """The client against an in-process emulator, through the same HTTP stack as the live API.

    Without a key the client uses the emulator's default key, which holds every role. `sleep` paces retries (tests
    make it advance the emulator clock). The processes running the sandbox's scripts stop when the last client
    opened by `connect` closes.
    """
    from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, create_emulator
    from apillon_mcp.emulator.gateway import script_pool

    app = create_emulator(state)
    scripts = script_pool(app)
    key = DEFAULT_API_KEY if api_key is None else api_key
    secret = DEFAULT_API_SECRET if api_secret is None else api_secret

    @asynccontextmanager
    async def connect() -> AsyncIterator[ApillonClient]:
        # The sandbox's script processes stop when the last server using it stops.
        async with (
            scripts.session(),
            open_client(
                base_url=SANDBOX_URL,
                api_key=key,
                api_secret=secret,
                user_agent=USER_AGENT,
                transport=SandboxTransport(app=app),
                retry=retry,
                sleep=sleep,
            ) as client,
        ):
            yield client

    return connect
