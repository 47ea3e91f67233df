"""camelCase wire objects (apillon-api.md §7), written out by hand on purpose."""

from datetime import UTC, datetime

from apillon_mcp.emulator.records import CloudFunction, File, FileStatus, FileUpload, Job, UploadItem

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


def upload_url_json(item: UploadItem, file_uuid: str, url: str) -> Json:
    """One entry of the upload answer: the request's own metadata, the file uuid and the signed PUT URL."""
    return {
        "path": item.path,
        "fileName": item.name,
        "contentType": item.content_type,
        "url": url,
        "fileUuid": file_uuid,
    }


def file_json(file: File, base_url: str) -> Json:
    """A stored file; `CID`, `CIDv1` and `link` stay null until it is on IPFS.

    `link` points at the emulator's own `/ipfs/<CIDv1>` (Apillon links to its IPFS gateway with a token).
    """
    published = file.published
    return {
        "id": file.id,
        "createTime": iso(file.create_time),
        "updateTime": iso(file.update_time),
        "fileUuid": file.file_uuid,
        "CID": file.cid_v0 if published else None,
        "CIDv1": file.cid_v1 if published else None,
        "name": file.name,
        "contentType": file.content_type,
        "path": file.path,
        "size": len(file.content),
        "fileStatus": int(file.file_status),
        "link": f"{base_url}/ipfs/{file.cid_v1}" if published else None,
    }


def file_details_json(file: File, base_url: str) -> Json:
    return {**file_json(file, base_url), "directoryUuid": None}


def upload_details_json(upload: FileUpload) -> Json:
    """An upload request with no stored file yet, in the file shape: fileStatus 2 once its bytes arrived, else 1."""
    size = None if upload.content is None else len(upload.content)
    status = FileStatus.REQUEST_FOR_UPLOAD_GENERATED if size is None else FileStatus.UPLOADED_TO_S3
    return {
        "createTime": iso(upload.create_time),
        "updateTime": iso(upload.update_time),
        "fileUuid": upload.file_uuid,
        "CID": None,
        "CIDv1": None,
        "name": upload.name,
        "contentType": upload.content_type,
        "path": upload.path,
        "size": size,
        "fileStatus": int(status),
        "link": None,
        "directoryUuid": None,
    }
