"""Pieces every tool module shares: argument types, annotation presets, the job view, and result building."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, cast
from uuid import UUID

from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from apillon_mcp.apillon import Job, JobStatus
from apillon_mcp.tools.argument_errors import ArgumentHelp
from apillon_mcp.tools.untrusted import quoted

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

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
CREATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)

StatusName = Literal["DEPLOYING", "DEPLOYED", "MATCHED", "INACTIVE", "DELETED"]


class JobView(BaseModel):
    job_uuid: str
    name: str
    status: StatusName
    script_cid: str
    slots: int
    onchain_job_id: int | None = Field(description="Acurast job id, set once the deploy transaction confirms.")
    serves_gateway: bool = Field(description="True for the function's active job while it is MATCHED.")
    created: datetime | None

    @classmethod
    def of(cls, job: Job, *, active_job_id: int | None) -> JobView:
        return cls(
            job_uuid=job.job_uuid,
            name=job.name,
            status=cast(StatusName, job.job_status.name),
            script_cid=job.script_cid,
            slots=job.slots,
            onchain_job_id=job.job_id,
            serves_gateway=job.id == active_job_id and job.job_status is JobStatus.MATCHED,
            created=job.create_time,
        )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def job_line(job: JobView) -> str:
    """One line per job: what the next steps need (uuid, status, the script's CID for a rollback, when it was
    created)."""
    serving = " SERVES THE GATEWAY," if job.serves_gateway else ""
    slots = f" slots={job.slots}," if job.slots != 1 else ""
    created = f" {job.created.astimezone(UTC):%Y-%m-%d %H:%M:%SZ}" if job.created is not None else ""
    return f"- {quoted(job.name)} uuid={job.job_uuid} {job.status},{serving}{slots} cid={job.script_cid}{created}"


def result(summary: str, data: BaseModel) -> CallToolResult:
    """A tool result: the summary the model reads, and the typed data matching the tool's outputSchema."""
    return CallToolResult(
        content=[TextContent(type="text", text=summary)],
        structured_content=data.model_dump(mode="json"),
    )
