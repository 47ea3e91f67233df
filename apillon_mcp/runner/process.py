"""One script in one isolated Node.js process, behind the `_STD_` shim, taking gateway calls until it ends.

The child runs `node <permission flags> --max-old-space-size=N -e <shim>` with an empty environment and reads no
file: the script and its `_STD_.env` come through stdin. A writer thread feeds stdin, so no caller ever blocks on a
process that stopped reading; two reader threads drain its stdout (the shim's messages) and stderr (what the script
prints), so a process nobody is calling never blocks on a full pipe, and a call is answered as soon as its reply
arrives, in whichever event loop is waiting for it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import queue
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from importlib.resources import files
from typing import IO, Any

import anyio
import anyio.from_thread
from anyio.lowlevel import EventLoopToken, current_token

from apillon_mcp.runner.node import NodeRuntime, NodeUnavailable, child_environment
from apillon_mcp.runner.outcome import Exited, Reply, Thrown

logger = logging.getLogger(__name__)

DEFAULT_MEMORY_MB = 128
# Stand-in public keys of the websocket peers: the gateway's client (the `sender` a script replies to) and the
# processor running the job (the `recipient`).
GATEWAY_CLIENT_KEY = "02" + hashlib.sha256(b"apillon-emulator gateway client").hexdigest()
LOCAL_PROCESSOR_KEY = "03" + hashlib.sha256(b"apillon-mcp local runner").hexdigest()

_LINE_KEPT = 4000
_TAIL_LINES = 20
_EXIT_WAIT_SECONDS = 5


@dataclass(frozen=True)
class Launch:
    """What a script's process starts with; a job whose launch changes (its variables) needs a new process."""

    script: bytes
    env: Mapping[str, str] = field(default_factory=dict)
    job_id: int | None = None
    sender: str = GATEWAY_CLIENT_KEY
    recipient: str = LOCAL_PROCESSOR_KEY
    memory_mb: int = DEFAULT_MEMORY_MB


class PendingCall:
    """A payload for the script, made in the event loop that waits for it; `result` is set once `wait()` returns."""

    def __init__(self) -> None:
        self.call_id = 0
        self.result: Reply | Thrown | Exited | None = None
        self._event = anyio.Event()
        self._token: EventLoopToken = current_token()

    async def wait(self) -> None:
        await self._event.wait()

    def resolve(self, result: Reply | Thrown | Exited) -> None:
        """From a reader thread: the first result stands; the waiting event loop is woken if it still runs."""
        if self.result is not None:
            return
        self.result = result
        try:
            anyio.from_thread.run_sync(self._event.set, token=self._token)
        except Exception:  # the caller's event loop has ended; nobody waits any more
            logger.debug("a script reply arrived after its caller had gone")


class ScriptProcess:
    """A started, isolated Node process running `launch.script`; `on_output` receives each line it prints.

    Call its methods from worker threads, never from an event loop's own thread: `responsive`, `stop` and `kill`
    wait, and `submit` may answer its call at once, which wakes the call's event loop from the outside.
    """

    def __init__(
        self,
        runtime: NodeRuntime,
        launch: Launch,
        on_output: Callable[[str], None],
        on_end: Callable[[Thrown | Exited], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.launch = launch
        self._on_output = on_output
        self._on_end = on_end
        self._marker = secrets.token_hex(16).encode()
        self._lock = threading.Lock()
        self._calls: dict[int, PendingCall] = {}
        self._pings: dict[int, threading.Event] = {}
        self._next_id = 1
        self._thrown: Thrown | None = None
        self._tail: list[str] = []
        self._end: Thrown | Exited | None = None
        self._ended = threading.Event()
        self._stopping = False
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        try:
            self._popen = subprocess.Popen(
                command_line(runtime, launch.memory_mb),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=child_environment(),
                cwd=tempfile.gettempdir(),
            )
        except OSError as error:
            raise NodeUnavailable(f"Node.js at {runtime.path} does not start ({error})") from error
        _forbid_core_dumps(self._popen.pid)
        assert self._popen.stdin is not None and self._popen.stdout is not None and self._popen.stderr is not None
        self._writer = _thread(self._write_all, self._popen.stdin, "writer")
        self._output_reader = _thread(self._read_output, self._popen.stderr, "output")
        self._message_reader = _thread(self._read_messages, self._popen.stdout, "messages")
        self._write(
            {
                "mode": "serve",
                "marker": self._marker.decode(),
                "script": decode_script(launch.script),
                "env": dict(launch.env),
                "jobId": launch.job_id,
                "sender": launch.sender,
                "recipient": launch.recipient,
            }
        )

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def alive(self) -> bool:
        return not self._ended.is_set() and not self._stopping

    @property
    def end(self) -> Thrown | Exited | None:
        """How the process ended, once it has."""
        return self._end

    def submit(self, call: PendingCall, payload: str) -> None:
        """Deliver `payload` (the gateway's JSON text) as `call`; a process that has ended answers it with its end."""
        with self._lock:
            call.call_id = self._next_id
            self._next_id += 1
            end = self._end
            if end is None:
                self._calls[call.call_id] = call
                self._write({"call": call.call_id, "payload": payload.encode().hex()})
        if end is not None:
            call.resolve(end)

    def cancel(self, call: PendingCall) -> None:
        """Forget a call nobody waits for any more, so a late reply cannot answer another one."""
        with self._lock:
            if self._calls.pop(call.call_id, None) is not None:
                self._write({"cancel": call.call_id})

    def responsive(self, within: float) -> bool:
        """Whether the script's event loop answers a ping within `within` seconds (a busy loop never does)."""
        answered = threading.Event()
        with self._lock:
            if self._end is not None:
                return False
            ping_id = self._next_id
            self._next_id += 1
            self._pings[ping_id] = answered
            self._write({"ping": ping_id})
        try:
            return answered.wait(within)
        finally:
            with self._lock:
                self._pings.pop(ping_id, None)

    def stop(self) -> None:
        """Kill the process and wait for it and its threads; every pending call ends with the process."""
        self._stopping = True
        self.kill()
        self._popen.wait()
        for thread in (self._message_reader, self._output_reader, self._writer):
            thread.join(_EXIT_WAIT_SECONDS)

    def kill(self) -> None:
        """Kill and reap, without waiting for the threads: for when the interpreter is exiting."""
        self._stopping = True
        if self._popen.poll() is None:
            self._popen.kill()
        with suppress(subprocess.TimeoutExpired):
            self._popen.wait(_EXIT_WAIT_SECONDS)
        self._outbox.put(None)

    def _write(self, message: dict[str, Any]) -> None:
        """Queue a message for the writer thread (a process that stopped reading cannot block the caller)."""
        self._outbox.put(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")

    def _write_all(self, stdin: IO[bytes]) -> None:
        try:
            while (line := self._outbox.get()) is not None:
                stdin.write(line)
                stdin.flush()
        except (OSError, ValueError):
            pass  # the process has gone: the message reader sees it end
        finally:
            with suppress(OSError):
                stdin.close()

    def _read_messages(self, stream: IO[bytes]) -> None:
        with stream:
            for raw in stream:
                line = raw.rstrip(b"\r\n")
                if not line.startswith(self._marker):
                    if line:
                        self._output(line)
                    continue
                try:
                    self._handle(json.loads(line[len(self._marker) :]))
                except (ValueError, KeyError, TypeError, AttributeError):
                    logger.debug("an unreadable message from a script process was ignored")
        self._finish()

    def _handle(self, message: dict[str, Any]) -> None:
        if "reply" in message:
            with self._lock:
                call = self._calls.pop(message["reply"], None)
            if call is not None:
                call.resolve(Reply(bytes.fromhex(message["payload"])))
        elif "pong" in message:
            with self._lock:
                answered = self._pings.get(message["pong"])
            if answered is not None:
                answered.set()
        elif "error" in message:
            error = message["error"]
            self._thrown = Thrown(
                name=str(error.get("name")),
                message=str(error.get("message")),
                line=error.get("line"),
                column=error.get("column"),
            )

    def _finish(self) -> None:
        """stdout closed: the process is ending (or the script closed it, which leaves it useless: kill it)."""
        try:
            code = self._popen.wait(_EXIT_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            code = self._popen.wait()
        self._output_reader.join(_EXIT_WAIT_SECONDS)
        self._outbox.put(None)
        end: Thrown | Exited = self._thrown or Exited(code, self._describe_exit(code))
        with self._lock:
            self._end = end
            self._ended.set()
            calls = list(self._calls.values())
            self._calls.clear()
        if self._on_end is not None and not self._stopping:
            self._on_end(end)
        for call in calls:
            call.resolve(end)

    def _describe_exit(self, code: int) -> str:
        if self._stopping:
            return "stopped by the runner"
        if any("heap out of memory" in line or "Reached heap limit" in line for line in self._tail):
            return f"ran out of memory (the limit is {self.launch.memory_mb} MB)"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        if code != 0 and self._tail:
            return f"exited with code {code} (its last output: {self._tail[-1][:300]})"
        return f"exited with code {code}"

    def _read_output(self, stream: IO[bytes]) -> None:
        with stream:
            for raw in stream:
                self._output(raw.rstrip(b"\r\n"))

    def _output(self, raw: bytes) -> None:
        line = raw[:_LINE_KEPT].decode("utf-8", errors="replace")
        self._tail = [*self._tail[-(_TAIL_LINES - 1) :], line]
        self._on_output(line)


def command_line(runtime: NodeRuntime, memory_mb: int) -> list[str]:
    """`node`, its isolation flags, the heap limit, and the shim as inline code: Node reads no file at all."""
    return [runtime.path, *runtime.isolation_flags(), f"--max-old-space-size={memory_mb}", "-e", shim_source()]


@functools.cache
def shim_source() -> str:
    return files("apillon_mcp.runner").joinpath("shim.js").read_text(encoding="utf-8")


def decode_script(script: bytes) -> str:
    """The script as Node's loader reads a file: UTF-8, invalid bytes replaced (a BOM is dropped by the shim)."""
    return script.decode("utf-8", errors="replace")


def _thread(target: Callable[[IO[bytes]], None], stream: IO[bytes], role: str) -> threading.Thread:
    thread = threading.Thread(target=target, args=(stream,), name=f"apillon-script-{role}", daemon=True)
    thread.start()
    return thread


def _forbid_core_dumps(pid: int) -> None:
    """A crashing script must not leave a core file holding its variables on disk."""
    if sys.platform == "linux":
        import resource

        try:
            resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))
        except OSError:
            logger.debug("could not turn off core dumps of script process %s", pid)
