"""Byte counts as a client pays them: compact UTF-8 JSON, and the two halves of a tool result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mcp.types import CallToolResult, TextContent


def json_bytes(value: Any) -> int:
    """UTF-8 length of `value` as compact JSON (no spaces, non-ASCII kept as is)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def summary_text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@dataclass(frozen=True)
class ResultBytes:
    summary: int
    """UTF-8 bytes of the text content: what the model reads."""
    structured: int
    """Compact JSON bytes of `structured_content`."""

    @classmethod
    def of(cls, result: CallToolResult) -> ResultBytes:
        structured = 0 if result.structured_content is None else json_bytes(result.structured_content)
        return cls(len(summary_text(result).encode()), structured)
