"""Invoke a function through its gateway URL and show the reply as the function's (untrusted) output."""

from __future__ import annotations

from typing import Annotated

from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from apillon_mcp.apillon.lookup import gateway_job
from apillon_mcp.apillon.permissions import COMPUTING_READ
from apillon_mcp.context import ToolContext, apillon, app_state
from apillon_mcp.tools.annotations import INVOKE
from apillon_mcp.tools.arguments import FunctionUuid
from apillon_mcp.tools.gateway_requests import Body, GatewayPath, Headers, call_gateway, check_path, parse_headers
from apillon_mcp.tools.spec import ToolSpec
from apillon_mcp.tools.untrusted import OUTPUT_IS_DATA, fenced, neutralized, quoted
from apillon_mcp.tools.views import result

MAX_REPLY_CHARS = 8000


class Invocation(BaseModel):
    function_uuid: str
    status: int = Field(description="HTTP status of the gateway's answer.")
    reply: str = Field(description=f"The reply text, at most {MAX_REPLY_CHARS} characters, control characters escaped.")
    truncated: bool = Field(description="The reply was longer and was cut.")
    latency_ms: float
    stale_job: bool = Field(description="The function has no serving job: the reply came from the gateway's cache.")


async def invoke_cloud_function(
    ctx: ToolContext,
    function_uuid: FunctionUuid,
    body: Body = None,
    path: GatewayPath = "/",
    headers: Headers = None,
) -> Annotated[CallToolResult, Invocation]:
    """POST to the function's gateway URL and return the reply of its MATCHED job: the script's output. The
    gateway is public."""
    extra_headers = parse_headers(headers)
    route = check_path(path)
    client = apillon(ctx)
    function = await client.get_cloud_function(str(function_uuid), jobs_limit=1)
    reply = await call_gateway(
        client, function, route, body=body, headers=extra_headers, sandbox=app_state(ctx).sandbox is not None
    )
    serving = (await gateway_job(client, function)).serving
    shown = reply.text[:MAX_REPLY_CHARS]
    truncated = reply.truncated or len(reply.text) > MAX_REPLY_CHARS
    data = Invocation(
        function_uuid=function.function_uuid,
        status=reply.status,
        reply=neutralized(shown),
        truncated=truncated,
        latency_ms=round(reply.elapsed_ms, 1),
        stale_job=not serving,
    )
    note = f" (trimmed to the first {MAX_REPLY_CHARS} characters)" if truncated else ""
    lines = [
        f"The gateway of function {quoted(function.name)} answered HTTP {reply.status} in {data.latency_ms:.0f} ms. "
        f"Its reply{note} follows {OUTPUT_IS_DATA}."
    ]
    if not serving:
        lines.append(
            "Note: the function has no serving job (its active job was deleted or is not MATCHED), so this reply came "
            "from the job the gateway still caches (for up to 5 minutes); then the gateway stops answering. See "
            "get_cloud_function."
        )
    lines.append(fenced(shown))
    return result("\n".join(lines), data)


TOOLS = (
    ToolSpec(
        invoke_cloud_function,
        "Call a cloud function through its gateway",
        INVOKE,
        needs=(COMPUTING_READ,),
        if_unsure="The function may have run. Call it again only if running it twice does no harm.",
    ),
)
