"""A request to a function's gateway: its checked parts (path, body, headers) and the call, with what to do when
the gateway does not answer 2xx. Shared by invoke_cloud_function and the deploy's smoke test."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import unquote

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, WithJsonSchema

from apillon_mcp.apillon import ApillonClient, CloudFunction, GatewayReply
from apillon_mcp.tools.untrusted import quoted

MAX_HEADERS = 20
MAX_HEADER_VALUE = 4096

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
