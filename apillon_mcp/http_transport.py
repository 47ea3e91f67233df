"""Streamable HTTP: stateless MCP at /mcp, an open /healthz, bearer-token auth, Host/Origin allow-lists."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from apillon_mcp import __version__
from apillon_mcp.config import Settings
from apillon_mcp.context import ApillonServer

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WS_POLICY_VIOLATION = 1008


class HttpConfigError(ValueError):
    """The HTTP settings are unsafe or inconsistent; the message says what to change."""


@dataclass(frozen=True)
class HttpSettings:
    """The settings of the HTTP transport, checked: only `check_http_settings` makes them, so that no app can be
    built or served on settings that were not checked."""

    host: str
    port: int
    token: str | None
    """The bearer token clients must send; None only on a loopback address."""
    security: TransportSecuritySettings


def check_http_settings(settings: Settings) -> HttpSettings:
    """The HTTP settings of `settings`, or `HttpConfigError` when they are unsafe or inconsistent."""
    if not settings.loopback_only and settings.http_token is None:
        raise HttpConfigError(
            f"refusing to serve MCP on {settings.host} without authentication: set APILLON_MCP_TOKEN to a long "
            "random value (clients send it as 'Authorization: Bearer <token>'), or bind 127.0.0.1."
        )
    if settings.http_token is not None and len(settings.http_token.get_secret_value()) < 16:
        raise HttpConfigError("APILLON_MCP_TOKEN is too short: use at least 16 random characters.")
    token = settings.http_token.get_secret_value() if settings.http_token is not None else None
    return HttpSettings(settings.host, settings.port, token, transport_security(settings))


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Requests must name this server in Host (and Origin, when a browser sends one): no DNS rebinding."""
    names = list(_LOOPBACK_NAMES)
    if settings.host not in (*_LOOPBACK_NAMES, "0.0.0.0", "::"):
        names.append(settings.host)  # the address it is bound to, loopback (127.0.0.2) or not; never the wildcard
    names.extend(settings.allowed_hosts or ())
    hosts = [pattern for name in names for pattern in (name, f"{name}:*")]
    origins = [f"{scheme}://{host}" for scheme in ("http", "https") for host in hosts]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


class BearerTokenGate:
    """Lets /healthz through, and everything else only with `Authorization: Bearer <token>` (constant-time check).

    Only HTTP requests reach the app behind it (and the server's lifespan events): MCP is served over plain HTTP,
    so a WebSocket is refused whatever it carries, before anything behind the gate sees it.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self._app = app
        self._token = token.encode() if token is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # Closing before accepting makes the server answer the handshake with 403.
            await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION, "reason": "MCP is served over HTTP"})
            return
        if scope["type"] != "http":
            raise ValueError(f"unsupported ASGI scope type {scope['type']!r}")
        if scope["path"] == HEALTH_PATH:
            await JSONResponse({"status": "ok", "version": __version__})(scope, receive, send)
            return
        if self._token is not None and not self._authorised(Headers(scope=scope)):
            response = JSONResponse(
                {"error": "unauthorized", "error_description": "send 'Authorization: Bearer <APILLON_MCP_TOKEN>'"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="apillon-mcp"'},
            )
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)

    def _authorised(self, headers: Headers) -> bool:
        scheme, _, presented = headers.get("authorization", "").partition(" ")
        assert self._token is not None
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), self._token)


def http_app(server: ApillonServer, http: HttpSettings) -> ASGIApp:
    """The ASGI app: stateless streamable HTTP (any replica can answer any request) behind the token gate."""
    mcp_app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=http.security,
    )
    return BearerTokenGate(mcp_app, http.token)


def serve_http(server: ApillonServer, http: HttpSettings) -> None:
    import uvicorn

    app = http_app(server, http)
    auth = "bearer token required" if http.token is not None else "no token (loopback only)"
    logger.info("serving MCP at http://%s:%s%s (%s)", http.host, http.port, MCP_PATH, auth)
    uvicorn.run(app, host=http.host, port=http.port, log_level="info", lifespan="on")
