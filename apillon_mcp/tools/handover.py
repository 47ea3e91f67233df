"""Which job a new job takes the gateway from, and the one call that brings that job's script back."""

from __future__ import annotations

from pydantic import BaseModel, Field

from apillon_mcp.apillon.lookup import GatewayJob
from apillon_mcp.tools.untrusted import quoted

_ROLLBACK_SUFFIX = " (rollback)"
_MAX_NAME = 255


class ServingJob(BaseModel):
    """The job that served the gateway before: what a rollback redeploys."""

    job_uuid: str
    name: str
    script_cid: str
    rollback: str = Field(description="The one call that serves this script again.")


def serving_before(function_uuid: str, gateway: GatewayJob) -> ServingJob | None:
    """The job serving the gateway now, which a new job replaces once it reaches MATCHED; None if none serves."""
    if not gateway.serving or gateway.job is None:
        return None
    job = gateway.job
    name = job.name[: _MAX_NAME - len(_ROLLBACK_SUFFIX)] + _ROLLBACK_SUFFIX
    rollback = (
        f"create_cloud_function_job(function_uuid={function_uuid}, name={quoted(name)}, script_cid={job.script_cid}, "
        "wait=true)"
    )
    return ServingJob(job_uuid=job.job_uuid, name=job.name, script_cid=job.script_cid, rollback=rollback)


def takeover_sentence(previous: ServingJob | None, *, matched: bool, rollback: bool = True) -> str:
    """What happens to the job that served before, and (with `rollback`) how to go back; empty when none served."""
    if previous is None:
        return ""
    job = f"job {quoted(previous.name)} uuid={previous.job_uuid} (CID {previous.script_cid})"
    if matched:
        back = f" To go back in one call: {previous.rollback}." if rollback else ""
        return f"It took over the gateway from {job}.{back}"
    return (
        f"Until it reaches MATCHED, {job} keeps serving; then this job takes over. To go back afterwards: "
        f"{previous.rollback}."
    )
