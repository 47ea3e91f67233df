"""The emulator's request log: (method, target) of every request it serves but its own control routes."""

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from apillon_mcp.emulator.routing import request_target
from apillon_mcp.emulator.state import EmulatorState

CONTROL_PREFIX = "/_emulator"


class RequestLog:
    """ASGI middleware appending each HTTP request to `state.requests` before the app sees it."""

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self._app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _is_control(scope["path"]):
            self._state.requests.append((scope["method"], request_target(Request(scope))))
        await self._app(scope, receive, send)


def _is_control(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(f"{CONTROL_PREFIX}/")
