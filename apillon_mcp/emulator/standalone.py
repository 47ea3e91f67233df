"""`apillon-mcp emulator`: the emulated Apillon API as a standalone HTTP server on real time.

It serves curl, the official SDK and CLI (through `APILLON_API_URL`) or a second apillon-mcp. Its credentials are
fixed and public, so it listens on loopback addresses only unless the caller explicitly allows remote access.
"""

import ipaddress
import os
import socket
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import uvicorn
from starlette.applications import Starlette
from uvicorn.config import LOGGING_CONFIG

from apillon_mcp.emulator.persistence import open_state, persistent_emulator
from apillon_mcp.emulator.state import DEFAULT_API_KEY, DEFAULT_API_SECRET, EmulatorState

_BACKLOG = 128


class ServeError(Exception):
    """The emulator may not or cannot listen where asked; the message fits one line on stderr."""


@dataclass(frozen=True)
class Standalone:
    """A standalone emulator ready to serve: its state, the app that saves it and a socket already listening.

    Connections made before a server runs on `socket` wait in its backlog, so a client may start at once.
    """

    state: EmulatorState
    app: Starlette
    socket: socket.socket
    base_url: str
    state_path: Path | None
    remote: bool

    def banner(self) -> str:
        return banner(self.base_url, self.state_path, remote=self.remote)

    def server(self, *, configure_logging: bool = True) -> uvicorn.Server:
        """A uvicorn server for `app`; run it with `run(sockets=[socket])` or `serve(sockets=[socket])`.

        With `configure_logging`, uvicorn sets up its own log handlers (access log on stdout), process-wide.
        """
        host, port = self.socket.getsockname()[:2]
        log_config = LOGGING_CONFIG if configure_logging else None
        return uvicorn.Server(uvicorn.Config(self.app, host=host, port=port, log_level="info", log_config=log_config))


def serve(
    host: str, port: int, state_path: Path | None, reset: bool, out: TextIO, *, allow_remote: bool = False
) -> None:
    """Serve until interrupted (Ctrl+C or SIGTERM: a normal return), after writing the banner to `out`.

    Raises `ServeError` or `persistence.StateFileError` before serving when it cannot start.
    """
    standalone = prepare(host, port, state_path, reset, allow_remote=allow_remote)
    out.write(standalone.banner())
    out.flush()
    # uvicorn shuts down gracefully on Ctrl+C, then raises it again; every change is already saved by then.
    with suppress(KeyboardInterrupt):
        standalone.server().run(sockets=[standalone.socket])


def prepare(host: str, port: int, state_path: Path | None, reset: bool, *, allow_remote: bool = False) -> Standalone:
    """Load (or reset) the state, listen on `host`:`port` (0: any free port) and save the state once.

    A host other than localhost or a loopback address needs `allow_remote`.
    """
    remote = not is_loopback(host)
    if remote and not allow_remote:
        raise ServeError(
            f"refusing to listen on {host}: the emulator accepts fixed, public credentials, so it listens on "
            "loopback addresses (127.0.0.1, ::1, localhost) unless remote access is explicitly allowed"
        )
    state = open_state(state_path, reset=reset)
    listener = listen(host, port)
    base_url = _base_url(listener)
    try:
        app = persistent_emulator(state, state_path, base_url=base_url)
    except BaseException:
        listener.close()
        raise
    return Standalone(state, app, listener, base_url, state_path, remote)


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback IP address; host names are not resolved, so anything else counts as remote."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
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


def banner(base_url: str, state_path: Path | None = None, *, remote: bool = False) -> str:
    """What `apillon-mcp emulator` prints: where it listens, the credentials it accepts and how to use them."""
    key, secret = DEFAULT_API_KEY, DEFAULT_API_SECRET
    kept = f"saved in {state_path}" if state_path is not None else "in memory only, gone when this process stops"
    exposure = (
        "It listens beyond this machine: anyone who can reach the port can use the credentials below."
        if remote
        else "It listens on a loopback address only: these credentials are fixed and public."
    )
    return f"""Apillon emulator (offline sandbox) at {base_url}
State: {kept}
{exposure}

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
Controls (not Apillon's API): POST {base_url}/_emulator/reset, POST {base_url}/_emulator/clock with
{{"advance_seconds": N}}, {base_url}/_emulator/faults. Stop with Ctrl+C.
"""


def _base_url(listener: socket.socket) -> str:
    address, port = listener.getsockname()[:2]
    if ipaddress.ip_address(address).is_unspecified:  # all interfaces: this machine reaches it on loopback
        address = "127.0.0.1" if listener.family == socket.AF_INET else "::1"
    host = f"[{address}]" if listener.family == socket.AF_INET6 else address
    return f"http://{host}:{port}"
