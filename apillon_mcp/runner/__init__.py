"""Cloud function scripts run in isolation, the way an Acurast processor runs them.

Every script runs in its own Node.js process under Node's permission model (no file system, no child processes,
no workers, no native addons, no WASI; the network stays open), with an empty environment: the function's
variables reach it only as `_STD_.env`. The sandbox's gateway keeps one process per serving job (`ScriptPool`);
`run_once` and `check_syntax` run or parse a script the same way, for tools. Imports neither `mcp`, nor the
Apillon client, nor the emulator.
"""

from apillon_mcp.runner.node import NodeRuntime, NodeUnavailable, find_node
from apillon_mcp.runner.once import RunnerError, check_syntax, run_once
from apillon_mcp.runner.outcome import (
    Exited,
    Kind,
    Reply,
    Result,
    ScriptOutcome,
    SyntaxProblem,
    Thrown,
    TimedOut,
)
from apillon_mcp.runner.payload import gateway_payload
from apillon_mcp.runner.pool import RunningScript, ScriptPool
from apillon_mcp.runner.process import DEFAULT_MEMORY_MB, GATEWAY_CLIENT_KEY, Launch
from apillon_mcp.runner.redact import Redactor

__all__ = [
    "DEFAULT_MEMORY_MB",
    "GATEWAY_CLIENT_KEY",
    "Exited",
    "Kind",
    "Launch",
    "NodeRuntime",
    "NodeUnavailable",
    "Redactor",
    "Reply",
    "Result",
    "RunnerError",
    "RunningScript",
    "ScriptOutcome",
    "ScriptPool",
    "SyntaxProblem",
    "Thrown",
    "TimedOut",
    "check_syntax",
    "find_node",
    "gateway_payload",
    "run_once",
]
