"""`apillon-mcp demo`: a real MCP client session against the server, against the embedded emulator."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any, TextIO

import anyio
from mcp import Client
from mcp.types import CallToolResult, TextContent

from apillon_mcp.backends import sandbox_api
from apillon_mcp.config import Settings
from apillon_mcp.emulator import EmulatorState
from apillon_mcp.server import build_server

# The CID of a file containing "hello world\n"; the emulator accepts any well-formed CID.
DEMO_SCRIPT_CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
_TOKEN = re.compile(r'confirmation_token="([^"]+)"')


class DemoFailed(Exception):
    pass


class Walkthrough:
    def __init__(self, client: Client, emulator: EmulatorState, out: TextIO) -> None:
        self._client = client
        self._emulator = emulator
        self._out = out

    def say(self, text: str) -> None:
        print(f"\n# {text}", file=self._out)

    async def call(self, tool: str, arguments: dict[str, Any], *, expect_error: bool = False) -> CallToolResult:
        shown = ", ".join(f"{k}={json.dumps(_masked(k, v))}" for k, v in arguments.items())
        print(f"\n> {tool}({shown})", file=self._out)
        answer = await self._client.call_tool(tool, arguments)
        text = "\n".join(block.text for block in answer.content if isinstance(block, TextContent))
        print("  " + text.replace("\n", "\n  "), file=self._out)
        if answer.is_error != expect_error:
            raise DemoFailed(f"{tool} {'succeeded' if not answer.is_error else 'failed'} unexpectedly")
        return answer

    def advance_clock(self, seconds: int) -> None:
        self._emulator.clock.advance(seconds)
        print(f"\n# [emulator] {seconds} s pass (on Apillon this takes a few minutes)", file=self._out)


async def walkthrough(client: Client, emulator: EmulatorState, out: TextIO) -> None:
    demo = Walkthrough(client, emulator, out)
    demo.say("An agent creates a cloud function and deploys a script to it.")
    await demo.call("get_credit_balance", {})
    created = await demo.call("create_cloud_function", {"name": "Hello demo", "description": "Created by the demo"})
    function_uuid = _structured(created)["function_uuid"]
    job = await demo.call(
        "create_cloud_function_job",
        {"function_uuid": function_uuid, "name": "hello v1", "script_cid": DEMO_SCRIPT_CID},
    )
    job_uuid = _structured(job)["job"]["job_uuid"]
    await demo.call("get_cloud_function", {"function_uuid": function_uuid})
    demo.advance_clock(30)
    await demo.call("get_cloud_function", {"function_uuid": function_uuid})

    demo.say("Replacing the environment is destructive: the first call only describes the effect.")
    variables = {"GREETING": "hello", "API_TOKEN": "demo-secret-value"}
    env_args = {"function_uuid": function_uuid, "variables": variables}
    first = await demo.call("set_cloud_function_environment", env_args, expect_error=True)
    demo.say("[user] confirms; the agent repeats the call with the token.")
    await demo.call("set_cloud_function_environment", {**env_args, "confirmation_token": _token(first)})

    demo.say("Deleting the job that serves the gateway needs confirmation too.")
    first = await demo.call("delete_cloud_function_job", {"job_uuid": job_uuid}, expect_error=True)
    demo.say("[user] confirms.")
    await demo.call("delete_cloud_function_job", {"job_uuid": job_uuid, "confirmation_token": _token(first)})
    await demo.call("list_cloud_functions", {})


def _masked(name: str, value: Any) -> Any:
    """Environment values are secrets: the demo shows their names only."""
    if name == "variables" and isinstance(value, dict):
        return dict.fromkeys(value, "***")
    return value


def _structured(answer: CallToolResult) -> dict[str, Any]:
    structured: dict[str, Any] | None = answer.structured_content
    if structured is None:
        raise DemoFailed("a tool answered without structured content")
    return structured


def _token(answer: CallToolResult) -> str:
    text = "\n".join(block.text for block in answer.content if isinstance(block, TextContent))
    match = _TOKEN.search(text)
    if match is None:
        raise DemoFailed("the confirmation step gave no token")
    return match.group(1)


async def _run(out: TextIO) -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    emulator = EmulatorState()
    server = build_server(Settings(emulator=True), sandbox_api(emulator))
    async with Client(server) as client:
        print(f"apillon-mcp demo: {len((await client.list_tools()).tools)} tools, offline emulator", file=out)
        await walkthrough(client, emulator, out)
    print("\nDemo finished: every call above went through a real MCP client session.", file=out)


def run_demo(out: TextIO = sys.stdout) -> int:
    try:
        anyio.run(_run, out)
    except DemoFailed as failure:
        print(f"\ndemo failed: {failure}", file=sys.stderr)
        return 1
    return 0
