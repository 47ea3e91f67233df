"""Environment variables: replace a function's whole set (destructive, confirmed). Values are never shown."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from mcp.server.mcpserver import Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field, WithJsonSchema

from apillon_mcp.apillon.lookup import gateway_job
from apillon_mcp.apillon.permissions import COMPUTING_EXECUTE, COMPUTING_READ
from apillon_mcp.confirm import Answered, ConfirmForm, Effect, Fact, NotAsked
from apillon_mcp.context import ToolContext, apillon, app_state
from apillon_mcp.tools.annotations import DESTRUCTIVE
from apillon_mcp.tools.arguments import ConfirmationToken, FunctionUuid
from apillon_mcp.tools.consent import ConsentRequest
from apillon_mcp.tools.errors import surface_api_errors
from apillon_mcp.tools.spec import ToolSpec
from apillon_mcp.tools.text import plural
from apillon_mcp.tools.untrusted import quoted
from apillon_mcp.tools.views import result

# Apillon encrypts the JSON of the variable list with AWS KMS, which takes at most 4096 bytes.
MAX_VARIABLES_JSON_BYTES = 4096
MAX_VARIABLES = 100
MAX_NAME_LENGTH = 255

# Validated by `parse_variables`, not by pydantic, whose messages would quote the (secret) values back.
Variables = Annotated[
    Any,
    WithJsonSchema(
        {
            "type": "object",
            "minProperties": 1,
            "maxProperties": MAX_VARIABLES,
            "additionalProperties": {"type": "string", "minLength": 1, "maxLength": MAX_VARIABLES_JSON_BYTES},
            "propertyNames": {"minLength": 1, "maxLength": MAX_NAME_LENGTH},
        }
    ),
    Field(description="The COMPLETE set, {NAME: value}; at most about 4 KiB of JSON. Values are never shown back."),
]


class EnvironmentReplaced(BaseModel):
    function_uuid: str
    variable_names: list[str] = Field(description="Names now set; values are never returned.")
    pushed_to_active_job: bool = Field(description="The function has an active job, which received the values.")


def parse_variables(raw: Any) -> dict[str, str]:
    """The variables as {name: value}; a ToolError (that never quotes a value) for anything else."""
    if isinstance(raw, list) and all(isinstance(item, dict) and set(item) == {"key", "value"} for item in raw):
        pairs = [(item["key"], item["value"]) for item in raw]
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise ToolError('variables must be an object mapping each NAME to its value, e.g. {"API_URL": "https://..."}.')
    if not pairs:
        raise ToolError("variables is empty: Apillon keeps at least one variable (an empty set cannot be saved).")
    if len(pairs) > MAX_VARIABLES:
        raise ToolError(f"at most {MAX_VARIABLES} variables.")
    variables: dict[str, str] = {}
    for key, value in pairs:
        if not isinstance(key, str) or not key or len(key) > MAX_NAME_LENGTH:
            raise ToolError(f"every variable name must be a string of 1 to {MAX_NAME_LENGTH} characters.")
        if key in variables:
            raise ToolError(f"variable {quoted(key)} is given twice.")
        if not isinstance(value, str) or not value:
            raise ToolError(f"the value of {quoted(key)} must be a non-empty string (write numbers as text).")
        variables[key] = value
    size = len(json.dumps([{"key": k, "value": v} for k, v in variables.items()]).encode())
    if size > MAX_VARIABLES_JSON_BYTES:
        raise ToolError(
            f"the variables take {size} bytes as JSON; Apillon accepts at most {MAX_VARIABLES_JSON_BYTES}. "
            "Shorten them. Nothing was changed."
        )
    return variables


async def describe_environment_replacement(ctx: ToolContext, function_uuid: UUID, variables: dict[str, str]) -> Effect:
    client = apillon(ctx)
    function = await client.get_cloud_function(str(function_uuid))
    gateway = await gateway_job(client, function)
    names = ", ".join(quoted(name) for name in variables)
    sentences = [
        f"Replace ALL environment variables of cloud function {quoted(function.name)} (uuid={function.function_uuid}) "
        f"with {plural(len(variables), 'variable')}: {names}. Any variable not listed is removed, and the current "
        "values cannot be read back to restore them."
    ]
    if gateway.serving and gateway.job is not None:
        receiver = f"job {quoted(gateway.job.name)} uuid={gateway.job.job_uuid}, which serves the gateway"
        sentences.append(f"The active job {quoted(gateway.job.name)} receives the new values on chain right away.")
    elif gateway.deleted:
        receiver = "none: the active job was deleted"
        sentences.append(
            "Its active job was deleted: Apillon saves the variables but answers JOB_NOT_FOUND; jobs deployed later "
            "receive them when they reach MATCHED."
        )
    else:
        receiver = "none yet: no job serves"
        sentences.append("No job serves the function yet; jobs receive the variables when they reach MATCHED.")
    changed = function.update_time.isoformat() if function.update_time else "never"
    return Effect(
        description=" ".join(sentences),
        facts=(
            Fact("the job that receives the values right away", receiver),
            Fact(f"cloud function {quoted(function.name)}", f"last changed {changed}"),
        ),
    )


def _replacement(ctx: ToolContext, function_uuid: UUID, parsed: dict[str, str]) -> ConsentRequest:
    return ConsentRequest(
        "set_cloud_function_environment",
        {"function_uuid": str(function_uuid), "variables": parsed},
        lambda: describe_environment_replacement(ctx, function_uuid, parsed),
    )


@surface_api_errors
async def _ask_before_replacing(
    function_uuid: UUID, variables: Any, ctx: ToolContext
) -> Elicit[ConfirmForm] | NotAsked | Answered:
    return await _replacement(ctx, function_uuid, parse_variables(variables)).ask(ctx)


async def set_cloud_function_environment(
    ctx: ToolContext,
    function_uuid: FunctionUuid,
    variables: Variables,
    consent: Annotated[ElicitationResult[Any], Resolve(_ask_before_replacing)],
    confirmation_token: ConfirmationToken = None,
) -> Annotated[CallToolResult, EnvironmentReplaced]:
    """Replace ALL of a function's environment variables (no merge; values cannot be read back, so pass the
    complete set). Asks the user to confirm. Scripts read _STD_.env["NAME"]."""
    parsed = parse_variables(variables)
    refusal = await _replacement(ctx, function_uuid, parsed).refusal(ctx, consent, confirmation_token)
    if refusal is not None:
        return refusal
    function = await apillon(ctx).set_environment(str(function_uuid), parsed)
    pushed = function.active_job_id is not None
    data = EnvironmentReplaced(
        function_uuid=function.function_uuid, variable_names=list(parsed), pushed_to_active_job=pushed
    )
    names = ", ".join(quoted(name) for name in parsed)
    delivery = (
        "The active job receives them on chain (an Acurast setEnvironment transaction)."
        if pushed
        else "No job has matched yet; each job receives them when it reaches MATCHED."
    )
    stored = (
        "The offline sandbox keeps the values in plain text in its state file on this machine (readable by your user "
        "only); Apillon itself stores them encrypted. They cannot be read back through the tools."
        if app_state(ctx).sandbox is not None
        else "Apillon stores them encrypted; they cannot be read back."
    )
    summary = (
        f"Replaced the environment of cloud function {quoted(function.name)} uuid={function.function_uuid}: now "
        f"exactly {plural(len(parsed), 'variable')}: {names}. {stored} {delivery}"
    )
    return result(summary, data)


TOOLS = (
    ToolSpec(
        set_cloud_function_environment,
        "Replace a cloud function's environment variables (asks for confirmation)",
        DESTRUCTIVE,
        needs=(COMPUTING_READ, COMPUTING_EXECUTE),
        if_unsure="Setting the same variables again is safe: it replaces the set with the same values.",
    ),
)
