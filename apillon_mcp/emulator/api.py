"""The public cloud-function endpoints (apillon-api.md §5): request in, state call, camelCase payload out."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import unquote

from starlette.requests import Request

from apillon_mcp.emulator.auth import require_role
from apillon_mcp.emulator.listing import parse_list_query
from apillon_mcp.emulator.records import ApiKey, Role, Service
from apillon_mcp.emulator.state import EmulatorState
from apillon_mcp.emulator.validation import parse_create_function, parse_create_job, parse_variables
from apillon_mcp.emulator.wire import Json, function_full, function_item, job_json

HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class Call:
    """One authenticated request, parsed: path parameters, query parameters (each a list) and JSON body."""

    request: Request
    api_key: ApiKey
    params: dict[str, str]
    query: dict[str, list[str]]
    body: dict[str, object]
    base_url: str
    """The emulator's configured URL, without the trailing '/': every URL it hands out starts with it."""

    @property
    def project_uuid(self) -> str:
        return self.api_key.project_uuid

    def gateway_url(self, function_uuid: str) -> str:
        return f"{self.base_url}/gateway/{function_uuid}"


Guard = Callable[[Call], None]
"""One of a route's NestJS guards: raises the `EmulatedError` that refuses the call, or lets it on."""


def role_guard(role: Role, *services: Service) -> Guard:
    """`AuthGuard`: the key must hold `role` on one of `services` (all routes but a few name exactly one)."""

    def guard(call: Call) -> None:
        require_role(call.api_key, role, *services)

    return guard


def validation_guard(dto: Callable[[Mapping[str, object]], object]) -> Guard:
    """`ValidationGuard`: the body must pass `dto`'s rules (its 422), whatever the key may do."""

    def guard(call: Call) -> None:
        dto(call.body)

    return guard


@dataclass(frozen=True)
class ApiRoute:
    """An Express-style route: literal segments match case-insensitively, `{name}` takes one segment.

    `guards` run in order once the key is authenticated and the route matched, as the controller's `@UseGuards`
    stack them (decorators apply bottom-up); `status` is the success status (None: 201 for POST, else 200).
    """

    method: str
    pattern: str
    guards: tuple[Guard, ...]
    handler: Callable[[Call], object]
    status: int | None = None

    def match(self, method: str, raw_path: str) -> dict[str, str] | None:
        if len(raw_path) > 1 and raw_path.endswith("/"):
            raw_path = raw_path[:-1]
        segments = raw_path.split("/")
        expected = self.pattern.split("/")
        if method != self.method or len(segments) != len(expected):
            return None
        params = {}
        for segment, template in zip(segments, expected, strict=True):
            if template.startswith("{"):
                if not segment:
                    return None
                params[template[1:-1]] = unquote(segment)
            elif segment.lower() != template:
                return None
        return params


def raw_path(request: Request) -> str:
    """The URL path exactly as sent, percent-escapes kept."""
    raw: bytes = request.scope.get("raw_path", request.url.path.encode())
    return raw.decode("latin-1").split("?", 1)[0]


def request_target(request: Request) -> str:
    """Express' `request.url`: the raw path plus the query string."""
    query = request.scope["query_string"].decode("latin-1")
    return f"{raw_path(request)}?{query}" if query else raw_path(request)


# Every cloud-function route runs its role guard first (apillon-api.md §2.2); the DTO checks follow in the handlers.
_EXECUTE = (role_guard(Role.EXECUTE, Service.COMPUTING),)
_WRITE = (role_guard(Role.WRITE, Service.COMPUTING),)
_READ = (role_guard(Role.READ, Service.COMPUTING),)


class CloudFunctionApi:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def routes(self) -> list[ApiRoute]:
        return [
            ApiRoute("POST", "/cloud-functions", _WRITE, self.create_function),
            ApiRoute("GET", "/cloud-functions", _READ, self.list_functions),
            ApiRoute("GET", "/cloud-functions/{function_uuid}", _READ, self.get_function),
            ApiRoute("POST", "/cloud-functions/{function_uuid}/jobs", _WRITE, self.create_job),
            ApiRoute("POST", "/cloud-functions/{function_uuid}/environment", _EXECUTE, self.set_environment),
            ApiRoute("DELETE", "/cloud-functions/jobs/{job_uuid}", _WRITE, self.delete_job),
            ApiRoute("GET", "/project/credit", (), self.credit),
        ]

    def create_function(self, call: Call) -> Json:
        new = parse_create_function(call.body)
        function = self._state.create_function(new.name, new.description, project_uuid=call.project_uuid)
        # The service answers with the model it inserted, which never read back the database's updateTime.
        return function_full(replace(function, update_time=None), call.gateway_url(function.function_uuid), None)

    def list_functions(self, call: Call) -> Json:
        query = parse_list_query(call.query)
        rows, total = self._state.list_functions(query, project_uuid=call.project_uuid)
        return {"items": [function_item(row) for row in rows], "total": total, "page": query.page, "limit": query.limit}

    def get_function(self, call: Call) -> Json:
        function = self._state.get_function(call.params["function_uuid"], project_uuid=call.project_uuid)
        jobs = self._state.function_jobs(function, parse_list_query(call.query))
        return function_full(function, call.gateway_url(function.function_uuid), jobs)

    def create_job(self, call: Call) -> Json:
        new = parse_create_job(call.body)
        job = self._state.create_job(
            call.params["function_uuid"], new.name, new.script_cid, new.slots, project_uuid=call.project_uuid
        )
        return job_json(replace(job, update_time=None))

    def set_environment(self, call: Call) -> Json:
        variables = parse_variables(call.body)
        function = self._state.set_environment(call.params["function_uuid"], variables, project_uuid=call.project_uuid)
        return function_full(function, call.gateway_url(function.function_uuid), None)

    def delete_job(self, call: Call) -> Json:
        return job_json(self._state.delete_job(call.params["job_uuid"], project_uuid=call.project_uuid))

    def credit(self, call: Call) -> Json:
        return {"balance": self._state.credit_balance(call.project_uuid)}
