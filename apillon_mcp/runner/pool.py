"""One long-lived script process per serving job, the way an Acurast processor runs a job.

A job's process starts at its first call and stays: its top-level code runs once, and what it keeps in memory
lasts between calls. It is replaced when what it was started with changes (the function's variables) or when it
has ended (a crash: the next call starts it again), and stopped when its owner says the job no longer serves, and
on `close()`. A call that gets no reply in time leaves the process running, unless its event loop is stuck (it
does not answer a ping), in which case it is killed.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import anyio
import anyio.to_thread

from apillon_mcp.runner.node import NodeRuntime, find_node
from apillon_mcp.runner.outcome import Exited, Result, Thrown, TimedOut
from apillon_mcp.runner.output import ScriptOutput
from apillon_mcp.runner.process import Launch, PendingCall, ScriptProcess
from apillon_mcp.runner.redact import Redactor

logger = logging.getLogger(__name__)

PING_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class RunningScript:
    key: str
    launch: Launch
    pid: int


class ScriptPool:
    """Processes by key (a job uuid). Safe to use from several event loops and threads."""

    def __init__(self, *, ping_grace: float = PING_GRACE_SECONDS) -> None:
        self._ping_grace = ping_grace
        self._lock = threading.Lock()
        self._processes: dict[str, ScriptProcess] = {}
        self._starting: dict[str, threading.Lock] = {}
        self._sessions = 0
        _track(self)

    async def call(
        self, key: str, launch: Launch, payload: str, *, timeout: float, node_command: str = "node"
    ) -> Result:
        """Deliver `payload` to the process of `key` (started or replaced as `launch` requires) and wait for it.

        Raises `NodeUnavailable`.
        """
        runtime = await anyio.to_thread.run_sync(find_node, node_command)
        process = await anyio.to_thread.run_sync(self._process_for, key, runtime, launch)
        call = PendingCall()
        await anyio.to_thread.run_sync(process.submit, call, payload)
        try:
            with anyio.move_on_after(timeout):
                await call.wait()
        finally:
            if call.result is None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._abandon, key, process, call)
        return TimedOut(timeout) if call.result is None else call.result

    def running(self) -> list[RunningScript]:
        with self._lock:
            processes = list(self._processes.items())
        return [RunningScript(key, process.launch, process.pid) for key, process in processes if process.alive]

    async def stop(self, key: str) -> None:
        with self._lock:
            process = self._processes.pop(key, None)
        if process is not None:
            await anyio.to_thread.run_sync(process.stop)

    async def close(self) -> None:
        """Stop every process; the pool stays usable and starts processes again on demand."""
        with self._lock:
            processes = list(self._processes.values())
            self._processes.clear()
        with anyio.CancelScope(shield=True):
            for process in processes:
                await anyio.to_thread.run_sync(process.stop)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[ScriptPool]:
        """Holds the pool open; when the last session ends, every process stops."""
        with self._lock:
            self._sessions += 1
        try:
            yield self
        finally:
            with self._lock:
                self._sessions -= 1
                last = self._sessions == 0
            if last:
                await self.close()

    def _process_for(self, key: str, runtime: NodeRuntime, launch: Launch) -> ScriptProcess:
        with self._lock:
            starting = self._starting.setdefault(key, threading.Lock())
        with starting:  # one start per key at a time; other keys start in parallel
            with self._lock:
                current = self._processes.get(key)
            if current is not None and current.alive and current.launch == launch and current.runtime == runtime:
                return current
            redact = Redactor(launch.env)
            output = ScriptOutput(redact, f"cloud function script of {key}")
            process = ScriptProcess(runtime, launch, output, _EndLog(key, redact))
            with self._lock:
                self._processes[key] = process
        if current is not None:
            reason = "it had ended" if not current.alive else "what it runs with changed"
            logger.info("cloud function script of %s restarted: %s", key, reason)
            current.stop()
        return process

    def _abandon(self, key: str, process: ScriptProcess, call: PendingCall) -> None:
        """A call that got no reply: forget it, and kill the process if its event loop no longer answers."""
        process.cancel(call)
        if process.alive and not process.responsive(self._ping_grace):
            logger.info("cloud function script of %s stopped: its event loop is blocked", key)
            with self._lock:
                if self._processes.get(key) is process:
                    del self._processes[key]
            process.stop()

    def _kill_all(self) -> None:
        with self._lock:
            processes = list(self._processes.values())
        for process in processes:
            with suppress(OSError):
                process.kill()


class _EndLog:
    def __init__(self, key: str, redact: Redactor) -> None:
        self._key = key
        self._redact = redact

    def __call__(self, end: Thrown | Exited) -> None:
        if isinstance(end, Thrown):
            where = f" (line {end.line})" if end.line is not None else ""
            what = self._redact(f"{end.name}: {end.message}{where}")
        else:
            what = self._redact(end.detail)
        logger.info("cloud function script of %s ended: %s; its next call starts it again", self._key, what)


_pools: weakref.WeakSet[ScriptPool] = weakref.WeakSet()
_tracking = threading.Lock()
_hooked = False


def _track(pool: ScriptPool) -> None:
    """Processes must not outlive this interpreter, even when nobody closed their pool."""
    global _hooked
    with _tracking:
        if not _hooked:
            atexit.register(_kill_everything)
            _hooked = True
        _pools.add(pool)


def _kill_everything() -> None:
    for pool in list(_pools):
        pool._kill_all()
