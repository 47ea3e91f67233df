"""Helpers shared by the tests."""

from typing import Any

from mcp.types import CallToolResult, TextContent

from apillon_mcp.emulator import EmulatorState, Role, Service

ALL_ROLES = [(role, service) for role in Role for service in (Service.COMPUTING, Service.STORAGE)]


def text(answer: CallToolResult) -> str:
    return "\n".join(block.text for block in answer.content if isinstance(block, TextContent))


def data(answer: CallToolResult) -> dict[str, Any]:
    assert not answer.is_error, text(answer)
    assert answer.structured_content is not None
    return answer.structured_content


def add_key_without(emulator: EmulatorState, missing: tuple[Role, Service]) -> tuple[str, str]:
    """A key of the default project holding every role but `missing`."""
    key, secret = "0f6a3b2c-9d84-4e1f-a7b5-c3d2e1f09a8b", "Lim1ted#Key9"
    emulator.add_api_key(key, secret, [r for r in ALL_ROLES if r != missing])
    return key, secret
