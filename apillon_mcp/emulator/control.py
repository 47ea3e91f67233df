"""`/_emulator/` routes for tests and demos: reset, advance the clock, inject faults, add API keys, set credits.

Not part of Apillon's API. They accept only JSON: a POST must say `Content-Type: application/json` (its body may be
empty), and no other content type is read. A web page can make a browser send a form or plain text anywhere
without asking, but not JSON, so a page the developer visits cannot reach them. A served emulator also asks for
its control token (`Authorization: Bearer <token>`); the in-process sandbox, which nothing outside its process
reaches, has none.
"""

import hmac
from collections.abc import Awaitable, Callable
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from apillon_mcp.emulator.coercion import is_finite_number, is_int
from apillon_mcp.emulator.faults import parse_fault
from apillon_mcp.emulator.records import Role, Service
from apillon_mcp.emulator.request_bodies import BodyTooLarge, parse_json, read_limited
from apillon_mcp.emulator.state import DEFAULT_PROJECT_UUID, MAX_CREDITS, EmulatorState
from apillon_mcp.emulator.wire import iso

CONTROL_BODY_LIMIT = 1024 * 1024

Json = dict[str, object]
Handler = Callable[[object], Json]


class ControlRoutes:
    def __init__(self, state: EmulatorState, *, token: str | None = None) -> None:
        self._state = state
        self._token = token.encode() if token is not None else None

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/reset", self._endpoint(self.reset), methods=["POST"]),
            Route("/clock", self._endpoint(self.advance_clock), methods=["POST"]),
            Route("/credits", self._endpoint(self.set_credits), methods=["POST"]),
            Route("/faults", self._endpoint(self.add_fault), methods=["POST"]),
            Route("/faults", self._endpoint(self.list_faults), methods=["GET"]),
            Route("/faults", self._endpoint(self.clear_faults), methods=["DELETE"]),
            Route("/keys", self._endpoint(self.add_key), methods=["POST"]),
        ]

    def reset(self, body: object) -> Json:
        self._state.reset()
        return {"reset": True, "now": iso(self._state.clock.now())}

    def advance_clock(self, body: object) -> Json:
        """Body `{"advance_seconds": N}` with 0 <= N, up to the clock's end (`clock.LATEST`); answers the new `now`."""
        seconds = body.get("advance_seconds") if isinstance(body, dict) else None
        if not is_finite_number(seconds) or seconds < 0:
            raise ValueError('the body must be {"advance_seconds": <number >= 0>}')
        self._state.clock.advance(seconds)
        return {"now": iso(self._state.clock.now())}

    def set_credits(self, body: object) -> Json:
        """Body `{"add": N}` (a top-up) or `{"balance": N}`, and `"project_uuid"` (default: the default key's
        project); answers the project's new balance."""
        project, add, balance = _parse_credits(body)
        if balance is None:
            # One transaction: a top-up through another process on the same sandbox file is not lost.
            return {"project_uuid": project, "balance": self._state.add_credits(project, add)}
        self._state.set_credit_balance(project, balance)
        return {"project_uuid": project, "balance": self._state.credit_balance(project)}

    def add_key(self, body: object) -> Json:
        """Body `{"key", "secret", "roles": [["EXECUTE", "COMPUTING"], ...], "project_uuid"?}`: a key with exactly those
        roles (to try what a key without a permission gets). The key must be a UUID, the secret non-empty."""
        key, secret, roles, project = _parse_key(body)
        if project is None:
            self._state.add_api_key(key, secret, roles)
        else:
            self._state.add_api_key(key, secret, roles, project_uuid=project)
        return {"key": key, "roles": [[role.name, service.name] for role, service in sorted(roles)]}

    def add_fault(self, body: object) -> Json:
        """Body `{"path", "method"?, "status"?, "body"?, "delay_seconds"?, "times"?}`; see `Fault`."""
        self._state.faults.append(parse_fault(body))
        return {"pending": self._pending()}

    def list_faults(self, body: object) -> Json:
        return {"pending": self._pending(), "faults": [fault.to_json() for fault in self._state.faults]}

    def clear_faults(self, body: object) -> Json:
        self._state.faults.clear()
        return {"pending": 0}

    def _pending(self) -> int:
        """How many upcoming requests will still be answered by a fault."""
        return sum(fault.times for fault in self._state.faults)

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """`handler` behind the token and content-type checks, given the parsed body (None when empty); a
        `ValueError` it raises is a 400 that says what to change."""

        async def endpoint(request: Request) -> Response:
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
            try:
                raw = await read_limited(request, CONTROL_BODY_LIMIT)
                body = parse_json(raw.decode("utf-8", errors="replace")) if raw.strip() else None
                return JSONResponse(handler(body))
            except BodyTooLarge as error:
                return _error(413, f"{error}: control requests are small JSON documents")
            except ValueError as error:
                return _error(400, str(error))

        return endpoint

    def _refusal(self, request: Request) -> Response | None:
        if self._token is not None and not self._holds_token(request):
            return _error(
                401,
                "control routes need 'Authorization: Bearer <control token>'; apillon-mcp emulator prints the token "
                "when it starts",
                headers={"WWW-Authenticate": 'Bearer realm="apillon-mcp emulator controls"'},
            )
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json" and (media_type or request.method == "POST"):
            return _error(
                415, "control requests must be sent as 'Content-Type: application/json' (the body may be empty)"
            )
        return None

    def _holds_token(self, request: Request) -> bool:
        assert self._token is not None
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), self._token)


def _parse_credits(body: object) -> tuple[str, int, int | None]:
    """(project, credits to add, balance to set): a body sets a balance, or adds (0 when it sets one)."""
    shape = 'the body must be {"add": <credits>} or {"balance": <credits>}, with an optional "project_uuid"'
    if (
        not isinstance(body, dict)
        or set(body) - {"add", "balance", "project_uuid"}
        or ("add" in body) == ("balance" in body)
    ):
        raise ValueError(shape)
    project = body.get("project_uuid", DEFAULT_PROJECT_UUID)
    if not isinstance(project, str) or not _is_uuid(project):
        raise ValueError("'project_uuid' must be a UUID")
    if "add" in body:
        add = body["add"]
        if not (is_int(add) and 1 <= add <= MAX_CREDITS):
            raise ValueError(f"'add' must be a whole number of credits from 1 to {MAX_CREDITS}")
        return project, add, None
    balance = body["balance"]
    if not (is_int(balance) and 0 <= balance <= MAX_CREDITS):
        raise ValueError(f"'balance' must be a whole number of credits from 0 to {MAX_CREDITS}")
    return project, 0, balance


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
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(name, str) for name in pair)
            and pair[0] in Role.__members__
            and pair[1] in Service.__members__
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


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)
