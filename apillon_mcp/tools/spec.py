"""A tool as data: its function, title, annotations and error hints, registered the same way for every tool."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations

from apillon_mcp.apillon.permissions import Permission
from apillon_mcp.tools.errors import GENERIC_CHECK, surface_api_errors
from apillon_mcp.tools.schema import compact_schema


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable[..., Awaitable[Any]]
    title: str
    annotations: ToolAnnotations
    needs: tuple[Permission, ...]
    """The API-key permissions the tool uses (`apillon-mcp doctor` checks them)."""
    error_hints: Mapping[int, str] = field(default_factory=dict)
    """Next steps for Apillon codes that mean something specific for this tool."""
    if_unsure: str = GENERIC_CHECK
    """How to find out whether this tool's write took effect when no readable answer came back."""

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def read_only(self) -> bool:
        return self.annotations.read_only_hint is True

    def build(self) -> Tool:
        """The MCP tool: its function behind the Apillon error boundary, with compact schemas."""
        tool = Tool.from_function(
            surface_api_errors(self.fn, hints=self.error_hints, if_unsure=self.if_unsure),
            name=self.name,
            title=self.title,
            description=inspect.cleandoc(self.fn.__doc__ or ""),
            annotations=self.annotations,
        )
        tool.parameters = compact_schema(tool.parameters)
        if tool.fn_metadata.output_schema is not None:
            tool.fn_metadata.output_schema = compact_schema(tool.fn_metadata.output_schema)
        return tool
