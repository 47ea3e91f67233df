"""Jobs: run a script already on IPFS as a new job (spends credits), delete jobs (destructive, confirmed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from mcp.server.mcpserver import Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from apillon_mcp.apillon import ApillonClient, ApillonError, CloudFunction, Job, JobStatus
from apillon_mcp.apillon.lookup import gateway_job
from apillon_mcp.apillon.permissions import COMPUTING_READ, COMPUTING_WRITE
from apillon_mcp.confirm import Answered, ConfirmForm, Effect, Fact, NotAsked
from apillon_mcp.context import ToolContext, apillon, app_state
from apillon_mcp.tools.annotations import CREATE, DESTRUCTIVE
from apillon_mcp.tools.argument_errors import ArgumentHelp
from apillon_mcp.tools.arguments import ConfirmationToken, FunctionUuid, JobName, ScriptCid, Slots
from apillon_mcp.tools.consent import ConsentRequest
from apillon_mcp.tools.credits import CHECK_FOR_NEW_JOB, create_paid_job, require_funds
from apillon_mcp.tools.errors import explain, surface_api_errors
from apillon_mcp.tools.handover import ServingJob, serving_before, takeover_sentence
from apillon_mcp.tools.progress import ProgressReport
from apillon_mcp.tools.spec import ToolSpec
from apillon_mcp.tools.text import plural
from apillon_mcp.tools.untrusted import quoted
from apillon_mcp.tools.views import JobView, StatusName, result
from apillon_mcp.tools.waiting import WAIT_SECONDS, Wait, WaitOutcome, wait_until_serving

MAX_JOBS_PER_DELETE = 50

JobUuids = Annotated[
    list[UUID] | None,
    ArgumentHelp(looks_like="a list of 1 to 50 job UUIDs", get_it="get_cloud_function lists a function's jobs"),
    Field(
        min_length=1,
        max_length=MAX_JOBS_PER_DELETE,
        description="Several jobs, one confirmation (instead of job_uuid).",
    ),
]


class CreatedJob(BaseModel):
    function_uuid: str
    job: JobView
    credits_spent: int | None = Field(description="Balance before minus after, when both could be read.")
    credit_balance: int | None = Field(description="Project credit balance after the job was created.")
    outcome: WaitOutcome
    replaces: ServingJob | None = Field(description="The job serving the gateway when this one was created.")


class DeletedJob(BaseModel):
    job_uuid: str
    name: str
    function_uuid: str
    status: StatusName
    served_gateway: bool | None = Field(description="It was the function's active job; None if unknown.")
    deleted_at: datetime | None


class NotDeleted(BaseModel):
    job_uuid: str
    reason: str


class DeletedJobs(BaseModel):
    deleted: list[DeletedJob]
    not_deleted: list[NotDeleted] = Field(description="Jobs a failure stopped; empty when all were deleted.")


async def create_cloud_function_job(
    ctx: ToolContext,
    function_uuid: FunctionUuid,
    name: JobName,
    script_cid: ScriptCid,
    slots: Slots = 1,
    wait: Wait = False,
) -> Annotated[CallToolResult, CreatedJob]:
    """Run a script already on IPFS (by CID) as a new job (100 credits); it serves once MATCHED, in minutes. With
    an earlier job's CID, a rollback."""
    state = app_state(ctx)
    client = apillon(ctx)
    balance = await require_funds(ctx)
    function = await client.get_cloud_function(str(function_uuid))
    previous = serving_before(function.function_uuid, await gateway_job(client, function))
    paid = await create_paid_job(
        ctx, function.function_uuid, name=name, script_cid=script_cid, slots=slots, balance_before=balance
    )
    job, outcome, waited = paid.job, "not_waited", ""
    if wait:
        done = await wait_until_serving(state, client, job, timeout_seconds=WAIT_SECONDS, report=ProgressReport(ctx))
        job, outcome, waited = done.job, done.outcome, done.sentence()
    data = CreatedJob(
        function_uuid=job.function_uuid,
        job=JobView.of(job, active_job_id=job.id if outcome == "matched" else None),
        credits_spent=paid.spent,
        credit_balance=paid.balance,
        outcome=outcome,
        replaces=previous,
    )
    cost = f"Spent {paid.spent} credits" if paid.spent is not None else "Job creation spends credits"
    balance_now = f"; balance now {paid.balance}." if paid.balance is not None else " (the balance could not be read)."
    lines = [
        f"Created job {quoted(job.name)} uuid={job.job_uuid} on function uuid={job.function_uuid}: "
        f"script cid={job.script_cid}, slots={job.slots}.",
        f"{cost}{balance_now}",
    ]
    if outcome == "not_waited":
        lines.append(
            f"It is {job.job_status.name}; it usually reaches MATCHED within a few minutes and then serves the "
            f"gateway. Check with get_cloud_function(function_uuid={job.function_uuid})."
        )
    else:
        lines.append(waited)
    takeover = takeover_sentence(previous, matched=outcome == "matched")
    if takeover and outcome != "superseded":
        lines.append(takeover)
    return result("\n".join(lines), data)


def _targets(job_uuid: UUID | None, job_uuids: Sequence[UUID] | None) -> list[str]:
    if (job_uuid is None) == (job_uuids is None):
        raise ToolError("Give exactly one of job_uuid (one job) or job_uuids (several); get_cloud_function lists them.")
    return list(dict.fromkeys(str(uuid) for uuid in ([job_uuid] if job_uuid is not None else job_uuids or [])))


@dataclass(frozen=True)
class _Target:
    function: CloudFunction
    job: Job

    @property
    def serving(self) -> bool:
        return self.job.id == self.function.active_job_id and self.job.job_status is JobStatus.MATCHED

    def fact(self) -> Fact:
        return Fact(f"job {quoted(self.job.name)} uuid={self.job.job_uuid}", self._role())

    def _role(self) -> str:
        if self.serving:
            return "the job serving the gateway"
        if self.job.job_status in (JobStatus.DEPLOYING, JobStatus.DEPLOYED):
            return "still deploying, not serving yet"
        if self.job.job_status is JobStatus.INACTIVE:
            return "INACTIVE, serving nothing"
        return f"{self.job.job_status.name}, not serving"

    def consequence(self) -> str:
        if self.serving:
            return (
                "It is the job that serves the function's gateway: the gateway URL stops answering (404 JOB_NOT_FOUND, "
                "within about 5 minutes) until another job of this function reaches MATCHED."
            )
        if self.job.job_status in (JobStatus.DEPLOYING, JobStatus.DEPLOYED):
            return "It has not started serving yet; deleting it cancels its deployment."
        if self.job.job_status is JobStatus.INACTIVE:
            return "It is INACTIVE (superseded by a job that reached MATCHED after it) and serves nothing."
        return "It serves nothing."


async def _locate(ctx: ToolContext, targets: list[str]) -> list[_Target]:
    state = app_state(ctx)
    found = await state.jobs.find_many(apillon(ctx), targets)
    missing = [uuid for uuid in targets if found.get(uuid) is None]
    if missing:
        raise ToolError(
            f"No live job with uuid {', '.join(missing)} was found in this project (searched the "
            f"{state.jobs.max_functions_scanned} newest functions): it may not exist or may already be deleted. "
            "Call get_cloud_function on its function to see the live jobs and their uuids. Nothing was changed."
        )
    return [_Target(located.function, located.job) for located in (found[uuid] for uuid in targets) if located]


async def describe_job_deletion(ctx: ToolContext, targets: list[str]) -> Effect:
    located = await _locate(ctx, targets)
    spent_on = "the job" if len(located) == 1 else "the jobs"
    closing = f"This cannot be undone, and the credits spent on {spent_on} are not refunded."
    if len(located) == 1:
        (target,) = located
        description = (
            f"Delete job {quoted(target.job.name)} (uuid={target.job.job_uuid}, {target.job.job_status.name}) of "
            f"cloud function {quoted(target.function.name)} (uuid={target.function.function_uuid}). "
            f"{target.consequence()} {closing}"
        )
    else:
        lines = [
            f"- job {quoted(t.job.name)} uuid={t.job.job_uuid} ({t.job.job_status.name}) of function "
            f"{quoted(t.function.name)}: {t.consequence()}"
            for t in located
        ]
        description = "\n".join([f"Delete these {len(located)} jobs:", *lines, closing])
    return Effect(description=description, facts=tuple(t.fact() for t in located))


def _deletion(ctx: ToolContext, targets: list[str]) -> ConsentRequest:
    return ConsentRequest(
        "delete_cloud_function_job", {"job_uuids": targets}, lambda: describe_job_deletion(ctx, targets)
    )


@surface_api_errors
async def _ask_before_deleting(
    job_uuid: UUID | None, job_uuids: list[UUID] | None, ctx: ToolContext
) -> Elicit[ConfirmForm] | NotAsked | Answered:
    return await _deletion(ctx, _targets(job_uuid, job_uuids)).ask(ctx)


async def delete_cloud_function_job(
    ctx: ToolContext,
    consent: Annotated[ElicitationResult[Any], Resolve(_ask_before_deleting)],
    job_uuid: Annotated[
        UUID | None,
        Field(description="From get_cloud_function (or job_uuids for several)."),
        ArgumentHelp(get_it="get_cloud_function lists a function's jobs with their uuids"),
    ] = None,
    job_uuids: JobUuids = None,
    confirmation_token: ConfirmationToken = None,
) -> Annotated[CallToolResult, DeletedJobs]:
    """Delete jobs in any state, with one confirmation for all of them. Irreversible: asks the user to confirm.
    Deleting the job serving the gateway stops the gateway until another job is MATCHED."""
    targets = _targets(job_uuid, job_uuids)
    refusal = await _deletion(ctx, targets).refusal(ctx, consent, confirmation_token)
    if refusal is not None:
        return refusal
    client = apillon(ctx)
    deleted: list[Job] = []
    not_deleted: list[NotDeleted] = []
    for target in targets:
        if not_deleted:
            not_deleted.append(NotDeleted(job_uuid=target, reason="not tried after the failure above"))
            continue
        try:
            deleted.append(await client.delete_job(target))
        except ApillonError as error:
            if not deleted:
                raise
            not_deleted.append(NotDeleted(job_uuid=target, reason=explain(error, _DELETE_HINTS, if_unsure=_IF_UNSURE)))
    served = await _served(client, deleted)
    data = DeletedJobs(
        deleted=[
            DeletedJob(
                job_uuid=job.job_uuid,
                name=job.name,
                function_uuid=job.function_uuid,
                status="DELETED",
                served_gateway=served.get(job.job_uuid),
                deleted_at=job.update_time,
            )
            for job in deleted
        ],
        not_deleted=not_deleted,
    )
    return result(_deletion_summary(data), data)


def _deletion_summary(data: DeletedJobs) -> str:
    lines = [f"Deleted {plural(len(data.deleted), 'job')}; status DELETED:"]
    lines.extend(
        f"- {quoted(job.name)} uuid={job.job_uuid} of function uuid={job.function_uuid}" for job in data.deleted
    )
    lines.extend(
        f"A deleted job served the gateway of function uuid={function_uuid}: the gateway stops answering within "
        "about 5 minutes. Deploy a new job (deploy_cloud_function_script), or roll back with "
        "create_cloud_function_job and an earlier job's script_cid, to bring it back."
        for function_uuid in sorted({job.function_uuid for job in data.deleted if job.served_gateway})
    )
    if data.not_deleted:
        lines.append(f"NOT deleted, {plural(len(data.not_deleted), 'job')}:")
        lines.extend(f"- uuid={item.job_uuid}: {item.reason}" for item in data.not_deleted)
    return "\n".join(lines)


async def _served(client: ApillonClient, deleted: list[Job]) -> dict[str, bool | None]:
    """For each deleted job, whether it was its function's active job (None when that cannot be read)."""
    served: dict[str, bool | None] = {}
    for function_uuid in dict.fromkeys(job.function_uuid for job in deleted):
        try:
            active = (await client.get_cloud_function(function_uuid, jobs_limit=1)).active_job_id
        except ApillonError:
            active = None
        for job in deleted:
            if job.function_uuid == function_uuid:
                served[job.job_uuid] = None if active is None else job.id == active
    return served


_DELETE_HINTS = {
    500001: "Apillon answers this for a job uuid that does not exist or is already deleted. Check the uuid with "
    "get_cloud_function."
}
_IF_UNSURE = (
    "Check get_cloud_function: a job no longer listed was deleted. Deleting it again is harmless (Apillon answers "
    "500001 for a job already deleted)."
)


TOOLS = (
    ToolSpec(
        create_cloud_function_job,
        "Run a script already on IPFS as a job (spends credits)",
        CREATE,
        needs=(COMPUTING_READ, COMPUTING_WRITE),
        if_unsure=CHECK_FOR_NEW_JOB,
    ),
    ToolSpec(
        delete_cloud_function_job,
        "Delete cloud function jobs (irreversible, asks for confirmation)",
        DESTRUCTIVE,
        needs=(COMPUTING_READ, COMPUTING_WRITE),
        if_unsure=_IF_UNSURE,
        error_hints=_DELETE_HINTS,
    ),
)
