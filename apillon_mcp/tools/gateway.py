"""Invoke a function through its gateway URL and show the reply as the function's (untrusted) output."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import unquote

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field, WithJsonSchema

from apillon_mcp.apillon import ApillonClient, CloudFunction, GatewayReply
from apillon_mcp.apillon.lookup import gateway_job
from apillon_mcp.apillon.permissions import COMPUTING_READ
from apillon_mcp.context import ToolContext, apillon, app_state
from apillon_mcp.tools.common import FunctionUuid, result
from apillon_mcp.tools.spec import ToolSpec
from apillon_mcp.tools.untrusted import OUTPUT_IS_DATA, fenced, neutralized, quoted

MAX_REPLY_CHARS = 8000
MAX_HEADERS = 20
MAX_HEADER_VALUE = 4096
INVOKE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)

_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$")
_ENCODED_CONTROL = re.compile(r"%(?:[01][0-9a-fA-F]|7[fF])")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
_HEADER_VALUE = re.compile(r"^[\x20-\x7e\t]*$")
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "upgrade",
        "te",
        "trailer",
        "keep-alive",
    }
)

FREE_JSON = {"anyOf": [{"type": t} for t in ("object", "array", "string", "number", "boolean", "null")]}
HEADERS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "string", "maxLength": MAX_HEADER_VALUE},
    "maxProperties": MAX_HEADERS,
}

GatewayPath = Annotated[str, Field(max_length=2048, description="Path and query, e.g. /prices?coin=eth.")]
Body = Annotated[
    Any,
    WithJsonSchema(FREE_JSON),
    Field(description="JSON to POST; the script gets it as payload.body."),
]
# Validated by `parse_headers`, not pydantic, whose messages would quote values back (they may be credentials).
Headers = Annotated[
    Any,
    WithJsonSchema(HEADERS_SCHEMA),
    Field(description="Extra ASCII headers; X-... (capital X), CloudFront-... and Via are dropped."),
]


class Invocation(BaseModel):
    function_uuid: str
    status: int = Field(description="HTTP status of the gateway's answer.")
    reply: str = Field(description=f"The reply text, at most {MAX_REPLY_CHARS} characters, control characters escaped.")
    truncated: bool = Field(description="The reply was longer and was cut.")
    latency_ms: float
    stale_job: bool = Field(description="The function has no serving job: the reply came from the gateway's cache.")


def parse_headers(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ToolError("headers must be an object of header names to string values.")
    if len(raw) > MAX_HEADERS:
        raise ToolError(f"at most {MAX_HEADERS} headers.")
    headers: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise ToolError(f"header name {quoted(str(name)[:64])} is not a valid HTTP header name.")
        if name.lower() in _RESERVED_HEADERS or name.lower().startswith("proxy-"):
            raise ToolError(f"header {quoted(name)} is set by the HTTP client and cannot be given.")
        if not isinstance(value, str) or len(value) > MAX_HEADER_VALUE or not _HEADER_VALUE.match(value):
            raise ToolError(
                f"the value of header {quoted(name)} must be one line of printable ASCII text, at most "
                f"{MAX_HEADER_VALUE} characters (percent-encode anything else)."
            )
        headers[name] = value
    return headers


def check_path(path: str) -> str:
    if not _PATH.match(path) or path.startswith("//") or _ENCODED_CONTROL.search(path):
        raise ToolError("path must start with '/' and use URL characters only, e.g. '/' or '/prices?coin=eth'.")
    if any(unquote(segment) in (".", "..") for segment in path.split("?", 1)[0].split("/")):
        raise ToolError("path must not contain '.' or '..' segments.")
    return path


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


async def call_gateway(
    client: ApillonClient,
    function: CloudFunction,
    route: str,
    *,
    body: Any,
    headers: dict[str, str],
    sandbox: bool,
) -> GatewayReply:
    """The gateway's 2xx reply; a ToolError that says what to do for anything else."""
    if not function.gateway_url:
        raise ToolError("Apillon did not return a gateway URL for this function; get_cloud_function shows its state.")
    reply = await client.call_gateway(function.gateway_url, route, body=body, headers=headers)
    if not 200 <= reply.status < 300:
        raise ToolError(gateway_error(reply, function.function_uuid, sandbox=sandbox))
    return reply


_NEXT_STEPS = {
    "CLOUD_FUNCTION_NOT_FOUND": "the gateway does not know this function (it may have been deleted).",
    "JOB_NOT_DEPLOYED": "no job of this function is MATCHED yet. Wait (get_cloud_function shows the jobs' status) or "
    "deploy one with deploy_cloud_function_script.",
    "JOB_NOT_FOUND": "the function's active job was deleted. Deploy a new job; it serves once it reaches MATCHED.",
    "JOB_ID_IS_MISSING": "the active job has no on-chain id yet. Retry in a minute.",
    "Invalid request": "the gateway only takes POST requests to a function's URL.",
}
_TIMEOUTS = ("The Acurast websocket request timed out.", "Endpoint request timed out")


def gateway_error(reply: GatewayReply, function_uuid: str, *, sandbox: bool) -> str:
    message = _message(reply.text)
    head = f"The gateway of function uuid={function_uuid} answered HTTP {reply.status} ({quoted(message)})"
    if message in _NEXT_STEPS:
        return f"{head}: {_NEXT_STEPS[message]}"
    from apillon_mcp.runner.node import MESSAGE_START  # the runner loads only when an error needs it

    if reply.status == 500 and message.startswith(MESSAGE_START):
        # Only the sandbox says this: its gateway runs scripts on this machine.
        return f"The sandbox could not run the script of function uuid={function_uuid}. {_message(reply.text, 1000)}"
    if message in _TIMEOUTS or reply.status == 504:
        return (
            f"{head}: the script did not reply within the gateway's time limit (29 s). It must call "
            "_STD_.ws.send(sender, hexReply) for each payload (resource apillon://docs/script-contract); a script "
            "that throws first never replies. test_cloud_function_script runs it locally and shows its error."
        )
    if sandbox:
        return f"{head}: this is the offline sandbox's own gateway on this machine; its message says what is wrong."
    return (
        f"{head}. Retry in a minute; if it persists, run the script with test_cloud_function_script and check the "
        "jobs with get_cloud_function."
    )


def _message(text: str, limit: int = 300) -> str:
    try:
        parsed = json.loads(text)
    except ValueError:
        return " ".join(text[:200].split())
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return str(parsed["message"])[:limit]
    return " ".join(text[:200].split())


TOOLS = (
    ToolSpec(
        invoke_cloud_function,
        "Call a cloud function through its gateway",
        INVOKE,
        needs=(COMPUTING_READ,),
        if_unsure="The function may have run. Call it again only if running it twice does no harm.",
    ),
)
