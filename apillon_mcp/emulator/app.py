"""The emulator as a Starlette app: Apillon's API behind its middleware order, plus `/_emulator/` controls.

Every API request goes: request log → injected fault → JSON body parser → Basic auth → route (404 if none)
→ the route's guards in its controller's order (role, body validation) → endpoint. Errors leave as
`{"id", ..., "path", "timestamp"}`; successes as `{"id", "status", "data"}`.
Beside the API and outside its auth and faults: the function gateway (`/gateway/<uuid>/…`), the presigned S3
upload URLs (`/s3/…`) and an IPFS gateway (`/ipfs/<cid>`).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import uuid4

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from apillon_mcp.emulator.auth import parse_basic_credentials
from apillon_mcp.emulator.cloud_functions_api import CloudFunctionApi
from apillon_mcp.emulator.control import ControlRoutes
from apillon_mcp.emulator.errors import EmulatedError
from apillon_mcp.emulator.faults import ConnectionDropped, Fault
from apillon_mcp.emulator.gateway import GatewayRoutes, RetireScripts
from apillon_mcp.emulator.ipfs import IpfsRoutes
from apillon_mcp.emulator.request_bodies import BodyTooLarge, JsonRefused, parse_json, read_limited, syntax_message
from apillon_mcp.emulator.request_log import RequestLog
from apillon_mcp.emulator.routing import HTTP_METHODS, ApiRoute, Call, raw_path, request_target
from apillon_mcp.emulator.s3 import S3Routes
from apillon_mcp.emulator.state import EmulatorState
from apillon_mcp.emulator.storage_api import StorageApi
from apillon_mcp.emulator.wire import iso
from apillon_mcp.runner import ScriptPool

API_BODY_LIMIT = 100 * 1024
"""body-parser's default `limit: '100kb'`, which Nest applies to JSON bodies."""
IN_PROCESS_BASE_URL = "http://sandbox.invalid"
"""Where the in-process sandbox says it is: `.invalid` never resolves, so its URLs lead nowhere off this process."""


def create_emulator(
    state: EmulatorState, *, base_url: str = IN_PROCESS_BASE_URL, control_token: str | None = None
) -> Starlette:
    """The ASGI app serving `state`; mount it, serve it with uvicorn, or drive it through `httpx2.ASGITransport`.

    Every URL it hands out (a function's `gatewayUrl`, presigned upload URLs, `/ipfs/` links) starts with
    `base_url`, whatever Host a request names. With `control_token`, the `/_emulator/` routes ask for it.
    Its gateway runs scripts in processes of their own (`gateway.script_pool(app)`): the app's lifespan stops
    them, and whoever drives the app without it holds a session on the pool instead.
    """
    api = ApiDispatcher(state, [*CloudFunctionApi(state).routes(), *StorageApi(state).routes()], base_url)
    scripts = ScriptPool()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with scripts.session():
            yield

    app = Starlette(
        routes=[
            Mount("/_emulator", routes=ControlRoutes(state, token=control_token).routes()),
            *GatewayRoutes(state, scripts).routes(),
            *S3Routes(state).routes(),
            *IpfsRoutes(state).routes(),
            Route("/{path:path}", api.dispatch, methods=HTTP_METHODS),
        ],
        middleware=[Middleware(RequestLog, state=state), Middleware(RetireScripts, state=state, scripts=scripts)],
        lifespan=lifespan,
    )
    app.state.scripts = scripts
    return app


class ApiDispatcher:
    def __init__(self, state: EmulatorState, routes: list[ApiRoute], base_url: str) -> None:
        self._state = state
        self._routes = routes
        self._base_url = base_url.rstrip("/")

    async def dispatch(self, request: Request) -> Response:
        target = request_target(request)
        fault = self._state.faults.take(request.method, request.url.path)
        if fault is not None and fault.kind == "error":
            return await self._faulted(fault, target)
        try:
            status, payload = await self._handle(request, target)
        except EmulatedError as error:
            response = JSONResponse(self._error_body(error.fields, target), status_code=error.status)
        else:
            response = JSONResponse({"id": str(uuid4()), "status": status, "data": payload}, status_code=status)
        if fault is None:
            return response
        if fault.kind == "slow":
            await anyio.sleep(fault.delay_seconds)
            return response
        return BrokenResponse(response, truncate=fault.kind == "truncate")

    async def _handle(self, request: Request, target: str) -> tuple[int, object]:
        """(success status, payload) of the matching route."""
        body = await _json_body(request)
        with self._state.request_transaction():  # what the request reads and writes, as of one moment
            api_key = self._state.authenticate(*parse_basic_credentials(request.headers.get("authorization")))
            route, params = self._route(request.method, raw_path(request), target)
            query = {name: request.query_params.getlist(name) for name in request.query_params}
            call = Call(request, api_key, params, query, body, self._base_url)
            for guard in route.guards:
                guard(call)
            payload = route.handler(call)
        return route.status or (201 if request.method == "POST" else 200), payload

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


class BrokenResponse(Response):
    """An answer that never fully arrives: the headers (with the full Content-Length), then half the body or none
    and a dropped connection."""

    def __init__(self, answer: Response, *, truncate: bool) -> None:
        super().__init__(answer.body, status_code=answer.status_code, headers=dict(answer.headers))
        self._truncate = truncate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if self._truncate:
            await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
        raise ConnectionDropped("the emulator dropped the connection mid-response, as a fault asked")


async def _json_body(request: Request) -> dict[str, object]:
    """What Nest's JSON body parser hands on: parsed objects, `{}` otherwise; a bad or oversized body is a 400 or
    413 before auth. Only JSON bodies are read at all, up to body-parser's default limit."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return {}
    try:
        raw = await read_limited(request, API_BODY_LIMIT)
    except BodyTooLarge as error:
        raise EmulatedError.unhandled(413, "request entity too large") from error
    if not raw.strip():
        return {}
    text = raw.decode("utf-8", errors="replace")
    try:
        value = parse_json(text)
    except JsonRefused as error:
        raise EmulatedError.unhandled(400, str(error)) from error
    if not isinstance(value, dict | list):  # the parser's strict mode accepts only objects and arrays
        raise EmulatedError.unhandled(400, syntax_message(text, len(text) - len(text.lstrip())))
    return value if isinstance(value, dict) else {}
