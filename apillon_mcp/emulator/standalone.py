"""`apillon-mcp emulator`: the emulated Apillon API as a standalone HTTP server on real time.

It serves curl, the official SDK and CLI (through `APILLON_API_URL`) or a second apillon-mcp. Its credentials are
fixed and public, so it listens on loopback addresses only unless the caller explicitly allows remote access, and
it is no door into the machine for a web page: it answers only requests that name it in Host (DNS rebinding names
another), refuses other origins' pages, and its control routes ask for a token it prints at start.
"""

import ipaddress
import os
import secrets
import socket
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import LOGGING_CONFIG

from apillon_mcp.emulator.app import create_emulator
from apillon_mcp.emulator.host_guard import HostGuard, HostPolicy, host_name, origin_of
from apillon_mcp.emulator.persistence import open_state
from apillon_mcp.emulator.state import DEFAULT_API_KEY, DEFAULT_API_SECRET, EmulatorState
from apillon_mcp.loopback import is_loopback

_BACKLOG = 128
CONTROL_TOKEN_VARIABLE = "APILLON_EMULATOR_CONTROL_TOKEN"
MIN_CONTROL_TOKEN = 16


@dataclass(frozen=True)
class Access:
    """Who may reach a served emulator, as its command line configures it.

    `base_url`: the URL clients reach it at, which every URL it hands out starts with (default: where it listens).
    `allowed_hosts`: names it answers to besides loopback, its address and the base URL's host.
    `allowed_origins`: web origins whose pages may call it besides its own.
    `control_token`: what the control routes ask for (default: a random one, printed at start).
    """

    allow_remote: bool = False
    base_url: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    control_token: str | None = None


class ServeError(Exception):
    """The emulator may not or cannot listen where asked; the message fits one line on stderr."""


@dataclass(frozen=True)
class Standalone:
    """A standalone emulator ready to serve: its state, the app that saves it and a socket already listening.

    Connections made before a server runs on `socket` wait in its backlog, so a client may start at once.
    """

    state: EmulatorState
    app: ASGIApp
    socket: socket.socket
    base_url: str
    state_path: Path | None
    remote: bool
    policy: HostPolicy
    control_token: str
    token_chosen: bool
    """Whether the caller chose the token (then the banner does not print it)."""

    def banner(self) -> str:
        return banner(
            self.base_url,
            self.state_path,
            remote=self.remote,
            hosts=sorted(self.policy.hosts),
            control_token=None if self.token_chosen else self.control_token,
        )

    def server(self, *, configure_logging: bool = True) -> uvicorn.Server:
        """A uvicorn server for `app`; run it with `run(sockets=[socket])` or `serve(sockets=[socket])`.

        With `configure_logging`, uvicorn sets up its own log handlers (access log on stdout), process-wide.
        """
        host, port = self.socket.getsockname()[:2]
        log_config = LOGGING_CONFIG if configure_logging else None
        return uvicorn.Server(uvicorn.Config(self.app, host=host, port=port, log_level="info", log_config=log_config))


def serve(
    host: str, port: int, state_path: Path | None, reset: bool, out: TextIO, access: Access | None = None
) -> None:
    """Serve until interrupted (Ctrl+C or SIGTERM: a normal return), after writing the banner to `out`.

    Raises `ServeError` or `persistence.StateFileError` before serving when it cannot start.
    """
    standalone = prepare(host, port, state_path, reset, access)
    out.write(standalone.banner())
    out.flush()
    # uvicorn shuts down gracefully on Ctrl+C, then raises it again; every change is already saved by then.
    with suppress(KeyboardInterrupt):
        standalone.server().run(sockets=[standalone.socket])


def prepare(host: str, port: int, state_path: Path | None, reset: bool, access: Access | None = None) -> Standalone:
    """Listen on `host`:`port` (0: any free port), then open (or reset) the sandbox at `state_path`.

    A host other than localhost or a loopback address needs `access.allow_remote`. Options that cannot be used
    raise `ServeError` before anything is read, written or bound.
    """
    access = Access() if access is None else access
    remote = not is_loopback(host)
    if remote and not access.allow_remote:
        raise ServeError(
            f"refusing to listen on {host}: the emulator accepts fixed, public credentials, so it listens on "
            "loopback addresses (127.0.0.1, ::1, localhost) unless remote access is explicitly allowed"
        )
    token, token_chosen = _control_token(access.control_token)
    configured_url = _configured_base_url(access.base_url)
    _policy(host, configured_url, access)  # refuses unusable names before anything is read, written or bound
    listener = listen(host, port)
    base_url = configured_url or _base_url(listener)
    try:
        state = open_state(state_path, reset=reset)
        app = create_emulator(state, base_url=base_url, control_token=token)
        policy = _policy(host, base_url, access)
    except BaseException:
        listener.close()
        raise
    return Standalone(
        state, HostGuard(app, policy), listener, base_url, state.path, remote, policy, token, token_chosen
    )


def _control_token(chosen: str | None) -> tuple[str, bool]:
    if chosen is None:
        return secrets.token_urlsafe(24), False
    if len(chosen) < MIN_CONTROL_TOKEN or chosen != chosen.strip():
        raise ServeError(
            f"{CONTROL_TOKEN_VARIABLE} must be at least {MIN_CONTROL_TOKEN} characters, without surrounding spaces"
        )
    return chosen, True


def _configured_base_url(url: str | None) -> str | None:
    if url is None:
        return None
    origin = origin_of(url)
    if origin is None:
        raise ServeError(
            f"--base-url {url!r} is not usable: give the http(s) URL clients reach the emulator at, with no path, "
            "e.g. http://emulator.internal:8787"
        )
    return origin


def _policy(host: str, base_url: str | None, access: Access) -> HostPolicy:
    """Loopback names, the address it listens on (unless all of them), the base URL's host and origin, and the
    allowed ones."""
    hosts = list(access.allowed_hosts)
    if host_name(host) is not None and not _is_unspecified(host):
        hosts.append(host)
    origins = list(access.allowed_origins)
    if base_url is not None:
        hosts.append(base_url.split("://", 1)[1])
        origins.append(base_url)
    try:
        return HostPolicy.of(hosts, origins)
    except ValueError as error:
        raise ServeError(f"--allowed-hosts / --allowed-origins: {error}") from None


def _is_unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket bound to the first address of `host` that can be bound."""
    try:
        addresses = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as error:
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror or error}") from error
    failure = OSError(f"{host} resolves to no address")
    for family, kind, protocol, _, address in addresses:
        try:
            listener = socket.socket(family, kind, protocol)
        except OSError as error:  # e.g. IPv6 turned off on this machine
            failure = error
            continue
        try:
            if os.name != "nt":  # on Windows it would let another process take the port
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen(_BACKLOG)
        except OSError as error:
            listener.close()
            failure = error
            continue
        return listener
    raise ServeError(f"cannot listen on {host}:{port}: {failure.strerror or failure}") from failure


def banner(
    base_url: str,
    state_path: Path | None = None,
    *,
    remote: bool = False,
    hosts: list[str] | None = None,
    control_token: str | None = None,
) -> str:
    """What `apillon-mcp emulator` prints: where it listens, the credentials it accepts and how to use them.

    `control_token` None: the caller chose the token, which is not printed."""
    key, secret = DEFAULT_API_KEY, DEFAULT_API_SECRET
    kept = f"saved in {state_path}" if state_path is not None else "in memory only, gone when this process stops"
    exposure = (
        "It listens beyond this machine: anyone who can reach the port can use the credentials below."
        if remote
        else "It listens on a loopback address only: these credentials are fixed and public."
    )
    names = ", ".join(hosts or ())
    token = control_token if control_token is not None else f"${CONTROL_TOKEN_VARIABLE}"
    shown_token = control_token if control_token is not None else f"the value of {CONTROL_TOKEN_VARIABLE}"
    return f"""Apillon emulator (offline sandbox) at {base_url}
State: {kept}
{exposure}
It answers only requests addressed to {names}, and no other web page's (--allowed-hosts and
--allowed-origins add more).

  APILLON_API_URL={base_url}
  APILLON_API_KEY={key}
  APILLON_API_SECRET={secret}

Try it:
  curl -u '{key}:{secret}' {base_url}/cloud-functions

Point the official SDK (@apillon/sdk), its CLI (@apillon/cli, `apillon`) or a second apillon-mcp at it:
  export APILLON_API_URL='{base_url}' APILLON_API_KEY='{key}' APILLON_API_SECRET='{secret}'
  npx apillon cloud-functions list
  node -e "new (require('@apillon/sdk').CloudFunctions)().listCloudFunctions().then(console.log)"
  apillon-mcp

A function's gateway is the gatewayUrl the API returns, {base_url}/gateway/<function uuid> (the SDK's own
gatewayUrl is built from ACURAST_GATEWAY_URL and does not point here). Jobs match 30 s after creation.

Controls (not Apillon's API): JSON requests with 'Authorization: Bearer <control token>'.
Control token: {shown_token}
  curl -H "Authorization: Bearer {token}" -H 'Content-Type: application/json' \\
       -d '{{"add": 1000}}' {base_url}/_emulator/credits
  POST /_emulator/credits {{"add": N}} tops the sandbox up, {{"balance": N}} sets its credits;
  POST /_emulator/clock {{"advance_seconds": N}}; POST /_emulator/reset; /_emulator/faults; POST /_emulator/keys.
Stop with Ctrl+C.
"""


def _base_url(listener: socket.socket) -> str:
    address, port = listener.getsockname()[:2]
    if ipaddress.ip_address(address).is_unspecified:  # all interfaces: this machine reaches it on loopback
        address = "127.0.0.1" if listener.family == socket.AF_INET else "::1"
    host = f"[{address}]" if listener.family == socket.AF_INET6 else address
    return f"http://{host}:{port}"
