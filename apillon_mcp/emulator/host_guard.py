"""Who may reach a served emulator: requests that name it in Host, and no web page but its own or an allowed one.

DNS rebinding points an attacker's name at 127.0.0.1, so that a page on that name reaches a loopback server as its
own origin; the Host header still carries the attacker's name, and is refused (421). Any other site the developer
visits can make the browser send requests too, with its Origin; a request whose Origin is neither the emulator's
own nor an allowed one is refused (403). Clients that are not browsers (curl, the SDK, apillon-mcp) send no Origin.
The real API answers every origin (CORS `*`); a sandbox on a developer's machine should not.
"""

import ipaddress
import re
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_HOST_CHARACTERS = re.compile(r"[a-z0-9.\-_:\[\]]+")


def host_name(value: str) -> str | None:
    """The name in a Host header or a host option (port dropped), lowercase, an IPv6 address without brackets and
    in its short form; None when it is not a plain host name."""
    value = value.strip().lower()
    with suppress(ValueError):
        return str(ipaddress.ip_address(value.strip("[]")))
    if not _HOST_CHARACTERS.fullmatch(value):
        return None
    try:
        parts = urlsplit(f"//{value}")
        name, _ = parts.hostname, parts.port  # `port` raises ValueError when it is not a number
    except ValueError:
        return None
    if not name:
        return None
    with suppress(ValueError):
        return str(ipaddress.ip_address(name))
    return name


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL with nothing after the host but '/', lowercase; None otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or parts.username is not None:
        return None
    if not parts.hostname or host_name(parts.hostname) is None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


@dataclass(frozen=True)
class HostPolicy:
    """The host names a served emulator answers to and the other origins whose pages may call it."""

    hosts: frozenset[str]
    origins: frozenset[str]

    @classmethod
    def of(cls, hosts: Iterable[str], origins: Iterable[str]) -> "HostPolicy":
        """Loopback names, plus `hosts` (names, with or without a port) and `origins` (URLs); ValueError names the
        first one that cannot be read."""
        names = set(LOOPBACK_NAMES)
        for host in hosts:
            name = host_name(host)
            if name is None:
                raise ValueError(f"{host!r} is not a host name")
            names.add(name)
        allowed = set()
        for url in origins:
            origin = origin_of(url)
            if origin is None:
                raise ValueError(f"{url!r} is not an origin such as http://localhost:3000")
            allowed.add(origin)
        return cls(frozenset(names), frozenset(allowed))


class HostGuard:
    """ASGI middleware: refuses requests the policy does not allow, before the app sees them."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self._app = app
        self._policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(Headers(scope=scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self._app(scope, receive, send)

    def _refusal(self, headers: Headers) -> JSONResponse | None:
        host = headers.get("host", "")
        if host_name(host) not in self._policy.hosts:
            return JSONResponse(
                {
                    "error": f"Host {_shown(host)} is not an address of this emulator, which answers to "
                    f"{', '.join(sorted(self._policy.hosts))}; if you reach it under that name, start it with "
                    "--allowed-hosts <name>"
                },
                status_code=421,
            )
        origin = headers.get("origin")
        if origin is None:
            return None
        own = {f"{scheme}://{host.strip().lower()}" for scheme in ("http", "https")}
        if origin.strip().lower() in own | self._policy.origins:
            return None
        return JSONResponse(
            {
                "error": f"cross-origin request refused: the page at {_shown(origin)} is not this emulator's; to let "
                "a page of yours call it, start it with --allowed-origins <origin>"
            },
            status_code=403,
        )


def _shown(value: str) -> str:
    return repr(value if len(value) <= 100 else f"{value[:100]}…")
