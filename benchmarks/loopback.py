"""An ASGI app served by uvicorn on a free 127.0.0.1 port, in this event loop, for the length of a block.

For the benchmarks, and for the tests that are about a real socket.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp


@asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[str]:
    """Yields the base URL once the socket listens and the app's lifespan has started; no polling, no sleeps."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        # Requests still running at the end (a test's deliberately slow answer) are cut after a second.
        config = uvicorn.Config(app, lifespan="on", log_level="warning", timeout_graceful_shutdown=1)
        config.load()
        server = uvicorn.Server(config)
        # `startup` expects what `serve` would have set up first: the lifespan handler.
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[listener])
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await server.shutdown(sockets=[listener])
