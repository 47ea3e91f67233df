"""The argument types the tools share: each with its description, its limits and how to get a valid value."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, WrapValidator

from apillon_mcp.tools.argument_errors import ArgumentHelp
from apillon_mcp.tools.script_cid import explain_script_cid

FunctionUuid = Annotated[
    UUID, Field(description="From list_cloud_functions."), ArgumentHelp(get_it="list_cloud_functions gives them")
]
JobUuid = Annotated[
    UUID,
    Field(description="From get_cloud_function."),
    ArgumentHelp(get_it="get_cloud_function lists a function's jobs with their uuids"),
]
ConfirmationToken = Annotated[
    str | None,
    Field(
        max_length=200,
        description="Only after a 'Confirmation required' answer the user agreed to: the token it gave.",
    ),
    ArgumentHelp(
        looks_like="the token a 'Confirmation required' answer gave, unchanged",
        get_it="call without it to get one",
    ),
]
PageNumber = Annotated[int, Field(ge=1, le=100_000, description="Page, from 1.")]
PageSize = Annotated[int, Field(ge=1, le=100, description="Items per page.")]
Name = Annotated[str, Field(min_length=1, max_length=255, description="Name.")]
Description = Annotated[str | None, Field(min_length=1, max_length=255, description="Description.")]
ScriptCid = Annotated[
    str,
    Field(
        pattern=r"^(Qm[1-9A-HJ-NP-Za-km-z]{44}|bafybei[a-z2-7]{52})$",
        description="IPFS CID of the script file.",
    ),
    WrapValidator(explain_script_cid),
    ArgumentHelp(
        looks_like="the IPFS CID of the script file, Qm… or bafybei… (dag-pb)",
        get_it="deploy_cloud_function_script uploads a script and computes its CID for you",
    ),
]
JobName = Annotated[str, Field(min_length=1, max_length=255, description="Job name.")]
Slots = Annotated[int, Field(ge=1, le=10, description="Processors; only the first serves calls.")]
