"""`/_emulator/` routes for tests and demos: reset, advance the clock, inject faults. Not part of Apillon's API."""

import json

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from apillon_mcp.emulator.coercion import is_finite_number
from apillon_mcp.emulator.faults import parse_fault
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


async def _json(request: Request) -> object:
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)
