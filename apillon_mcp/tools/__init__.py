"""The MCP surface: one module per API area, each listing its tools as `ToolSpec`s."""

from __future__ import annotations

from collections.abc import Collection

from apillon_mcp.tools import account, deploy, environment, functions, gateway, jobs, script_test
from apillon_mcp.tools.spec import ToolSpec

ALL_TOOLS: tuple[ToolSpec, ...] = (
    *functions.TOOLS,
    *jobs.TOOLS,
    *script_test.TOOLS,
    *deploy.TOOLS,
    *environment.TOOLS,
    *gateway.TOOLS,
    *account.TOOLS,
)


class ToolSelectionError(ValueError):
    """The requested tool selection names unknown tools, or write tools while read-only."""


def select_tools(*, read_only: bool = False, names: Collection[str] | None = None) -> tuple[ToolSpec, ...]:
    """The tools to register: all of them, only the read-only ones, and/or only those named."""
    known = {tool.name for tool in ALL_TOOLS}
    if names is not None:
        unknown = sorted(set(names) - known)
        if unknown:
            raise ToolSelectionError(f"unknown tool(s) {', '.join(unknown)}; the tools are: {', '.join(sorted(known))}")
        writing = sorted(tool.name for tool in ALL_TOOLS if tool.name in names and not tool.read_only)
        if read_only and writing:
            raise ToolSelectionError(f"read-only mode leaves out the write tool(s) {', '.join(writing)}")
    return tuple(
        tool for tool in ALL_TOOLS if (names is None or tool.name in names) and (tool.read_only or not read_only)
    )
