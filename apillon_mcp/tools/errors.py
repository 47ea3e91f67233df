"""The one place where Apillon errors become messages for the model: what happened, and what to do next."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ToolError

from apillon_mcp.apillon import (
    ApillonAPIError,
    ApillonAuthError,
    ApillonBadResponse,
    ApillonError,
    ApillonForbidden,
    ApillonUnreachable,
)

P = ParamSpec("P")
R = TypeVar("R")

_ROLE_NAMES = {"KEY_EXECUTE": "Execute", "KEY_WRITE": "Write", "KEY_READ": "Read"}

# Apillon code -> (name, meaning and next step). Names as the backend spells them (apillon-api §3.3).
_CODES: dict[int, tuple[str, str]] = {
    40000003: (
        "MISSING_AUTHORIZATION_HEADER",
        "no API credentials were sent. Set APILLON_API_KEY and APILLON_API_SECRET for the MCP server and restart it.",
    ),
    40000004: (
        "INVALID_AUTHORIZATION_HEADER",
        "the API key or secret is empty. Check APILLON_API_KEY and APILLON_API_SECRET and restart the MCP server.",
    ),
    40002400: (
        "INVALID_API_KEY",
        "Apillon does not accept this API key and secret. Check APILLON_API_KEY and APILLON_API_SECRET "
        "(the key may have been deleted in the Apillon dashboard) and restart the MCP server.",
    ),
    40100000: (
        "UNAUTHORIZED",
        "Apillon could not match the credentials to a project. Check APILLON_API_KEY and APILLON_API_SECRET.",
    ),
    40418004: (
        "JOB_NOT_FOUND",
        "the function's active job has been deleted. For set-environment this means the variables WERE saved but "
        "no running job received them: deploy a new job (create_cloud_function_job); it receives them when it "
        "reaches MATCHED.",
    ),
    40418005: (
        "CLOUD_FUNCTION_NOT_FOUND",
        "there is no cloud function with this uuid in the project. Use list_cloud_functions to find the right uuid.",
    ),
    42200205: ("COMPUTING_NAME_NOT_VALID", "the name must be 1 to 255 characters."),
    42200206: ("COMPUTING_DESCRIPTION_NOT_VALID", "the description must be 1 to 255 characters, or left out."),
    42200212: ("COMPUTING_FIELD_NOT_PRESENT", "a required field is missing or empty."),
    42200213: ("COMPUTING_FIELD_NOT_VALID", "slots must be a whole number from 0 to 10."),
    42218013: ("REQUIRED_DATA_NOT_PRESENT", "a required field is missing."),
    42218016: ("FIELD_INVALID", "every variable needs a non-empty name and a non-empty value."),
    50018013: (
        "DEPLOY_JOB_ERROR",
        "Apillon could not create or register the job on chain, and nothing was created or charged. Retry in a few "
        "minutes.",
    ),
    50018014: (
        "JOB_NOT_DEPLOYED",
        "the function's active job is not DEPLOYED or MATCHED. For set-environment the variables WERE saved; "
        "jobs receive them when they reach MATCHED.",
    ),
    50018015: (
        "JOB_ID_IS_MISSING",
        "the function's active job has no on-chain id yet. For set-environment the variables WERE saved; jobs "
        "receive them when they reach MATCHED.",
    ),
    50018016: (
        "DELETE_JOB_ERROR",
        "Apillon could not deregister the job on chain and left it as it was. Retry in a few minutes.",
    ),
    500001: (
        "UNHANDLED_SYSTEM_ERROR",
        "Apillon failed internally and gave no reason. Retry once; if it fails the same way again, Apillon cannot "
        "handle this request as it is.",
    ),
}


GENERIC_CHECK = (
    "Check the current state (list_cloud_functions / get_cloud_function) before trying again, so that nothing is "
    "done twice."
)


def explain(error: ApillonError, hints: Mapping[int, str] | None = None, *, if_unsure: str = GENERIC_CHECK) -> str:
    """A message for the model: the Apillon code and name, what it means here, and the next step.

    `if_unsure` says how to find out whether a write whose outcome is unknown took effect.
    """
    if error.outcome_unknown:
        return (
            f"Outcome unknown: {_clip(str(error))}. The request may have reached Apillon and been carried out, or "
            f"not. It was not retried. {if_unsure}"
        )
    if isinstance(error, ApillonUnreachable):
        if error.may_have_reached_server:
            return f"{error}. Apillon may be slow or down: retry in a minute."
        return f"{error}. Nothing reached Apillon. Check the network and APILLON_API_URL, then retry."
    if isinstance(error, ApillonBadResponse):
        return (
            f"Apillon's answer could not be read: {error}. This usually means a proxy or an outage in front of the "
            "API. Retry in a minute; check the current state first if the call was a write."
        )
    if isinstance(error, ApillonAPIError):
        return _explain_api_error(error, hints or {})
    return str(error)


_UNAVAILABLE = (
    "Apillon, or a proxy in front of it, is unavailable or overloaded right now. Retry in a minute; if the call was "
    "a write, check the current state first."
)


def apillon_said(error: ApillonAPIError) -> str:
    """What Apillon answered, as one sentence: status, code and name, and its message or field errors."""
    name = _CODES.get(error.code or 0, ("", ""))[0]
    label = f"code {error.code} {name}".rstrip() if error.code is not None else "no code"
    parts = [f"Apillon answered HTTP {error.status}, {label}"]
    if error.field_errors:
        parts.append("; ".join(f"field '{e.property}': {e.message} ({e.code})" for e in error.field_errors))
    elif error.message and error.message != name:
        parts.append(_clip(error.message))
    return ": ".join(parts) + "."


def _explain_api_error(error: ApillonAPIError, hints: Mapping[int, str]) -> str:
    head = f"Apillon answered HTTP {error.status}"
    if isinstance(error, ApillonForbidden):
        role = error.missing_role
        if role is not None:
            service = "Storage" if (error.path or "").startswith("/storage") else "Computing"
            return (
                f"{head}, code {error.code}: the API key lacks the {_ROLE_NAMES.get(role, role)} permission for "
                f"{service} ({role}). Add that permission to the key in the Apillon dashboard (API keys); "
                "a change can take up to an hour to apply."
            )
        return (
            f"{head}, code {error.code}: this record belongs to another Apillon project than the API key's "
            f"({error.message}). Use a uuid from list_cloud_functions."
        )
    meaning = _CODES.get(error.code or 0, ("", ""))[1]
    text = apillon_said(error)
    if error.code is not None and error.code in hints:
        return f"{text} {hints[error.code]}"
    if error.status in (502, 503, 504):
        return f"{text} {_UNAVAILABLE}"
    if meaning:
        return f"{text} This means {meaning}"
    if isinstance(error, ApillonAuthError):
        return f"{text} Check APILLON_API_KEY and APILLON_API_SECRET."
    return text


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def surface_api_errors(
    tool: Callable[P, Awaitable[R]], *, hints: Mapping[int, str] | None = None, if_unsure: str = GENERIC_CHECK
) -> Callable[P, Awaitable[R]]:
    """Let the model read why Apillon refused; any other exception stays a crash for the server log.

    `hints` replace the generic next step for codes that mean something specific for this tool; `if_unsure` says
    how to check a write whose outcome is unknown.
    """

    @functools.wraps(tool)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await tool(*args, **kwargs)
        except ApillonError as error:
            raise ToolError(explain(error, hints, if_unsure=if_unsure)) from error

    return wrapper
