"""The emulator's state in a JSON file, so that a sandbox survives restarts of the process that serves it.

Save rule: `persistent_emulator` writes the state once when it is created, then after every HTTP request it handles
(API, storage uploads, gateway, `/ipfs/`, control routes) whose handling left the saved document different from
the last one written: a change, or a job or file transition that became due and was applied on the way. The save
runs before the response is sent, so a client never sees a change that a crash right after could still lose.
The request log and the gateway cache are not saved, so requests that change nothing else write nothing.

Writes are atomic: a temporary file in the same directory, flushed and fsynced, then `os.replace`d onto the
target, and the directory fsynced where the platform allows. A crash at any point leaves the old file or the new
one, whole. One process per file: a second one would overwrite the first one's saves.
"""

import logging
import os
import sys
import tempfile
from contextlib import suppress
from pathlib import Path

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apillon_mcp.emulator.app import IN_PROCESS_BASE_URL, create_emulator
from apillon_mcp.emulator.clock import Clock
from apillon_mcp.emulator.snapshot import Document, SnapshotError, decode, dump_state, encode, load_state
from apillon_mcp.emulator.state import EmulatorState

logger = logging.getLogger(__name__)

APP_DIRECTORY = "apillon-mcp"
STATE_FILE_NAME = "emulator-state.json"


class StateFileError(Exception):
    """A state file that cannot be read, loaded or written; the message names the file and fits one line."""


def default_state_path() -> Path:
    """The per-user data file: `%LOCALAPPDATA%`, `~/Library/Application Support` or `$XDG_DATA_HOME`."""
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        base = Path(local) if local else Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_DATA_HOME")
        # The XDG spec says a relative path is invalid and must be ignored.
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / APP_DIRECTORY / STATE_FILE_NAME


def open_state(path: Path | None, *, reset: bool = False, clock: Clock | None = None) -> EmulatorState:
    """The state saved at `path`, or a fresh one when there is no file, `reset` is set or `path` is None.

    Nothing is written here; `persistent_emulator` does that (creating the directory if needed). With no `clock`,
    a loaded state runs on a `SystemClock` as far ahead of real time as when it was saved.
    """
    if path is None or reset:
        return EmulatorState(clock=clock)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return EmulatorState(clock=clock)
    except OSError as error:
        raise StateFileError(
            f"cannot read the emulator state file {path}: {error.strerror or error}. "
            "Fix its permissions, delete it, or start with --reset."
        ) from error
    try:
        return load_state(decode(data), clock)
    except SnapshotError as error:
        raise StateFileError(
            f"the emulator state file {path} cannot be loaded ({error}). "
            "Delete it, or start with --reset to replace it with a fresh sandbox."
        ) from error


def persistent_emulator(
    state: EmulatorState,
    path: Path | None,
    *,
    base_url: str = IN_PROCESS_BASE_URL,
    control_token: str | None = None,
) -> Starlette:
    """`create_emulator(state, base_url=…, control_token=…)` that, when `path` is set, saves to it now and after
    every request that changed it.

    Raises `StateFileError` when the first save fails. A later failed save is logged and retried after the next
    request; the sandbox goes on serving from memory.
    """
    app = create_emulator(state, base_url=base_url, control_token=control_token)
    if path is not None:
        state_file = StateFile(state, path)
        state_file.save()
        app.add_middleware(_SaveAfterChange, state_file=state_file)
    return app


class StateFile:
    """Saves one state to one file, skipping saves that would write what the file already holds."""

    def __init__(self, state: EmulatorState, path: Path) -> None:
        self.state = state
        self.path = path
        self._saved: Document | None = None
        self._lock = anyio.Lock()

    def save(self) -> None:
        """Write the state now, blocking."""
        document = dump_state(self.state)
        write_atomically(self.path, encode(document))
        self._saved = document

    async def save_if_changed(self) -> bool:
        """Write the state if its document differs from the last one written; whether it wrote."""
        async with self._lock:  # one save at a time, each of the state as it is once the previous one is done
            document = dump_state(self.state)
            if document == self._saved:
                return False
            # The document's values are immutable or copies, so it can be encoded away from the event loop.
            await anyio.to_thread.run_sync(lambda: write_atomically(self.path, encode(document)))
            self._saved = document
            return True


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves the old content or the new one, never a mix."""
    try:
        _replace(path, data)
    except OSError as error:
        raise StateFileError(f"cannot write the emulator state file {path}: {error.strerror or error}") from error


def _replace(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable; Windows cannot open a directory for this, some file systems refuse."""
    if os.name == "nt":
        return
    with suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class _SaveAfterChange:
    """ASGI middleware: once the app has handled an HTTP request, save before the response goes out."""

    def __init__(self, app: ASGIApp, state_file: StateFile) -> None:
        self._app = app
        self._state_file = state_file

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        saved = False

        async def save_then_send(message: Message) -> None:
            nonlocal saved
            if message["type"] == "http.response.start" and not saved:
                saved = True
                await self._save()
            await send(message)

        try:
            await self._app(scope, receive, save_then_send)
        finally:
            if not saved:  # the handler failed before answering; what it changed is still worth keeping
                await self._save()

    async def _save(self) -> None:
        with anyio.CancelScope(shield=True):  # a client hanging up must not cut a save short
            try:
                await self._state_file.save_if_changed()
            except StateFileError as error:
                logger.error("%s; the next request will try again", error)
