"""Fewer tools when fewer are wanted: read-only mode and an explicit tool list."""

import re

import pytest
from mcp import Client

from apillon_mcp.backends import sandbox_api
from apillon_mcp.config import Settings
from apillon_mcp.emulator import EmulatorState
from apillon_mcp.server import build_server
from apillon_mcp.tools import ToolSelectionError

pytestmark = pytest.mark.anyio

READ_TOOLS = {"list_cloud_functions", "get_cloud_function", "get_credit_balance", "test_cloud_function_script"}


async def listed(settings: Settings) -> tuple[set[str], str]:
    async with Client(build_server(settings, sandbox_api(EmulatorState()))) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        return names, client.instructions or ""


async def test_read_only_registers_no_write_tool_and_says_so() -> None:
    names, instructions = await listed(Settings(emulator=True, read_only=True))

    assert names == READ_TOOLS
    assert "read-only" in instructions
    for absent in ("deploy_cloud_function_script", "delete_cloud_function_job", "set_cloud_function_environment"):
        assert absent not in instructions


async def test_a_tool_list_keeps_only_those_tools_and_the_instructions_follow() -> None:
    names, instructions = await listed(Settings(emulator=True, tools=("get_cloud_function", "invoke_cloud_function")))

    assert names == {"get_cloud_function", "invoke_cloud_function"}
    assert "invoke_cloud_function" in instructions
    assert "list_cloud_functions" not in instructions
    assert "confirm" not in instructions


def test_the_environment_variables_select_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APILLON_READ_ONLY", "true")
    monkeypatch.setenv("APILLON_TOOLS", "list_cloud_functions, get_credit_balance")

    settings = Settings()

    assert settings.read_only is True
    assert settings.tools == ("list_cloud_functions", "get_credit_balance")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            Settings(emulator=True, tools=("list_cloud_functions", "drop_everything")),
            re.escape("unknown tool(s) drop_everything"),
        ),
        (Settings(emulator=True, read_only=True, tools=("delete_cloud_function_job",)), "read-only mode leaves out"),
    ],
)
def test_a_bad_selection_is_refused_at_start(settings: Settings, message: str) -> None:
    with pytest.raises(ToolSelectionError, match=message):
        build_server(settings, sandbox_api(EmulatorState()))
