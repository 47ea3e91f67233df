"""Cloud functions: list, inspect, create."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from apillon_mcp.apillon import CloudFunction, JobStatus
from apillon_mcp.apillon.lookup import GatewayJob, gateway_job
from apillon_mcp.apillon.permissions import COMPUTING_READ, COMPUTING_WRITE
from apillon_mcp.context import ToolContext, apillon, app_state
from apillon_mcp.dashboard import DASHBOARD_URI
from apillon_mcp.tools.annotations import CREATE, READ
from apillon_mcp.tools.arguments import Description, FunctionUuid, Name, PageNumber, PageSize
from apillon_mcp.tools.spec import ToolSpec
from apillon_mcp.tools.text import plural
from apillon_mcp.tools.untrusted import quoted
from apillon_mcp.tools.views import SANDBOX_GATEWAY, JobView, job_line, result

GatewayStatus = Literal["serving", "no_job_matched_yet", "active_job_deleted", "active_job_not_matched"]


class FunctionListItem(BaseModel):
    function_uuid: str
    name: str
    description: str | None
    has_matched_job: bool = Field(
        description="A job of it reached MATCHED at some point; it may since be deleted or replaced, so this does "
        "not say that it serves now (get_cloud_function does)."
    )
    created: datetime | None


class FunctionList(BaseModel):
    functions: list[FunctionListItem]
    total: int = Field(description="Functions matching the search, on all pages.")
    page: int
    limit: int
    next_page: int | None


class FunctionDetails(BaseModel):
    function_uuid: str
    name: str
    description: str | None
    gateway_url: str | None
    gateway_status: GatewayStatus
    active_job_uuid: str | None = Field(description="The job the gateway resolves to, while it is live.")
    jobs: list[JobView] = Field(description="One page of the function's live jobs (deleted jobs are hidden).")
    jobs_page: int
    jobs_limit: int
    more_jobs: bool = Field(description="The page is full: call again with jobs_page + 1 to see more.")


class CreatedFunction(BaseModel):
    function_uuid: str
    name: str
    description: str | None
    gateway_url: str | None
    bucket_uuid: str | None = Field(description="Storage bucket Apillon created for the function's scripts.")


async def list_cloud_functions(
    ctx: ToolContext,
    search: Annotated[
        str | None,
        Field(min_length=1, max_length=255, description="Only names containing this (% and _ are wildcards)."),
    ] = None,
    page: PageNumber = 1,
    limit: PageSize = 20,
) -> Annotated[CallToolResult, FunctionList]:
    """List the project's cloud functions, oldest first, one page at a time."""
    listing = await apillon(ctx).list_cloud_functions(search=search, page=page, limit=limit)
    shown_until = (page - 1) * limit + len(listing.items)
    data = FunctionList(
        functions=[
            FunctionListItem(
                function_uuid=f.function_uuid,
                name=f.name,
                description=f.description,
                has_matched_job=f.active_job_id is not None,
                created=f.create_time,
            )
            for f in listing.items
        ],
        total=listing.total,
        page=page,
        limit=limit,
        next_page=page + 1 if shown_until < listing.total else None,
    )
    matching = f" matching {quoted(search)}" if search else ""
    if not data.functions:
        lines = [f"No cloud functions{matching} on page {page} (total {listing.total})."]
        if listing.total == 0 and not search:
            lines.append("Create one with create_cloud_function.")
    else:
        first = shown_until - len(data.functions) + 1
        lines = [f"{plural(listing.total, 'cloud function')}{matching}; showing {first}-{shown_until}:"]
        lines.extend(
            f"- {quoted(f.name)} uuid={f.function_uuid}"
            + (" (a job matched once)" if f.has_matched_job else " (no job matched yet)")
            for f in data.functions
        )
        if data.next_page is not None:
            lines.append(f"More: call again with page={data.next_page}.")
        lines.append(
            "Whether a function serves now (its job may since be deleted or replaced), its jobs and gateway URL: "
            "get_cloud_function."
        )
    return result("\n".join(lines), data)


async def get_cloud_function(
    ctx: ToolContext,
    function_uuid: FunctionUuid,
    jobs_page: PageNumber = 1,
    jobs_limit: PageSize = 20,
) -> Annotated[CallToolResult, FunctionDetails]:
    """Show a cloud function: its gateway URL, which job serves the gateway, and a page of its jobs."""
    client = apillon(ctx)
    function = await client.get_cloud_function(str(function_uuid), jobs_page=jobs_page, jobs_limit=jobs_limit)
    app_state(ctx).jobs.remember(function.function_uuid, function.jobs)
    gateway = await gateway_job(client, function)
    jobs = [JobView.of(job, active_job_id=function.active_job_id) for job in function.jobs or ()]
    data = FunctionDetails(
        function_uuid=function.function_uuid,
        name=function.name,
        description=function.description,
        gateway_url=function.gateway_url,
        gateway_status=_gateway_status(gateway),
        active_job_uuid=gateway.job.job_uuid if gateway.job else None,
        jobs=jobs,
        jobs_page=jobs_page,
        jobs_limit=jobs_limit,
        more_jobs=len(jobs) >= jobs_limit,
    )
    lines = [f"Cloud function {quoted(function.name)} uuid={function.function_uuid}"]
    if function.description:
        lines.append(f"Description: {quoted(function.description)}")
    sandbox = app_state(ctx).sandbox is not None
    lines.append(f"Gateway URL: {function.gateway_url}" + (f" ({SANDBOX_GATEWAY})" if sandbox else ""))
    lines.append("Gateway: " + gateway_sentence(gateway, function, listed=[job.job_uuid for job in jobs]))
    if jobs:
        lines.append(f"Jobs (page {jobs_page}), each with its script CID and when it was created:")
        lines.extend(job_line(job) for job in jobs)
        if data.more_jobs:
            lines.append(f"More jobs may exist: call again with jobs_page={jobs_page + 1}.")
    elif jobs_page == 1:
        lines.append("No jobs. Deploy a script with deploy_cloud_function_script.")
    else:
        lines.append(f"No jobs on page {jobs_page}.")
    return result("\n".join(lines), data)


async def create_cloud_function(
    ctx: ToolContext, name: Name, description: Description = None
) -> Annotated[CallToolResult, CreatedFunction]:
    """Create an empty cloud function. Free; it runs nothing until a job is deployed to it."""
    function = await apillon(ctx).create_cloud_function(name, description)
    data = CreatedFunction(
        function_uuid=function.function_uuid,
        name=function.name,
        description=function.description,
        gateway_url=function.gateway_url,
        bucket_uuid=function.bucket_uuid,
    )
    sandbox = f"; {SANDBOX_GATEWAY}" if app_state(ctx).sandbox else ""
    summary = (
        f"Created cloud function {quoted(function.name)} uuid={function.function_uuid}.\n"
        f"Gateway URL: {function.gateway_url} (answers once a job is MATCHED{sandbox}).\n"
        "Next: write the script (resource apillon://docs/script-contract), try it with test_cloud_function_script, "
        f"then deploy_cloud_function_script(function_uuid={function.function_uuid}, job_name=..., "
        "script_source=...), which checks it, uploads it and runs it as a job (100 credits)."
    )
    return result(summary, data)


def gateway_sentence(gateway: GatewayJob, function: CloudFunction, listed: list[str]) -> str:
    """Which job the gateway resolves to, and what a call gets right now (the job's uuid unless `listed`)."""
    pending = [j for j in function.jobs or () if j.job_status in (JobStatus.DEPLOYING, JobStatus.DEPLOYED)]
    if gateway.serving and gateway.job is not None:
        job = gateway.job
        uuid = "" if job.job_uuid in listed else f" uuid={job.job_uuid} cid={job.script_cid}"
        sentence = f"served by job {quoted(job.name)}{uuid} (MATCHED)."
        if pending:
            sentence += (
                f" {plural(len(pending), 'job')} still deploying; a job takes over when it reaches MATCHED (the last "
                "to match serves)."
            )
        return sentence
    if gateway.deleted:
        return (
            "its active job was deleted, so calls answer 404 JOB_NOT_FOUND (after up to 5 minutes of cache). "
            "Deploy a new job (deploy_cloud_function_script, or create_cloud_function_job with an earlier job's cid); "
            "it takes over when it reaches MATCHED."
        )
    if gateway.job is not None:
        return f"resolves to job {quoted(gateway.job.name)}, which is {gateway.job.job_status.name}, not MATCHED."
    if pending:
        return (
            f"no job has reached MATCHED yet (calls answer 500 JOB_NOT_DEPLOYED); {plural(len(pending), 'job')} "
            "still deploying, which usually takes a few minutes. Check again with get_cloud_function."
        )
    return (
        "no job has reached MATCHED yet (calls answer 500 JOB_NOT_DEPLOYED). Deploy a script with "
        "deploy_cloud_function_script."
    )


def _gateway_status(gateway: GatewayJob) -> GatewayStatus:
    if gateway.serving:
        return "serving"
    if gateway.deleted:
        return "active_job_deleted"
    if gateway.never_matched:
        return "no_job_matched_yet"
    return "active_job_not_matched"


TOOLS = (
    ToolSpec(list_cloud_functions, "List cloud functions", READ, needs=(COMPUTING_READ,), view=DASHBOARD_URI),
    ToolSpec(
        get_cloud_function, "Get a cloud function and its jobs", READ, needs=(COMPUTING_READ,), view=DASHBOARD_URI
    ),
    ToolSpec(
        create_cloud_function,
        "Create a cloud function",
        CREATE,
        needs=(COMPUTING_WRITE,),
        if_unsure="Look for it with list_cloud_functions(search=<the name>) before creating it again: a second call "
        "would make a second function.",
    ),
)
