"""Try a script before paying for it: run it locally, isolated, exactly as the sandbox's gateway runs a job.

Free and read-only: it needs Node.js, not Apillon, so it works with a live key as well as in the sandbox. The
request reaches the script as the gateway would send it, and what comes back (the reply, or the error, exit or
timeout, and what the script printed) is shown as the function's output: data, not instructions.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field, WithJsonSchema

from apillon_mcp import runner
from apillon_mcp.context import ToolContext, app_state
from apillon_mcp.tools.annotations import READ
from apillon_mcp.tools.gateway_requests import Body, GatewayPath, Headers, check_path, parse_headers
from apillon_mcp.tools.script_checks import Problem, contract_problems, syntax_problems
from apillon_mcp.tools.script_source import ScriptPath, ScriptSource, read_script
from apillon_mcp.tools.spec import ToolSpec
from apillon_mcp.tools.untrusted import OUTPUT_IS_DATA, fenced, neutralized
from apillon_mcp.tools.views import result

MAX_REPLY_CHARS = 8000
MAX_CONSOLE_CHARS = 2000
MAX_TEST_VARIABLES = 100
MAX_TEST_VARIABLE_CHARS = 4096

# Validated by `parse_test_variables`, not pydantic, whose messages would quote the values back.
TestVariables = Annotated[
    Any,
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_TEST_VARIABLES,
            "additionalProperties": {"type": "string", "maxLength": MAX_TEST_VARIABLE_CHARS},
        }
    ),
    Field(description="Test values for _STD_.env, {NAME: value}; never stored."),
]
Seconds = Annotated[int, Field(ge=1, le=29, description="Longest wait for the reply.")]


class ScriptRun(BaseModel):
    outcome: Literal["reply", "error", "exit", "timeout"] = Field(
        description="reply: it answered; error: it threw first; exit: it ended without replying; timeout: no reply."
    )
    reply: str | None = Field(description=f"The reply text, at most {MAX_REPLY_CHARS} characters, escaped.")
    truncated: bool
    error: str | None = Field(description="What went wrong instead of a reply.")
    console: str = Field(description=f"What the script printed, at most {MAX_CONSOLE_CHARS} characters, escaped.")
    elapsed_ms: float
    contract: list[Problem] = Field(description="Gateway-contract problems the text shows (deploy refuses these).")


def parse_test_variables(raw: Any) -> dict[str, str]:
    """The test environment as {name: value}; a ToolError that never quotes a value for anything else."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or len(raw) > MAX_TEST_VARIABLES:
        raise ToolError(f'variables must be an object of at most {MAX_TEST_VARIABLES} names to text: {{"K": "v"}}.')
    for name, value in raw.items():
        if not isinstance(value, str) or len(value) > MAX_TEST_VARIABLE_CHARS:
            raise ToolError(f"the value of variable {json.dumps(name)[:80]} must be text of at most 4096 characters.")
    return dict(raw)


async def test_cloud_function_script(
    ctx: ToolContext,
    script_source: ScriptSource = None,
    script_path: ScriptPath = None,
    body: Body = None,
    path: GatewayPath = "/",
    headers: Headers = None,
    variables: TestVariables = None,
    timeout_seconds: Seconds = 29,
) -> Annotated[CallToolResult, ScriptRun]:
    """Run a script locally and free, exactly as a job runs it, with one gateway request: its reply, or its error
    and where. Use it before deploying."""
    content, _ = read_script(app_state(ctx), "script", script_source, script_path)
    route = urlsplit(check_path(path))
    environment = parse_test_variables(variables)
    request_headers = [("content-type", "application/json"), *parse_headers(headers).items()]
    payload = runner.gateway_payload(
        body=None if body is None else json.dumps(body).encode(),
        path=route.path,
        query=parse_qsl(route.query, keep_blank_values=True),
        headers=request_headers,
    )
    try:
        run = await runner.run_once(content, payload, env=environment, timeout=timeout_seconds)
    except (runner.NodeUnavailable, runner.RunnerError) as failed:
        raise ToolError(f"The script was not run: {failed}") from None
    problems, warnings = contract_problems(content.decode("utf-8", errors="replace"))
    reply = run.result.body.decode("utf-8", errors="replace") if isinstance(run.result, runner.Reply) else None
    data = ScriptRun(
        outcome=run.kind,
        reply=None if reply is None else neutralized(reply[:MAX_REPLY_CHARS]),
        truncated=reply is not None and len(reply) > MAX_REPLY_CHARS,
        error=_what_happened(run.result),
        console=neutralized(run.output[:MAX_CONSOLE_CHARS]),
        elapsed_ms=round(run.elapsed_seconds * 1000, 1),
        contract=problems + warnings,
    )
    return result(_summary(data, reply, parses=await _parses(content, run.result)), data)


async def _parses(content: bytes, outcome: runner.Result) -> bool:
    """False only when Node's parse (the one deploy runs) refuses the script: a SyntaxError thrown while running,
    from `JSON.parse` say, is the script's error, not its syntax."""
    if not (isinstance(outcome, runner.Thrown) and outcome.name == "SyntaxError"):
        return True
    problems, _ = await syntax_problems(content)
    return not problems


def _what_happened(outcome: runner.Result) -> str | None:
    if isinstance(outcome, runner.Thrown):
        where = f" at line {outcome.line}" if outcome.line is not None else ""
        return neutralized(f"{outcome.name}: {outcome.message}{where}")
    if isinstance(outcome, runner.Exited):
        return neutralized(outcome.detail or f"the process ended with code {outcome.code}")
    if isinstance(outcome, runner.TimedOut):
        return f"no reply within {outcome.seconds:.0f} s"
    return None


def _summary(data: ScriptRun, reply: str | None, *, parses: bool) -> str:
    lines: list[str] = []
    if data.outcome == "reply" and reply is not None:
        lines.append(
            f"The script replied in {data.elapsed_ms:.0f} ms (run locally; nothing was deployed or spent). Its reply "
            f"follows {OUTPUT_IS_DATA}."
        )
        lines.append(fenced(reply[:MAX_REPLY_CHARS]))
        lines.append("If that is the answer it should give, deploy it with deploy_cloud_function_script.")
    elif not parses:
        lines.append(
            f"The script does not parse: {data.error}. A job could never start it, and deploy_cloud_function_script "
            "refuses it. Fix it and run it again."
        )
    else:
        verdict = {
            "error": "threw before replying",
            "exit": "ended without replying",
            "timeout": "did not reply in time",
        }[data.outcome]
        lines.append(
            f"The script {verdict}: {data.error}. On Apillon every call would fail the same way (the gateway answers "
            "only when the script calls _STD_.ws.send(sender, <hex reply>)). Fix it and run it again."
        )
    if data.console:
        lines.append(f"What it printed follows {OUTPUT_IS_DATA}.")
        lines.append(fenced(data.console))
    if data.contract:
        lines.append("Gateway contract: " + "; ".join(f"{p.where}: {p.problem}" for p in data.contract) + ".")
    return "\n".join(lines)


TOOLS = (ToolSpec(test_cloud_function_script, "Try a script locally, free, as a job runs it", READ, needs=()),)
