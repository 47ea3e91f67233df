"""A tool as data: its function, title, annotations and error hints, registered the same way for every tool."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import ValidationError

from apillon_mcp.apillon.permissions import Permission
from apillon_mcp.tools.argument_errors import explain_rejected_arguments, ignored_arguments_note, unknown_arguments
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
    view: str | None = None
    """The `ui://` view (MCP Apps) that hosts able to render one show with this tool's result."""

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def read_only(self) -> bool:
        return self.annotations.read_only_hint is True

    def build(self) -> Tool:
        """The MCP tool: its function behind the Apillon error boundary, with compact schemas, saying in its own
        words what is wrong with the arguments it refuses and which arguments it ignored."""
        tool = ExplainedArgumentsTool.from_function(
            surface_api_errors(self.fn, hints=self.error_hints, if_unsure=self.if_unsure),
            name=self.name,
            title=self.title,
            description=inspect.cleandoc(self.fn.__doc__ or ""),
            annotations=self.annotations,
            meta={"ui": {"resourceUri": self.view}} if self.view else None,
        )
        tool.parameters = compact_schema(tool.parameters)
        return tool


class ExplainedArgumentsTool(Tool):
    """A tool whose argument errors are one sentence per argument, never pydantic's dump of the input.

    Arguments it does not take are ignored, as the SDK does (some clients add their own), but never silently: the
    answer ends with a note naming them, so that a misspelt `limt=5` does not pass for `limit=5`.
    """

    @cached_property
    def output_schema(self) -> dict[str, Any] | None:
        """The output schema the SDK derives, as compact as the input schema: the tool list shows both."""
        derived = self.fn_metadata.output_schema
        return compact_schema(derived) if derived is not None else None

    async def run(self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False) -> Any:
        unknown = unknown_arguments(arguments, self.parameters)
        note = ignored_arguments_note(unknown, owner=self.name, schema=self.parameters) if unknown else ""
        try:
            result = await super().run(arguments, context, convert_result)
        except UnexpectedToolError:
            raise
        except ToolError as error:
            # The SDK raises a ToolError caused by a ValidationError only when the arguments fail the input model.
            cause = error.__cause__
            if isinstance(cause, ValidationError):
                message = f"Error executing tool {self.name}: {self._explain(cause)}"
            elif note:
                message = str(error)
            else:
                raise
            raise ToolError(f"{message}\n{note}" if note else message) from cause
        if note and isinstance(result, CallToolResult):
            return result.model_copy(update={"content": [*result.content, TextContent(type="text", text=note)]})
        return result

    def _explain(self, rejected: ValidationError) -> str:
        explained = explain_rejected_arguments(
            rejected, owner=self.name, model=self.fn_metadata.arg_model, schema=self.parameters
        )
        read_only = self.annotations is not None and self.annotations.read_only_hint is True
        return explained.message if read_only else f"{explained.message} Nothing was changed."
