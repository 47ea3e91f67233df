"""Jobs: deploy a script as a job (spends credits), delete a job (destructive, confirmed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from mcp.server.mcpserver import Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field, WrapValidator

from apillon_mcp.apillon import ApillonClient, ApillonError, JobStatus
from apillon_mcp.apillon.permissions import COMPUTING_READ, COMPUTING_WRITE
from apillon_mcp.confirm import Answered, ConfirmForm, Effect, NotAsked, ask_user, consent_refusal
from apillon_mcp.context import ToolContext, apillon, app_state
from apillon_mcp.tools.argument_errors import ArgumentHelp
from apillon_mcp.tools.common import (
    CREATE,
    DESTRUCTIVE,
    ConfirmationToken,
    FunctionUuid,
    JobUuid,
    JobView,
    StatusName,
    quoted,
    result,
)
from apillon_mcp.tools.errors import surface_api_errors
from apillon_mcp.tools.script_cid import explain_script_cid
from apillon_mcp.tools.spec import ToolSpec

CHECK_FOR_NEW_JOB = (
    "Look for a job with this name in get_cloud_function before creating it again: a second job would spend credits "
    "again."
)

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
Slots = Annotated[int, Field(ge=0, le=10, description="Processors to reserve; only the first serves calls.")]


class CreatedJob(BaseModel):
    function_uuid: str
    job: JobView
    credits_spent: int | None = Field(description="Balance before minus after, when both could be read.")
    credit_balance: int | None = Field(description="Project credit balance after the job was created.")


class DeletedJob(BaseModel):
    job_uuid: str
    name: str
    function_uuid: str
    status: StatusName
    served_gateway: bool | None = Field(description="It was the function's active job; None if unknown.")
    deleted_at: datetime | None


async def create_cloud_function_job(
    ctx: ToolContext,
    function_uuid: FunctionUuid,
    name: JobName,
    script_cid: ScriptCid,
    slots: Slots = 1,
) -> Annotated[CallToolResult, CreatedJob]:
    """Deploy a script already on IPFS (by CID) as a new job. Spends credits (100 per job). Once MATCHED, in a
    few minutes, it serves the gateway."""
    client = apillon(ctx)
    before = await balance_or_none(client)
    job = await client.create_job(str(function_uuid), name=name, script_cid=script_cid, slots=slots)
    after = await balance_or_none(client)
    app_state(ctx).jobs.remember(job.function_uuid, [job])
    spent = before - after if before is not None and after is not None else None
    data = CreatedJob(
        function_uuid=job.function_uuid,
        job=JobView.of(job, active_job_id=None),
        credits_spent=spent,
        credit_balance=after,
    )
    cost = f"Spent {spent} credits" if spent is not None else "Job creation spends credits"
    balance = f"; balance now {after}." if after is not None else " (the balance could not be read)."
    summary = (
        f"Created job {quoted(job.name)} uuid={job.job_uuid} on function uuid={job.function_uuid}: "
        f"{job.job_status.name}, script cid={job.script_cid}, slots={job.slots}.\n"
        f"{cost}{balance}\n"
        "It usually reaches MATCHED within a few minutes and then takes over the function's gateway; until then any "
        f"current active job keeps serving. Check with get_cloud_function(function_uuid={job.function_uuid})."
    )
    return result(summary, data)


async def describe_job_deletion(ctx: ToolContext, job_uuid: UUID) -> Effect:
    state = app_state(ctx)
    located = await state.jobs.find(apillon(ctx), str(job_uuid))
    if located is None:
        raise ToolError(
            f"No live job with uuid {job_uuid} was found in this project (searched the "
            f"{state.jobs.max_functions_scanned} newest functions): it may not exist or may already be deleted. "
            "Call get_cloud_function on its function to see the live jobs and their uuids."
        )
    function, job = located.function, located.job
    sentences = [
        f"Delete job {quoted(job.name)} (uuid={job.job_uuid}, {job.job_status.name}) of cloud function "
        f"{quoted(function.name)} (uuid={function.function_uuid})."
    ]
    if job.id == function.active_job_id and job.job_status is JobStatus.MATCHED:
        sentences.append(
            "It is the job that serves the function's gateway: the gateway URL stops answering (404 JOB_NOT_FOUND, "
            "within about 5 minutes) until another job of this function reaches MATCHED."
        )
    elif job.job_status in (JobStatus.DEPLOYING, JobStatus.DEPLOYED):
        sentences.append("It has not started serving yet; deleting it cancels its deployment.")
    elif job.job_status is JobStatus.INACTIVE:
        sentences.append("It is INACTIVE (superseded by a newer job) and serves nothing.")
    sentences.append("This cannot be undone, and the credits spent on the job are not refunded.")
    return Effect(
        description=" ".join(sentences),
        state=f"{function.function_uuid}|{job.job_uuid}|{int(job.job_status)}|{function.active_job_id}",
    )


@surface_api_errors
async def _ask_before_deleting(job_uuid: UUID, ctx: ToolContext) -> Elicit[ConfirmForm] | NotAsked | Answered:
    timeout = app_state(ctx).elicitation_timeout
    return await ask_user(ctx, lambda: describe_job_deletion(ctx, job_uuid), timeout=timeout)


async def delete_cloud_function_job(
    ctx: ToolContext,
    job_uuid: JobUuid,
    consent: Annotated[ElicitationResult[Any], Resolve(_ask_before_deleting)],
    confirmation_token: ConfirmationToken = None,
) -> Annotated[CallToolResult, DeletedJob]:
    """Delete a job in any state. Irreversible: asks the user to confirm. Deleting the job serving the gateway
    stops the gateway until another job is MATCHED."""
    refusal = await consent_refusal(
        consent,
        guard=app_state(ctx).guard,
        tool="delete_cloud_function_job",
        arguments={"job_uuid": str(job_uuid), "key": apillon(ctx).key_id},
        token=confirmation_token,
        describe=lambda: describe_job_deletion(ctx, job_uuid),
    )
    if refusal is not None:
        return refusal
    client = apillon(ctx)
    job = await client.delete_job(str(job_uuid))
    served = await _was_active(client, job.function_uuid, job.id)
    data = DeletedJob(
        job_uuid=job.job_uuid,
        name=job.name,
        function_uuid=job.function_uuid,
        status="DELETED",
        served_gateway=served,
        deleted_at=job.update_time,
    )
    lines = [
        f"Deleted job {quoted(job.name)} uuid={job.job_uuid} of function uuid={job.function_uuid}; status DELETED."
    ]
    if served:
        lines.append(
            "It served the function's gateway: the gateway stops answering within about 5 minutes. Deploy a new "
            "job (deploy_cloud_function_script) to bring it back."
        )
    return result("\n".join(lines), data)


async def _was_active(client: ApillonClient, function_uuid: str, job_id: int) -> bool | None:
    try:
        function = await client.get_cloud_function(function_uuid, jobs_limit=1)
    except ApillonError:
        return None
    return function.active_job_id == job_id


async def balance_or_none(client: ApillonClient) -> int | None:
    try:
        return await client.get_credit_balance()
    except ApillonError:
        return None


TOOLS = (
    ToolSpec(
        create_cloud_function_job,
        "Deploy a script already on IPFS as a job (spends credits)",
        CREATE,
        needs=(COMPUTING_WRITE,),
        if_unsure=CHECK_FOR_NEW_JOB,
        error_hints={
            500001: "Apillon answers this when it cannot convert script_cid to a CIDv0: use the dag-pb CID "
            "(Qm... or bafy...) of the uploaded script file. Nothing was created or charged."
        },
    ),
    ToolSpec(
        delete_cloud_function_job,
        "Delete a cloud function job (irreversible, asks for confirmation)",
        DESTRUCTIVE,
        needs=(COMPUTING_READ, COMPUTING_WRITE),
        if_unsure="Check get_cloud_function: a job no longer listed was deleted. Deleting it again is harmless "
        "(Apillon answers 500001 for a job already deleted).",
        error_hints={
            500001: "Apillon answers this for a job uuid that does not exist or is already deleted. Check the "
            "uuid with get_cloud_function."
        },
    ),
)
