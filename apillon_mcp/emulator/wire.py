"""camelCase wire objects (apillon-api.md §7), written out by hand on purpose."""

from datetime import UTC, datetime

from apillon_mcp.emulator.records import CloudFunction, Job

Json = dict[str, object]


def iso(moment: datetime | None) -> str | None:
    """`Date.toISOString()`: UTC, milliseconds, `Z`."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def function_item(function: CloudFunction) -> Json:
    """A list item: the row without `gatewayUrl` and `jobs` (and never the record status)."""
    return {
        "createTime": iso(function.create_time),
        "updateTime": iso(function.update_time),
        "functionUuid": function.function_uuid,
        "projectUuid": function.project_uuid,
        "bucketUuid": function.bucket_uuid,
        "name": function.name,
        "description": function.description,
        "activeJobId": function.active_job_id,
    }


def function_full(function: CloudFunction, gateway_url: str, jobs: list[Job] | None) -> Json:
    return {
        **function_item(function),
        "gatewayUrl": gateway_url,
        "jobs": None if jobs is None else [job_json(job) for job in jobs],
    }


def job_json(job: Job) -> Json:
    return {
        "id": job.id,
        "createTime": iso(job.create_time),
        "updateTime": iso(job.update_time),
        "jobUuid": job.job_uuid,
        "projectUuid": job.project_uuid,
        "functionUuid": job.function_uuid,
        "name": job.name,
        "scriptCid": job.script_cid,
        "slots": job.slots,
        "jobId": job.job_id,
        "jobStatus": int(job.job_status),
    }
