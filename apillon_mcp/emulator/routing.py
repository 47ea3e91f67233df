"""How the emulated API routes a request: Express-style routes, their NestJS guards, and the parsed call."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from starlette.requests import Request

from apillon_mcp.emulator.auth import require_role
from apillon_mcp.emulator.records import ApiKey, Role, Service

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
