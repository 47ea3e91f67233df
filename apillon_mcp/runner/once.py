"""Run a script once, or parse it, exactly as the gateway's runner would: same shim, same isolation."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Mapping

import anyio
import anyio.to_thread

from apillon_mcp.runner.node import child_environment, find_node
from apillon_mcp.runner.outcome import Result, ScriptOutcome, SyntaxProblem, TimedOut
from apillon_mcp.runner.output import OUTPUT_KEPT_CHARS, ScriptOutput
from apillon_mcp.runner.process import (
    DEFAULT_MEMORY_MB,
    Launch,
    PendingCall,
    ScriptProcess,
    command_line,
    decode_script,
)
from apillon_mcp.runner.redact import Redactor

_CHECK_TIMEOUT_SECONDS = 30


class RunnerError(Exception):
    """Node.js ran but the runner got no answer from it (the message says why)."""


async def run_once(
    script: bytes,
    payload: str,
    *,
    env: Mapping[str, str],
    timeout: float,
    node_command: str = "node",
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> ScriptOutcome:
    """Start the script in a fresh isolated process, deliver `payload` once, and stop it at the first outcome.

    `payload` is the JSON text of `gateway_payload`; `env` is what `_STD_.env` holds. The outcome's `output`
    is the script's own output, unredacted and not logged: the caller decides what to show. Raises
    `NodeUnavailable`.
    """
    runtime = await anyio.to_thread.run_sync(find_node, node_command)
    output = ScriptOutput(Redactor(env), "cloud function script (local run)", keep=OUTPUT_KEPT_CHARS, log=False)
    started = anyio.current_time()
    launch = Launch(script, dict(env), memory_mb=memory_mb)
    with anyio.CancelScope(shield=True):  # once started, the process is stopped below whatever happens
        process = await anyio.to_thread.run_sync(ScriptProcess, runtime, launch, output)
    try:
        call = PendingCall()
        await anyio.to_thread.run_sync(process.submit, call, payload)
        result: Result = TimedOut(timeout)
        with anyio.move_on_after(timeout):
            await call.wait()
            assert call.result is not None
            result = call.result
        elapsed = anyio.current_time() - started
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(process.stop)
    return ScriptOutcome(result, output.text(), output.truncated, elapsed)


async def check_syntax(script: bytes, *, node_command: str = "node") -> list[SyntaxProblem]:
    """Node's own parse of the script as the runner loads it (a CommonJS module body), without running it.

    Empty when it parses; V8 stops at the first problem, so there is at most one. Raises `NodeUnavailable`, and
    `RunnerError` when Node gives no verdict.
    """
    runtime = await anyio.to_thread.run_sync(find_node, node_command)
    marker = secrets.token_hex(16)
    request = json.dumps({"mode": "check", "marker": marker, "script": decode_script(script)}, ensure_ascii=False)
    try:
        completed = await anyio.to_thread.run_sync(
            lambda: subprocess.run(
                command_line(runtime, DEFAULT_MEMORY_MB),
                input=f"{request}\n".encode(),
                capture_output=True,
                env=child_environment(),
                timeout=_CHECK_TIMEOUT_SECONDS,
                check=False,
            )
        )
    except subprocess.TimeoutExpired as error:
        raise RunnerError(f"Node.js did not finish parsing the script within {_CHECK_TIMEOUT_SECONDS} s") from error
    # Only "\n" ends a line: the verdict is JSON, which may hold U+2028 and other characters `splitlines` splits at.
    for line in completed.stdout.decode("utf-8", errors="replace").split("\n"):
        if line.startswith(marker):
            verdict = json.loads(line[len(marker) :]).get("syntax")
            if verdict is None:
                return []
            return [
                SyntaxProblem(
                    line=verdict.get("line"),
                    column=verdict.get("column"),
                    message=str(verdict.get("message")),
                    source=verdict.get("source"),
                )
            ]
    last = completed.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:]
    raise RunnerError(
        f"Node.js gave no verdict on the script (exit code {completed.returncode}{': ' + last[0] if last else ''})"
    )
