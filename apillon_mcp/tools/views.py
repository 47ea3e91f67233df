"""How results are shown: the typed view of a job, its one-line summary, and a tool result built from both parts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, cast

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from apillon_mcp.apillon import Job, JobStatus
from apillon_mcp.tools.untrusted import quoted

SANDBOX_GATEWAY = "offline sandbox: only invoke_cloud_function reaches it"
"""Said beside every sandbox gateway URL: it is not public."""

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
