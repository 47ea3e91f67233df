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

from apillon_mcp.emulator import EmulatorState
from apillon_mcp.server import build_sandbox_server

# A script that follows the gateway contract (apillon://docs/script-contract) and reads an environment variable.
DEMO_SCRIPT = """\
const PROXIES = ["wss://websocket-proxy-1.prod.gke.acurast.com/", "wss://websocket-proxy-2.prod.gke.acurast.com/"];
_STD_.ws.open(PROXIES, () => {
  _STD_.ws.registerPayloadHandler(({ sender, payload }) => {
    const request = JSON.parse(Buffer.from(payload, "hex").toString("utf8"));
    const name = (request.body && request.body.name) || "stranger";
    const reply = JSON.stringify({ message: `${_STD_.env["GREETING"] || "Hello"}, ${name}!` });
    _STD_.ws.send(sender, Buffer.from(reply, "utf8").toString("hex"));
  });
}, (error) => console.error(error));
"""
# What an agent writes when it thinks of an HTTP handler: the checks refuse it before anything is spent.
BROKEN_SCRIPT = "module.exports.handler = async (event) => ({ statusCode: 200, body: event.body });\n"
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
        """Call a tool and print it; an outcome other than `expect_error` ends the demo as failed."""
        shown = ", ".join(f"{k}={json.dumps(_masked(k, v))}" for k, v in arguments.items())
        print(f"\n> {tool}({shown})", file=self._out)
        answer = await self._client.call_tool(tool, arguments)
        text = "\n".join(block.text for block in answer.content if isinstance(block, TextContent))
        print("  " + text.replace("\n", "\n  "), file=self._out)
        if answer.is_error and not expect_error:
            raise DemoFailed(f"{tool} failed: {text}")
        if expect_error and not answer.is_error:
            raise DemoFailed(f"{tool} succeeded where it should have refused or asked for confirmation")
        return answer


async def walkthrough(client: Client, emulator: EmulatorState, out: TextIO) -> None:
    demo = Walkthrough(client, emulator, out)
    demo.say("An agent creates a cloud function, tries a script locally (free), and deploys it from source.")
    await demo.call("get_credit_balance", {})
    created = await demo.call("create_cloud_function", {"name": "Hello demo", "description": "Created by the demo"})
    function_uuid = _structured(created)["function_uuid"]
    await demo.call("test_cloud_function_script", {"script_source": DEMO_SCRIPT, "body": {"name": "Ada"}})
    demo.say("[emulator] while the tool waits for MATCHED, the emulator's clock runs ahead (minutes on Apillon).")
    deployed = await demo.call(
        "deploy_cloud_function_script",
        {
            "function_uuid": function_uuid,
            "job_name": "hello v1",
            "script_source": DEMO_SCRIPT,
            "smoke_test": {"body": {"name": "Ada"}},
        },
    )
    job_uuid = _structured(deployed)["job"]["job_uuid"]
    await demo.call("get_cloud_function", {"function_uuid": function_uuid})

    demo.say("A script that cannot answer its gateway is refused before anything is uploaded or spent.")
    await demo.call(
        "deploy_cloud_function_script",
        {"function_uuid": function_uuid, "job_name": "hello v2", "script_source": BROKEN_SCRIPT},
        expect_error=True,
    )

    demo.say("Replacing the environment is destructive: the first call only describes the effect.")
    variables = {"GREETING": "Greetings from Acurast", "API_TOKEN": "demo-secret-value"}
    env_args = {"function_uuid": function_uuid, "variables": variables}
    first = await demo.call("set_cloud_function_environment", env_args, expect_error=True)
    demo.say("[user] confirms; the agent repeats the call with the token.")
    await demo.call("set_cloud_function_environment", {**env_args, "confirmation_token": _token(first)})

    demo.say("Calling the function through its gateway runs the script (in Node.js, isolated), which reads GREETING.")
    await demo.call("invoke_cloud_function", {"function_uuid": function_uuid, "body": {"name": "Ada"}})

    demo.say("Deleting the job that serves the gateway needs confirmation too.")
    first = await demo.call("delete_cloud_function_job", {"job_uuid": job_uuid}, expect_error=True)
    demo.say("[user] confirms.")
    await demo.call("delete_cloud_function_job", {"job_uuid": job_uuid, "confirmation_token": _token(first)})
    await demo.call("list_cloud_functions", {})


def _masked(name: str, value: Any) -> Any:
    """Environment values are secrets: the demo shows their names only. Scripts are shown by size."""
    if name == "variables" and isinstance(value, dict):
        return dict.fromkeys(value, "***")
    if name == "script_source" and isinstance(value, str):
        lines = len(value.splitlines())
        return f"<{lines} line{'' if lines == 1 else 's'} of JavaScript>"
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
    server = build_sandbox_server(emulator)
    failed: DemoFailed | None = None
    async with Client(server) as client:
        print(f"apillon-mcp demo: {len((await client.list_tools()).tools)} tools, offline emulator", file=out)
        try:
            await walkthrough(client, emulator, out)
        except DemoFailed as failure:  # raised once the session is closed, not wrapped in its task group's errors
            failed = failure
    if failed is not None:
        raise failed
    print("\nDemo finished: every call above went through a real MCP client session.", file=out)


def run_demo(out: TextIO = sys.stdout) -> int:
    try:
        anyio.run(_run, out)
    except DemoFailed as failure:
        print(f"\ndemo failed: {failure}", file=sys.stderr)
        return 1
    return 0
