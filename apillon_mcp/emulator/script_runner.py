"""Runs a cloud-function script once, in Node.js behind an Acurast `_STD_` shim, and returns its first reply.

The child gets no stdin and only `PATH` from the environment; the shim routes the script's console and stdout to
stderr, and writes the reply as one line on stdout behind a per-run marker, so nothing the script prints can pass
for a reply. The child is killed once the reply is in or the time limit (real time, not the emulator clock) is up.
"""

import functools
import json
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

import anyio
from anyio.abc import ByteReceiveStream

logger = logging.getLogger(__name__)

_SHIM = "acurast_shim.js"
_STDERR_KEPT = 64 * 1024


@dataclass
class GatewayConfig:
    """How the emulated gateway runs scripts; read at every call, so a test may change it on a live state.

    `timeout_seconds` (real time) is how long a reply may take before the gateway answers with Acurast's timeout
    error; `node_command` is the Node.js executable, looked up on PATH.
    """

    timeout_seconds: float = 30
    node_command: str = "node"


class NodeNotFound(Exception):
    pass


@dataclass(frozen=True)
class ScriptCall:
    """One delivery to a script: its source, `_STD_.env`, the hex payload and the websocket peers' public keys."""

    script: bytes
    env: dict[str, str]
    payload_hex: str
    sender: str
    recipient: str
    job_id: int | None


async def run_script(config: GatewayConfig, call: ScriptCall) -> bytes | None:
    """The bytes of the script's first reply to `call.sender`, or None when it exits or times out without one."""
    node = shutil.which(config.node_command)
    if node is None:
        raise NodeNotFound(config.node_command)
    workdir = Path(await anyio.to_thread.run_sync(functools.partial(tempfile.mkdtemp, prefix="apillon-script-")))
    try:
        marker = secrets.token_hex(16)
        script_path, spec_path = workdir / "script.js", workdir / "spec.json"
        spec = {
            "scriptPath": str(script_path),
            "env": call.env,
            "payload": call.payload_hex,
            "sender": call.sender,
            "recipient": call.recipient,
            "jobId": call.job_id,
            "marker": marker,
        }
        await anyio.Path(script_path).write_bytes(call.script)
        await anyio.Path(spec_path).write_text(json.dumps(spec), encoding="utf-8")
        with as_file(files("apillon_mcp.emulator") / _SHIM) as shim:
            return await _run([node, str(shim), str(spec_path)], marker.encode(), config.timeout_seconds)
    finally:
        await anyio.to_thread.run_sync(functools.partial(shutil.rmtree, workdir, ignore_errors=True))


async def _run(command: list[str], marker: bytes, timeout: float) -> bytes | None:
    stderr = bytearray()
    reply: bytes | None = None
    environment = {name: os.environ[name] for name in ("PATH", "SYSTEMROOT") if name in os.environ}
    process = await anyio.open_process(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
    )
    async with process:
        assert process.stdout is not None and process.stderr is not None
        try:
            with anyio.move_on_after(timeout):
                async with anyio.create_task_group() as group:
                    group.start_soon(_keep_head, process.stderr, stderr)
                    reply = await _first_reply(process.stdout, marker)
                    group.cancel_scope.cancel()
        finally:
            if process.returncode is None:
                with suppress(ProcessLookupError):
                    process.kill()
    if stderr:
        logger.debug("cloud function script stderr:\n%s", stderr.decode("utf-8", errors="replace"))
    return reply


async def _first_reply(stdout: ByteReceiveStream, marker: bytes) -> bytes | None:
    pending = bytearray()
    async for chunk in stdout:
        searched = len(pending)
        pending += chunk
        while (end := pending.find(b"\n", searched)) >= 0:
            line = bytes(pending[:end])
            del pending[: end + 1]
            searched = 0
            if line.startswith(marker):
                try:
                    return bytes.fromhex(line[len(marker) :].decode("ascii"))
                except ValueError:
                    return None
    return None


async def _keep_head(stream: ByteReceiveStream, sink: bytearray) -> None:
    """Drain `stream` (a full pipe would stall the child), keeping its first bytes."""
    async for chunk in stream:
        sink += chunk[: max(0, _STDERR_KEPT - len(sink))]
