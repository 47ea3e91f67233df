"""The emulator as a Starlette app: Apillon's API behind its middleware order, plus `/_emulator/` controls.

Every API request goes: request log → injected fault → JSON body parser → Basic auth → route (404 if none)
→ role guard → endpoint. Errors leave as `{"id", ..., "path", "timestamp"}`; successes as `{"id", "status", "data"}`.
"""

import json
from uuid import uuid4

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route

from apillon_mcp.emulator.api import ApiRoute, Call, CloudFunctionApi
from apillon_mcp.emulator.auth import parse_basic_credentials, require_role
from apillon_mcp.emulator.control import ControlRoutes
from apillon_mcp.emulator.errors import EmulatedError
from apillon_mcp.emulator.faults import Fault, take_fault
from apillon_mcp.emulator.records import Service
from apillon_mcp.emulator.state import EmulatorState
from apillon_mcp.emulator.wire import iso

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_emulator(state: EmulatorState) -> Starlette:
    """The ASGI app serving `state`; mount it, serve it with uvicorn, or drive it through `httpx2.ASGITransport`."""
    controls = ControlRoutes(state)
    api = ApiDispatcher(state, CloudFunctionApi(state).routes())
    return Starlette(
        routes=[Mount("/_emulator", routes=controls.routes()), Route("/{path:path}", api.dispatch, methods=_METHODS)]
    )


class ApiDispatcher:
    def __init__(self, state: EmulatorState, routes: list[ApiRoute]) -> None:
        self._state = state
        self._routes = routes

    async def dispatch(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1").split("?", 1)[0]
        query = request.scope["query_string"].decode("latin-1")
        target = f"{raw_path}?{query}" if query else raw_path
        self._state.requests.append((request.method, target))
        fault = take_fault(self._state.faults, request.method, request.url.path)
        if fault is not None:
            return await self._faulted(fault, target)
        try:
            payload = await self._handle(request, raw_path, target)
        except EmulatedError as error:
            return JSONResponse(self._error_body(error.fields, target), status_code=error.status)
        status = 201 if request.method == "POST" else 200
        return JSONResponse({"id": str(uuid4()), "status": status, "data": payload}, status_code=status)

    async def _handle(self, request: Request, raw_path: str, target: str) -> object:
        body = await _json_body(request)
        api_key = self._state.authenticate(*parse_basic_credentials(request.headers.get("authorization")))
        route, params = self._route(request.method, raw_path, target)
        if route.role is not None:
            require_role(api_key, route.role, Service.COMPUTING)
        query = {name: request.query_params.getlist(name) for name in request.query_params}
        return route.handler(Call(request, api_key, params, query, body))

    def _route(self, method: str, raw_path: str, target: str) -> tuple[ApiRoute, dict[str, str]]:
        for route in self._routes:
            params = route.match(method, raw_path)
            if params is not None:
                return route, params
        raise EmulatedError.unhandled(404, f"Cannot {method} {target}")

    async def _faulted(self, fault: Fault, target: str) -> Response:
        await anyio.sleep(fault.delay_seconds)
        if isinstance(fault.body, str):
            return HTMLResponse(fault.body, status_code=fault.status)
        if fault.body is None:
            default = EmulatedError.unhandled(fault.status)
            return JSONResponse(self._error_body(default.fields, target), status_code=fault.status)
        return JSONResponse(fault.body, status_code=fault.status)

    def _error_body(self, fields: dict[str, object], target: str) -> dict[str, object]:
        return {"id": str(uuid4()), **fields, "path": target, "timestamp": iso(self._state.clock.now())}


async def _json_body(request: Request) -> dict[str, object]:
    """What the JSON body parser hands on: parsed objects, `{}` otherwise; bad JSON is a 400 before auth."""
    raw = await request.body()
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" or not raw.strip():
        return {}
    text = raw.decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise EmulatedError.unhandled(400, _syntax_message(text, error.pos)) from error
    if not isinstance(value, dict | list):  # the parser's strict mode accepts only objects and arrays
        raise EmulatedError.unhandled(400, _syntax_message(text, len(text) - len(text.lstrip())))
    return value if isinstance(value, dict) else {}


def _syntax_message(text: str, position: int) -> str:
    if position >= len(text):
        return "Unexpected end of JSON input"
    return f"Unexpected token {text[position]} in JSON at position {position}"
