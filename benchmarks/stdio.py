"""Servers started the way an MCP client starts them: a child process of this interpreter, spoken to over stdio.

Both servers run as `python -m <module>` with the same environment (the client's default safe variables plus a
PYTHONPATH naming the repository, so the working tree is what runs), differing only in the module.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TextIO

from mcp import Client, StdioServerParameters
from mcp.client.stdio import get_default_environment, stdio_client

REPO_ROOT = Path(__file__).resolve().parent.parent
APILLON = ("apillon_mcp", "--emulator", "--emulator-state", ":memory:")
BASELINE_MODULE = "minimal_mcp_server"
BASELINE_SOURCE = '''\
"""The smallest MCPServer: one tool."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("minimal")


@server.tool()
def ping() -> str:
    """Answer pong."""
    return "pong"


server.run()
'''


def child_environment(python_path: Sequence[Path] = ()) -> dict[str, str]:
    """What the SDK's stdio client passes a server (its safe default variables), plus PYTHONPATH."""
    return get_default_environment() | {"PYTHONPATH": os.pathsep.join(str(p) for p in (*python_path, REPO_ROOT))}


def module_server(
    module_and_args: Sequence[str], *, python_path: Sequence[Path] = (), flags: Sequence[str] = ()
) -> StdioServerParameters:
    """`python [flags] -m <module> [args]`, finding modules in `python_path` and then the repository."""
    return StdioServerParameters(
        command=sys.executable,
        args=[*flags, "-m", *module_and_args],
        env=child_environment(python_path),
        cwd=REPO_ROOT,
    )


@contextmanager
def baseline_module() -> Iterator[Path]:
    """A temporary directory holding the minimal server's module; yields the directory."""
    with tempfile.TemporaryDirectory(prefix="apillon-bench-") as directory:
        (Path(directory) / f"{BASELINE_MODULE}.py").write_text(BASELINE_SOURCE, encoding="utf-8")
        yield Path(directory)


@asynccontextmanager
async def stdio_session(server: StdioServerParameters, errlog: TextIO) -> AsyncIterator[Client]:
    """An SDK client session with the server as a child process; its stderr goes to `errlog`."""
    async with Client(stdio_client(server, errlog=errlog)) as client:
        yield client
