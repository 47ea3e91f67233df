"""Deploy from source: upload the script to the function's bucket, create the job, wait until it serves."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from apillon_mcp.apillon import ApillonClient, ApillonError, Job, JobStatus
from apillon_mcp.apillon.permissions import COMPUTING_READ, COMPUTING_WRITE, STORAGE_EXECUTE, STORAGE_READ
from apillon_mcp.context import AppState, ToolContext, apillon, app_state
from apillon_mcp.tools.common import CREATE, FunctionUuid, JobView, quoted, result
from apillon_mcp.tools.errors import explain
from apillon_mcp.tools.jobs import CHECK_FOR_NEW_JOB, JobName, Slots, balance_or_none
from apillon_mcp.tools.spec import ToolSpec
from apillon_mcp.unixfs import file_cids

MAX_SCRIPT_BYTES = 10 * 1024 * 1024
SCRIPT_CONTENT_TYPE = "application/javascript"
_FIRST_POLL_SECONDS = 5.0
_MAX_POLL_SECONDS = 20.0

Outcome = Literal["matched", "waiting", "not_waited", "superseded"]

ScriptSource = Annotated[
    str | None,
    Field(min_length=1, max_length=1_000_000, description="The script's JavaScript text. Give this or script_path."),
]
ScriptPath = Annotated[
    str | None,
    Field(min_length=1, max_length=4096, description="A local .js file; only when the server runs locally (stdio)."),
]
Wait = Annotated[bool, Field(description="Wait until the job is MATCHED (serving).")]
Timeout = Annotated[int, Field(ge=0, le=900, description="Longest wait, seconds.")]


class Deployment(BaseModel):
    function_uuid: str
    script_cid: str = Field(description="CIDv0 of the uploaded script, as the job stores it.")
    script_cid_v1: str
    file_name: str
    job: JobView
    outcome: Outcome = Field(
        description="matched: it serves the gateway; waiting: not MATCHED when the wait ended; superseded: another "
        "job matched first and this one became INACTIVE; not_waited: wait was false."
    )
    waited_seconds: float
    gateway_url: str | None
    credits_spent: int | None
    credit_balance: int | None
    warnings: list[str] = Field(description="Problems found in the script; it was deployed anyway.")


_OPEN = re.compile(r"\bws\s*\.\s*open\s*\(")
_HANDLER = re.compile(r"\bregisterPayloadHandler\s*\(")
_SEND = re.compile(r"\bws\s*\.\s*send\s*\(")
_HTTP_SERVER = re.compile(r"\b(createServer|\.listen)\s*\(")


def contract_warnings(source: str) -> list[str]:
    """How the script breaks the gateway contract (apillon://docs/script-contract): it deploys, but never answers."""
    warnings = []
    if not _OPEN.search(source):
        warnings.append("it never calls _STD_.ws.open(...), so it never connects to the Acurast websocket proxy")
    if not _HANDLER.search(source):
        warnings.append("it never calls _STD_.ws.registerPayloadHandler(...), so gateway calls never reach it")
    if not _SEND.search(source):
        warnings.append("it never calls _STD_.ws.send(...), so it cannot reply to a gateway call")
    if _HTTP_SERVER.search(source):
        warnings.append("it looks like an HTTP server: scripts do not listen, the gateway reaches them over _STD_.ws")
    return warnings


@dataclass
class Progress:
    """The deploy's steps: progress notifications, the summary, and on failure an account of what already exists."""

    ctx: ToolContext
    done: list[str] = field(default_factory=list)
    count: int = 0

    async def report(self, message: str) -> None:
        self.count += 1
        await self.ctx.report_progress(self.count, None, message)

    async def step(self, message: str) -> None:
        self.done.append(message)
        await self.report(message)

    def failed(self, step: str, reason: str) -> ToolError:
        so_far = " ".join(self.done) if self.done else "nothing; no credits were spent."
        return ToolError(f"Deploy stopped at step '{step}': {reason}\nDone before that: {so_far}")


async def deploy_cloud_function_script(
    ctx: ToolContext,
    function_uuid: FunctionUuid,
    job_name: JobName,
    script_source: ScriptSource = None,
    script_path: ScriptPath = None,
    slots: Slots = 1,
    wait: Wait = True,
    timeout_seconds: Timeout = 240,
) -> Annotated[CallToolResult, Deployment]:
    """Upload JavaScript to the function's bucket, create a job (spends credits, 100 per job) and wait until it
    serves the gateway. Write the script as resource apillon://docs/script-contract says."""
    state = app_state(ctx)
    content, file_name = _read_script(state, job_name, script_source, script_path)
    client = apillon(ctx)
    progress = Progress(ctx)
    cids = file_cids(content)

    try:
        function = await client.get_cloud_function(str(function_uuid), jobs_limit=1)
    except ApillonError as error:
        raise progress.failed("find the function", explain(error)) from error
    bucket = function.bucket_uuid
    if bucket is None:
        raise progress.failed("find the function", "Apillon did not say which storage bucket the function uses.")

    upload = f"upload {file_name} ({len(content)} bytes) to the function's bucket {bucket}"
    session = str(uuid.uuid4())
    await progress.report(f"Uploading {file_name} ({len(content)} bytes).")
    try:
        opened = await client.start_upload(
            bucket, session_uuid=session, file_name=file_name, content_type=SCRIPT_CONTENT_TYPE
        )
        await client.put_upload(opened.files[0].url, content, content_type=SCRIPT_CONTENT_TYPE)
        await client.end_upload(bucket, session)
        reported = {f.cid for f in await client.list_session_files(bucket, session) if f.cid}
    except ApillonError as error:
        unsure = "Uploading again is harmless: call deploy_cloud_function_script again."
        raise progress.failed(upload, explain(error, if_unsure=unsure)) from error
    if reported - {cids.v0}:
        raise progress.failed(
            upload,
            f"Apillon reports CID {', '.join(sorted(reported))} for the upload, not {cids.v0} as computed from the "
            "bytes sent, so no job was created.",
        )
    await progress.step(f"Uploaded {file_name}, CID {cids.v0}.")

    before = await balance_or_none(client)
    try:
        job = await client.create_job(function.function_uuid, name=job_name, script_cid=cids.v0, slots=slots)
    except ApillonError as error:
        resume = (
            f"create_cloud_function_job(function_uuid={function.function_uuid}, name={quoted(job_name)}, "
            f"script_cid={cids.v0}) creates it without uploading again"
        )
        if error.outcome_unknown:
            reason = explain(error, if_unsure=f"{CHECK_FOR_NEW_JOB} If there is none, {resume}.")
        else:
            reason = f"{explain(error)} The script is uploaded: once that is fixed, {resume}."
        raise progress.failed("create the job", reason) from error
    after = await balance_or_none(client)
    state.jobs.remember(job.function_uuid, [job])
    spent = before - after if before is not None and after is not None else None
    await progress.step(
        "Created the job" + (f"; spent {spent} credits, balance {after}." if spent is not None else ".")
    )

    outcome: Outcome = "not_waited"
    waited = 0.0
    if wait:
        job, outcome, waited = await _wait_until_matched(state, client, progress, job, timeout_seconds)
    data = Deployment(
        function_uuid=function.function_uuid,
        script_cid=cids.v0,
        script_cid_v1=cids.v1,
        file_name=file_name,
        job=JobView.of(job, active_job_id=job.id if outcome == "matched" else None),
        outcome=outcome,
        waited_seconds=round(waited, 1),
        gateway_url=function.gateway_url,
        credits_spent=spent,
        credit_balance=after,
        warnings=contract_warnings(content.decode("utf-8", errors="replace")),
    )
    return result(_summary(data, progress), data)


def _read_script(state: AppState, job_name: str, source: str | None, path: str | None) -> tuple[bytes, str]:
    """The script's bytes and the file name to upload them as."""
    if (source is None) == (path is None):
        raise ToolError("Give exactly one of script_source (the JavaScript text) or script_path (a local .js file).")
    if source is not None:
        return source.encode("utf-8"), _file_name(job_name)
    assert path is not None
    if not state.local_files:
        raise ToolError(
            "script_path is refused: this server does not run on your machine (it is served over HTTP), so it "
            "cannot read your files. Pass the JavaScript text as script_source instead."
        )
    file = Path(path).expanduser()
    if file.suffix != ".js":
        raise ToolError(f"script_path must name a .js file, not {quoted(file.name)}.")
    try:
        size = file.stat().st_size
        if not file.is_file():
            raise ToolError(f"script_path {quoted(str(file))} is not a file.")
        if size > MAX_SCRIPT_BYTES:
            raise ToolError(f"the script is {size} bytes; the limit here is {MAX_SCRIPT_BYTES} bytes.")
        return file.read_bytes(), file.name
    except OSError as error:
        raise ToolError(f"cannot read script_path {quoted(str(file))}: {error.strerror or error}.") from None


def _file_name(job_name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", job_name).strip("-.") or "script"
    return f"{stem[:80]}.js"


async def _wait_until_matched(
    state: AppState, client: ApillonClient, progress: Progress, job: Job, timeout_seconds: int
) -> tuple[Job, Outcome, float]:
    started = state.clock()
    delay = _FIRST_POLL_SECONDS
    while True:
        elapsed = state.clock() - started
        try:
            located = await state.jobs.find(client, job.job_uuid)
        except ApillonError:
            located = None  # a failed poll is not a failed deploy: keep the last known status and poll again
        if located is not None:
            job = located.job
        if job.job_status is JobStatus.MATCHED:
            await progress.step(f"MATCHED after {elapsed:.0f} s.")
            return job, "matched", elapsed
        if job.job_status is JobStatus.INACTIVE:
            await progress.step(f"INACTIVE after {elapsed:.0f} s: another job of the function matched first.")
            return job, "superseded", elapsed
        if elapsed >= timeout_seconds:
            await progress.step(f"Still {job.job_status.name} when the wait ended after {elapsed:.0f} s.")
            return job, "waiting", elapsed
        await progress.report(f"Job {job.job_status.name} after {elapsed:.0f} s; waiting for MATCHED.")
        await state.sleep(min(delay, timeout_seconds - elapsed))
        delay = min(delay * 1.5, _MAX_POLL_SECONDS)


def _summary(data: Deployment, progress: Progress) -> str:
    lines = [f"Deployed job {quoted(data.job.name)} uuid={data.job.job_uuid} on function uuid={data.function_uuid}:"]
    lines.extend(f"{n}. {step}" for n, step in enumerate(progress.done, start=1))
    if data.outcome == "matched":
        lines.append(f"It serves {data.gateway_url}; call it with invoke_cloud_function.")
    elif data.outcome == "superseded":
        lines.append("It will not serve the gateway; see get_cloud_function.")
    else:
        lines.append(
            f"Not serving yet: MATCHED usually takes a few minutes; check get_cloud_function. Then it serves "
            f"{data.gateway_url}."
        )
    if data.warnings:
        lines.append(
            "WARNING: the script does not follow the gateway contract (read apillon://docs/script-contract): "
            + "; ".join(data.warnings)
            + ". It is deployed, but gateway calls will time out."
        )
    return "\n".join(lines)


TOOLS = (
    ToolSpec(
        deploy_cloud_function_script,
        "Deploy a script from source as a job (spends credits)",
        CREATE,
        needs=(COMPUTING_READ, COMPUTING_WRITE, STORAGE_EXECUTE, STORAGE_READ),
    ),
)
