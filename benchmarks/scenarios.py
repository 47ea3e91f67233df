"""Benchmark 7: whole agent tasks, replayed through the MCP client against the sandbox.

Each scenario is what an agent does for one request of a user, tool call by tool call, reading each result as the
model would (the next call's arguments come from the text of the results, not from the emulator). It reports the
tool calls made, the bytes of the results read, the credits spent and the outcome, against its budget:

- first deploy: from nothing to a deployed function answering a call, in at most 4 calls;
- broken scripts: a script with a syntax error and one that breaks the gateway contract, sent to a function that
  serves: 0 credits spent, and the serving job untouched and still answering;
- rollback: after a bad deploy noticed by its smoke test, at most 2 calls until the old script serves again (the
  wait for MATCHED aside);
- cleanup: removing 5 old jobs of one function in at most 2 calls and 1 confirmation.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

from apillon_mcp.emulator import DEFAULT_PROJECT_UUID, EmulatorState, JobStatus
from benchmarks.harness import Sandbox
from benchmarks.profiles import Profile
from benchmarks.report import Budget, Outcome, Table
from benchmarks.sizes import ResultBytes, summary_text

QUOTE = """\
_STD_.ws.open(["wss://websocket-proxy-1.prod.gke.acurast.com/"], () => {
  _STD_.ws.registerPayloadHandler(({ sender, payload }) => {
    const request = JSON.parse(Buffer.from(payload, "hex").toString("utf8"));
    const reply = JSON.stringify({ symbol: request.body.symbol, price: VERSION });
    _STD_.ws.send(sender, Buffer.from(reply, "utf8").toString("hex"));
  });
}, (error) => console.error(error));
"""
SYNTAX_ERROR = QUOTE.replace("JSON.stringify({", "JSON.stringify({{")
CONTRACT_BROKEN = "module.exports.handler = async (event) => ({ statusCode: 200, body: event.body });\n"
THROWS_ON_CALL = QUOTE.replace("const reply", "throw new Error('feed down'); const reply")
REQUEST = {"body": {"symbol": "ETH"}}
_TOKEN = re.compile(r'confirmation_token="([^"]+)"')
_ROLLBACK = re.compile(
    r"create_cloud_function_job\(function_uuid=(?P<function>[0-9a-f-]{36}), name=(?P<name>\"[^\"]*\"), "
    r"script_cid=(?P<cid>\w+), wait=true\)"
)
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def version(n: int) -> str:
    return QUOTE.replace("VERSION", str(n))


@dataclass
class Agent:
    """The agent's side of one scenario: every call it makes, and every result byte it reads."""

    client: Client
    state: EmulatorState
    calls: list[str] = field(default_factory=list)
    bytes_read: int = 0
    confirmations: int = 0

    async def call(self, tool: str, arguments: dict[str, Any]) -> str:
        result: CallToolResult = await self.client.call_tool(tool, arguments)
        self.calls.append(tool)
        self.bytes_read += ResultBytes.of(result).summary
        text = summary_text(result)
        if text.startswith("Confirmation required:"):
            self.confirmations += 1
        return text

    def balance(self) -> int:
        return self.state.credit_balance(DEFAULT_PROJECT_UUID)


@dataclass(frozen=True)
class Run:
    name: str
    calls: int
    bytes_read: int
    credits: int
    outcome: str
    budget: str
    met: bool


async def run(profile: Profile) -> Outcome:
    if shutil.which("node") is None:
        return Outcome(notes=["agent scenarios skipped: the sandbox's gateway and the script checks need Node.js"])
    runs = [await _first_deploy(), await _broken_scripts(), await _rollback(), await _cleanup()]
    outcome = Outcome()
    outcome.tables.append(
        Table(
            "Agent scenarios (tool calls and result bytes the agent read)",
            ("scenario", "calls", "result B", "credits", "outcome"),
            [(r.name, r.calls, r.bytes_read, r.credits, r.outcome) for r in runs],
        )
    )
    outcome.budgets.extend(Budget(f"scenario: {r.name}", r.budget, r.outcome, r.met) for r in runs)
    outcome.figures = {
        "scenarios": [
            {"name": r.name, "calls": r.calls, "result_bytes": r.bytes_read, "credits": r.credits, "outcome": r.outcome}
            for r in runs
        ]
    }
    return outcome


async def _first_deploy() -> Run:
    sandbox = Sandbox()
    async with Client(sandbox.server()) as client:
        agent = Agent(client, sandbox.state)
        before = agent.balance()
        created = await agent.call("create_cloud_function", {"name": "eth-quotes"})
        function_uuid = _first_uuid(created)
        tried = await agent.call("test_cloud_function_script", {"script_source": version(1), **REQUEST})
        deployed = await agent.call(
            "deploy_cloud_function_script",
            {"function_uuid": function_uuid, "job_name": "v1", "script_source": version(1), "smoke_test": REQUEST},
        )
        answered = await agent.call("invoke_cloud_function", {"function_uuid": function_uuid, **REQUEST})
    works = '"price":1' in tried and "Smoke test: HTTP 200" in deployed and '"price":1' in answered
    calls = len(agent.calls)
    return Run(
        "first deploy: nothing to an answering function",
        calls,
        agent.bytes_read,
        before - agent.balance(),
        f"{calls} calls; {'answers' if works else 'DOES NOT ANSWER'}",
        "<= 4 calls, answering",
        works and calls <= 4,
    )


async def _serving(sandbox: Sandbox, agent: Agent) -> tuple[str, str]:
    """Set-up, not counted: a function whose job v1 serves. (function uuid, job uuid)."""
    function = sandbox.state.create_function("eth-quotes")
    text = await agent.call(
        "deploy_cloud_function_script",
        {"function_uuid": function.function_uuid, "job_name": "v1", "script_source": version(1)},
    )
    (job_uuid,) = re.findall(rf'Deployed job "v1" uuid=({_UUID})', text)
    agent.calls.clear()
    agent.bytes_read = 0
    return function.function_uuid, job_uuid


async def _broken_scripts() -> Run:
    sandbox = Sandbox()
    async with Client(sandbox.server()) as client:
        agent = Agent(client, sandbox.state)
        function_uuid, serving = await _serving(sandbox, agent)
        before = agent.balance()
        refused = [
            await agent.call(
                "deploy_cloud_function_script",
                {"function_uuid": function_uuid, "job_name": "v2", "script_source": script},
            )
            for script in (SYNTAX_ERROR, CONTRACT_BROKEN)
        ]
        still = await client.call_tool("invoke_cloud_function", {"function_uuid": function_uuid, **REQUEST})
    spent = before - agent.balance()
    untouched = sandbox.state.jobs[serving].job_status is JobStatus.MATCHED and len(sandbox.state.jobs) == 1
    answering = '"price":1' in summary_text(still)
    both_refused = all("Not deployed: nothing was uploaded" in text for text in refused)
    return Run(
        "broken scripts: syntax error, contract broken",
        len(agent.calls),
        agent.bytes_read,
        spent,
        f"{'both refused' if both_refused else 'NOT REFUSED'}; {spent} credits; serving job "
        f"{'untouched and answering' if untouched and answering else 'BROKEN'}",
        "0 credits, serving job untouched and answering",
        both_refused and spent == 0 and untouched and answering,
    )


async def _rollback() -> Run:
    sandbox = Sandbox()
    async with Client(sandbox.server()) as client:
        agent = Agent(client, sandbox.state)
        function_uuid, _ = await _serving(sandbox, agent)
        noticed = await agent.call(
            "deploy_cloud_function_script",
            {"function_uuid": function_uuid, "job_name": "v2", "script_source": THROWS_ON_CALL, "smoke_test": REQUEST},
        )
        agent.calls.clear()  # counted from noticing: the deploy's own result says the smoke test failed
        agent.bytes_read = 0
        before = agent.balance()
        rollback = _ROLLBACK.search(noticed)
        answered = ""
        if "SMOKE TEST FAILED" in noticed and rollback is not None:
            await agent.call(
                "create_cloud_function_job",
                {
                    "function_uuid": rollback["function"],
                    "name": rollback["name"].strip('"'),
                    "script_cid": rollback["cid"],
                    "wait": True,
                },
            )
            answered = await agent.call("invoke_cloud_function", {"function_uuid": function_uuid, **REQUEST})
    back = '"price":1' in answered
    calls = len(agent.calls)
    return Run(
        "rollback after a bad deploy",
        calls,
        agent.bytes_read,
        before - agent.balance(),
        f"{calls} calls from noticing; {'v1 serves again' if back else 'NOT BACK'}",
        "<= 2 calls, the old script serving",
        back and calls <= 2,
    )


async def _cleanup() -> Run:
    sandbox = Sandbox()
    async with Client(sandbox.server()) as client:
        agent = Agent(client, sandbox.state)
        function_uuid, _ = await _serving(sandbox, agent)
        for n in range(2, 7):
            await agent.call(
                "deploy_cloud_function_script",
                {"function_uuid": function_uuid, "job_name": f"v{n}", "script_source": version(n)},
            )
        listed = await client.call_tool("get_cloud_function", {"function_uuid": function_uuid})
        old = re.findall(rf"uuid=({_UUID}) INACTIVE", summary_text(listed))
        agent.calls.clear()
        agent.bytes_read = 0
        asked = await agent.call("delete_cloud_function_job", {"job_uuids": old})
        token = _TOKEN.search(asked)
        if token is not None:
            await agent.call("delete_cloud_function_job", {"job_uuids": old, "confirmation_token": token[1]})
    deleted = [uuid for uuid in old if sandbox.state.jobs[uuid].job_status is JobStatus.DELETED]
    calls = len(agent.calls)
    return Run(
        "cleanup: remove 5 old jobs",
        calls,
        agent.bytes_read,
        0,
        f"{len(deleted)} of {len(old)} deleted in {calls} calls, {agent.confirmations} confirmation",
        "5 deleted, <= 2 calls, 1 confirmation",
        len(old) == 5 and len(deleted) == 5 and calls <= 2 and agent.confirmations == 1,
    )


def _first_uuid(text: str) -> str:
    found = re.search(_UUID, text)
    if found is None:
        raise ValueError(f"no uuid in {text!r}")
    return found.group()
