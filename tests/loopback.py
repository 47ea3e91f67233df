"""An ASGI app served by uvicorn on a free 127.0.0.1 port, for the tests that are about a real socket.

Only uvicorn's public API: `Server.serve` on a socket bound and listening before it starts, so that a client may
connect at once (the kernel queues the connection until uvicorn accepts it). The block starts once the app's
lifespan has started, noticed from the app's own lifespan messages: no polling, no sleeps.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _LifespanWatch:
    """Passes everything through, and tells when the app has answered its lifespan start-up."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self.started = anyio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self._app(scope, receive, send)
            return

        async def watched(message: Message) -> None:
            await send(message)
            if message["type"] in ("lifespan.startup.complete", "lifespan.startup.failed"):
                self.started.set()

        await self._app(scope, receive, watched)


@asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[str]:
    """Yields the base URL while uvicorn serves `app`; on exit the server shuts down and the port is freed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        watch = _LifespanWatch(app)
        # Requests still running at the end (a test's deliberately slow answer) are cut after a second.
        config = uvicorn.Config(watch, lifespan="on", log_level="warning", timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        async with anyio.create_task_group() as group:

            async def serve() -> None:
                try:
                    await server.serve(sockets=[listener])
                finally:
                    watch.started.set()  # a server that could not start must not leave the test waiting

            group.start_soon(serve)
            await watch.started.wait()
            if server.should_exit:
                raise RuntimeError("uvicorn could not start the app (see the log above)")
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True
