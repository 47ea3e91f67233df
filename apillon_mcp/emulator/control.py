"""`/_emulator/` routes for tests and demos: reset, advance the clock, inject faults, add API keys.

Not part of Apillon's API."""

import json
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from apillon_mcp.emulator.coercion import is_finite_number
from apillon_mcp.emulator.faults import parse_fault
from apillon_mcp.emulator.records import Role, Service
from apillon_mcp.emulator.state import EmulatorState
from apillon_mcp.emulator.wire import iso


class ControlRoutes:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/reset", self.reset, methods=["POST"]),
            Route("/clock", self.advance_clock, methods=["POST"]),
            Route("/faults", self.add_fault, methods=["POST"]),
            Route("/faults", self.list_faults, methods=["GET"]),
            Route("/faults", self.clear_faults, methods=["DELETE"]),
            Route("/keys", self.add_key, methods=["POST"]),
        ]

    async def reset(self, request: Request) -> JSONResponse:
        self._state.reset()
        return JSONResponse({"reset": True, "now": iso(self._state.clock.now())})

    async def advance_clock(self, request: Request) -> JSONResponse:
        """Body `{"advance_seconds": N}` with N >= 0; answers the new `now`."""
        body = await _json(request)
        seconds = body.get("advance_seconds") if isinstance(body, dict) else None
        if not is_finite_number(seconds) or seconds < 0:
            return _bad_request('the body must be {"advance_seconds": <number >= 0>}')
        self._state.clock.advance(seconds)
        return JSONResponse({"now": iso(self._state.clock.now())})

    async def add_key(self, request: Request) -> JSONResponse:
        """Body `{"key", "secret", "roles": [["EXECUTE", "COMPUTING"], ...], "project_uuid"?}`: a key with exactly those
        roles (to try what a key without a permission gets). The key must be a UUID, the secret non-empty."""
        body = await _json(request)
        try:
            key, secret, roles, project = _parse_key(body)
        except ValueError as error:
            return _bad_request(str(error))
        if project is None:
            self._state.add_api_key(key, secret, roles)
        else:
            self._state.add_api_key(key, secret, roles, project_uuid=project)
        return JSONResponse({"key": key, "roles": [[role.name, service.name] for role, service in sorted(roles)]})

    async def add_fault(self, request: Request) -> JSONResponse:
        """Body `{"path", "method"?, "status"?, "body"?, "delay_seconds"?, "times"?}`; see `Fault`."""
        try:
            fault = parse_fault(await _json(request))
        except ValueError as error:
            return _bad_request(str(error))
        self._state.faults.append(fault)
        return JSONResponse({"pending": self._pending()})

    async def list_faults(self, request: Request) -> JSONResponse:
        return JSONResponse({"pending": self._pending(), "faults": [fault.to_json() for fault in self._state.faults]})

    async def clear_faults(self, request: Request) -> JSONResponse:
        self._state.faults.clear()
        return JSONResponse({"pending": 0})

    def _pending(self) -> int:
        """How many upcoming requests will still be answered by a fault."""
        return sum(fault.times for fault in self._state.faults)


def _parse_key(body: object) -> tuple[str, str, set[tuple[Role, Service]], str | None]:
    if not isinstance(body, dict):
        raise ValueError('the body must be {"key", "secret", "roles": [[role, service], ...], "project_uuid"?}')
    key, secret, raw_roles, project = (
        body.get("key"),
        body.get("secret"),
        body.get("roles", []),
        body.get("project_uuid"),
    )
    if not isinstance(key, str) or not _is_uuid(key):
        raise ValueError("'key' must be a UUID, as Apillon's API keys are")
    if not isinstance(secret, str) or not secret:
        raise ValueError("'secret' must be a non-empty string")
    if project is not None and (not isinstance(project, str) or not _is_uuid(project)):
        raise ValueError("'project_uuid' must be a UUID")
    if not isinstance(raw_roles, list):
        raise ValueError("'roles' must be a list of [role, service] pairs")
    roles: set[tuple[Role, Service]] = set()
    for pair in raw_roles:
        if not (
            isinstance(pair, list) and len(pair) == 2 and pair[0] in Role.__members__ and pair[1] in Service.__members__
        ):
            raise ValueError(f"each role is [{'|'.join(Role.__members__)}, {'|'.join(Service.__members__)}]")
        roles.add((Role[pair[0]], Service[pair[1]]))
    return key, secret, roles, project


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


async def _json(request: Request) -> object:
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)
