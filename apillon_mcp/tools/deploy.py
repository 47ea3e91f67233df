"""Deploy from source: check the script and the credits, upload it, create the job, wait until it serves, try it.

Nothing is paid for a script that cannot work: the checks (Node's parse, the gateway contract, the balance and the
server's spending cap) run before anything is uploaded. The job runs the CID Apillon reports for the upload.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field, WithJsonSchema

from apillon_mcp.apillon import ApillonClient, ApillonError, CloudFunction
from apillon_mcp.apillon.lookup import gateway_job
from apillon_mcp.apillon.permissions import COMPUTING_READ, COMPUTING_WRITE, STORAGE_EXECUTE, STORAGE_READ
from apillon_mcp.context import AppState, ToolContext, apillon, app_state
from apillon_mcp.tools.annotations import CREATE
from apillon_mcp.tools.arguments import FunctionUuid, JobName, Slots
from apillon_mcp.tools.credits import CHECK_FOR_NEW_JOB, create_paid_job, funding_problem
from apillon_mcp.tools.errors import explain
from apillon_mcp.tools.gateway_requests import FREE_JSON, HEADERS_SCHEMA, call_gateway, check_path, parse_headers
from apillon_mcp.tools.handover import ServingJob, serving_before, takeover_sentence
from apillon_mcp.tools.progress import ProgressReport
from apillon_mcp.tools.script_checks import Problem, contract_problems, syntax_problems
from apillon_mcp.tools.script_source import ScriptPath, ScriptSource, read_script
from apillon_mcp.tools.spec import ToolSpec
from apillon_mcp.tools.untrusted import fenced, neutralized, quoted
from apillon_mcp.tools.views import SANDBOX_GATEWAY, JobView, result
from apillon_mcp.tools.waiting import WAIT_SECONDS, Timeout, Wait, WaitOutcome, wait_until_serving
from apillon_mcp.unixfs import file_cids

SCRIPT_CONTENT_TYPE = "application/javascript"
SMOKE_REPLY_CHARS = 2000
# How long to wait for Apillon to report the upload's CID (the official SDK polls 1 s, 30 times).
_CID_POLL_SECONDS = 2.0
_CID_WAIT_SECONDS = 60.0


# Validated by `_smoke_request`, not pydantic: its parts are invoke_cloud_function's arguments, checked the same way.
SmokeTest = Annotated[
    Any,
    WithJsonSchema(
        {
            "type": "object",
            "properties": {"body": FREE_JSON, "path": {"type": "string", "maxLength": 2048}, "headers": HEADERS_SCHEMA},
            "additionalProperties": False,
        }
    ),
    Field(description="Once it serves, send this request (as invoke_cloud_function takes it)."),
]
_SMOKE_PARTS = frozenset({"body", "path", "headers"})


class SmokeResult(BaseModel):
    passed: bool = Field(description="The gateway answered 2xx; read the reply for the script's own verdict.")
    status: int | None = Field(description="HTTP status; null when the gateway did not answer.")
    reply: str = Field(description=f"The reply, or the error, at most {SMOKE_REPLY_CHARS} characters.")


class Deployment(BaseModel):
    function_uuid: str
    script_cid: str = Field(description="CIDv0 the job runs: the one Apillon reported for the upload.")
    script_cid_v1: str
    file_name: str
    job: JobView
    outcome: WaitOutcome = Field(
        description="matched: it serves the gateway; waiting: not MATCHED when the wait ended; superseded: another "
        "job matched after it; not_waited: wait was false."
    )
    waited_seconds: float
    gateway_url: str | None
    credits_spent: int | None
    credit_balance: int | None
    checks: list[str] = Field(description="The checks that ran before paying, and how each went.")
    overridden: list[Problem] = Field(description="Problems deployed anyway (deploy_despite_problems).")
    warnings: list[Problem] = Field(description="Constructs that look wrong but did not block the deploy.")
    replaces: ServingJob | None = Field(description="The job that served the gateway before, and how to go back.")
    smoke_test: SmokeResult | None


@dataclass
class Progress:
    """The deploy's steps: progress notifications, the summary, and on failure an account of what already exists."""

    ctx: ToolContext
    done: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.report = ProgressReport(self.ctx)

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
    timeout_seconds: Timeout = WAIT_SECONDS,
    smoke_test: SmokeTest = None,
    deploy_despite_problems: Annotated[
        bool, Field(description="Only if the user insists: deploy though the checks found problems.")
    ] = False,
) -> Annotated[CallToolResult, Deployment]:
    """Check a script (syntax, contract, credits: refused before spending if one fails), upload it, create a job
    (100 credits), wait until it serves. See apillon://docs/script-contract."""
    state = app_state(ctx)
    content, file_name = read_script(state, job_name, script_source, script_path)
    smoke = _smoke_request(smoke_test)
    client = apillon(ctx)
    progress = Progress(ctx)

    source = content.decode("utf-8", errors="replace")
    syntax, syntax_note = await syntax_problems(content)
    contract, warnings = contract_problems(source)
    try:
        function = await client.get_cloud_function(str(function_uuid))
        previous = serving_before(function.function_uuid, await gateway_job(client, function))
    except ApillonError as error:
        raise progress.failed("find the function", explain(error)) from error
    funds, balance = await funding_problem(ctx)
    problems = syntax + contract
    if funds is not None or (problems and not deploy_despite_problems):
        raise ToolError(_refusal(problems, funds, overridable=funds is None))
    checks = [
        syntax_note if not syntax else f"syntax: {len(syntax)} problem(s), deployed anyway",
        "contract " + ("followed" if not contract else f"broken ({len(contract)}), deployed anyway"),
        f"credits {balance}" if balance is not None else "credits not checked (balance unreadable)",
    ]

    bucket = function.bucket_uuid
    if bucket is None:
        raise progress.failed("find the function", "Apillon did not say which storage bucket the function uses.")
    cid, cid_note = await _upload(state, client, progress, bucket, content, file_name)

    try:
        paid = await create_paid_job(
            ctx, function.function_uuid, name=job_name, script_cid=cid, slots=slots, balance_before=balance
        )
    except ApillonError as error:
        resume = (
            f"create_cloud_function_job(function_uuid={function.function_uuid}, name={quoted(job_name)}, "
            f"script_cid={cid}) creates it without uploading again"
        )
        if error.outcome_unknown:
            reason = explain(error, if_unsure=f"{CHECK_FOR_NEW_JOB} If there is none, {resume}.")
        else:
            reason = f"{explain(error)} The script is uploaded: once that is fixed, {resume}."
        raise progress.failed("create the job", reason) from error
    except ToolError as refused:
        raise progress.failed("create the job", str(refused)) from refused
    job = paid.job
    await progress.step(
        "Created the job"
        + (f"; spent {paid.spent} credits, balance {paid.balance}." if paid.spent is not None else ".")
    )

    outcome: WaitOutcome = "not_waited"
    waited = 0.0
    if wait:
        done = await wait_until_serving(state, client, job, timeout_seconds=timeout_seconds, report=progress.report)
        job, outcome, waited = done.job, done.outcome, done.seconds
        await progress.step(done.sentence())
    smoke_result = None
    if smoke is not None and outcome == "matched":
        smoke_result = await _smoke(state, client, function, *smoke)
    data = Deployment(
        function_uuid=function.function_uuid,
        script_cid=cid,
        script_cid_v1=file_cids(content).v1,
        file_name=file_name,
        job=JobView.of(job, active_job_id=job.id if outcome == "matched" else None),
        outcome=outcome,
        waited_seconds=round(waited, 1),
        gateway_url=function.gateway_url,
        credits_spent=paid.spent,
        credit_balance=paid.balance,
        checks=[*checks, cid_note],
        overridden=problems,
        warnings=warnings,
        replaces=previous,
        smoke_test=smoke_result,
    )
    return result(_summary(data, progress, state, smoke_asked=smoke is not None), data)


def _refusal(problems: list[Problem], funds: str | None, *, overridable: bool) -> str:
    lines = ["Not deployed: nothing was uploaded, created or charged."]
    if problems:
        lines.append("The script cannot work as it is:")
        lines.extend(f"- {p.check}, {p.where}: {p.problem}. Fix: {p.fix}." for p in problems)
    if funds is not None:
        lines.append(f"- credits: {funds}")
    if problems:
        lines.append(
            "Fix the script and try it with test_cloud_function_script, then deploy again."
            + (
                " Only if the user insists on this script as it is: deploy_despite_problems=true."
                if overridable
                else ""
            )
        )
    return "\n".join(lines)


async def _upload(
    state: AppState, client: ApillonClient, progress: Progress, bucket: str, content: bytes, file_name: str
) -> tuple[str, str]:
    """Upload the script and wait (bounded) for its CID from Apillon: (the CID the job runs, a note on it)."""
    cids = file_cids(content)
    upload = f"upload {file_name} ({len(content)} bytes) to the function's bucket {bucket}"
    session = str(uuid.uuid4())
    await progress.report(f"Uploading {file_name} ({len(content)} bytes).")
    try:
        opened = await client.start_upload(
            bucket, session_uuid=session, file_name=file_name, content_type=SCRIPT_CONTENT_TYPE
        )
        await client.put_upload(opened.files[0].url, content, content_type=SCRIPT_CONTENT_TYPE)
        await client.end_upload(bucket, session)
        reported = await _reported_cid(state, client, progress, bucket, session)
    except ApillonError as error:
        unsure = "Uploading again is harmless: call deploy_cloud_function_script again."
        raise progress.failed(upload, explain(error, if_unsure=unsure)) from error
    if reported is None:
        await progress.step(f"Uploaded {file_name}, CID {cids.v0} (computed; Apillon had not reported it yet).")
        return cids.v0, f"CID computed from the bytes: Apillon reported none within {_CID_WAIT_SECONDS:.0f} s"
    if reported != cids.v0:
        await progress.step(f"Uploaded {file_name}, CID {reported} as Apillon reports it.")
        return reported, f"CID {reported} as Apillon reports it; the bytes computed locally give {cids.v0}"
    await progress.step(f"Uploaded {file_name}, CID {reported}.")
    return reported, "CID as Apillon reports it, same as the bytes give"


async def _reported_cid(
    state: AppState, client: ApillonClient, progress: Progress, bucket: str, session: str
) -> str | None:
    started = state.clock()
    while True:
        files = await client.list_session_files(bucket, session)
        reported = next((f.cid for f in files if f.cid), None)
        elapsed = state.clock() - started
        if reported is not None or elapsed >= _CID_WAIT_SECONDS:
            return reported
        await progress.report("Waiting for Apillon to put the script on IPFS.")
        await state.sleep(_CID_POLL_SECONDS)


def _smoke_request(smoke: Any) -> tuple[str, Any, dict[str, str]] | None:
    """Checked before anything is spent, so a bad request cannot fail a deploy already paid for."""
    if smoke is None:
        return None
    if not isinstance(smoke, dict) or not set(smoke) <= _SMOKE_PARTS:
        raise ToolError('smoke_test must be an object with body, path and/or headers, e.g. {"body": {"coin": "eth"}}.')
    path = smoke.get("path", "/")
    if not isinstance(path, str) or len(path) > 2048:
        raise ToolError("smoke_test.path must be a path of at most 2048 characters, e.g. '/prices?coin=eth'.")
    return check_path(path), smoke.get("body"), parse_headers(smoke.get("headers"))


async def _smoke(
    state: AppState, client: ApillonClient, function: CloudFunction, route: str, body: Any, headers: dict[str, str]
) -> SmokeResult:
    try:
        reply = await call_gateway(
            client, function, route, body=body, headers=headers, sandbox=state.sandbox is not None
        )
    except ToolError as failed:
        return SmokeResult(passed=False, status=None, reply=neutralized(str(failed))[:SMOKE_REPLY_CHARS])
    except ApillonError as failed:
        return SmokeResult(passed=False, status=None, reply=neutralized(explain(failed))[:SMOKE_REPLY_CHARS])
    return SmokeResult(passed=True, status=reply.status, reply=neutralized(reply.text[:SMOKE_REPLY_CHARS]))


def _summary(data: Deployment, progress: Progress, state: AppState, *, smoke_asked: bool) -> str:
    lines = [f"Deployed job {quoted(data.job.name)} uuid={data.job.job_uuid} on function uuid={data.function_uuid}:"]
    lines.extend(f"{n}. {step}" for n, step in enumerate(progress.done, start=1))
    if state.sandbox:
        where = f"{data.gateway_url} ({SANDBOX_GATEWAY})"
        call = "."
    else:
        where, call = f"{data.gateway_url}", "; call it with invoke_cloud_function."
    if data.outcome == "matched":
        lines.append(f"It serves {where}{call}")
    elif data.outcome == "superseded":
        lines.append("It will not serve the gateway: another job reached MATCHED after it; see get_cloud_function.")
    else:
        lines.append(
            f"Not serving yet: MATCHED usually takes a few minutes; check get_cloud_function. Then it serves {where}."
        )
    takeover = takeover_sentence(data.replaces, matched=data.outcome == "matched", rollback=data.smoke_test is None)
    if takeover and data.outcome != "superseded":
        lines.append(takeover)
    lines.append("Checked before paying: " + "; ".join(data.checks) + ".")
    if data.overridden:
        lines.append(
            "DEPLOYED DESPITE PROBLEMS (the user insisted): "
            + "; ".join(f"{p.where}: {p.problem}" for p in data.overridden)
            + "."
        )
    if data.warnings:
        lines.append("Look at: " + "; ".join(f"{p.where}: {p.problem}" for p in data.warnings) + ".")
    lines.extend(_smoke_lines(data, smoke_asked=smoke_asked))
    return "\n".join(lines)


def _smoke_lines(data: Deployment, *, smoke_asked: bool) -> list[str]:
    if not smoke_asked:
        return []
    smoke = data.smoke_test
    if smoke is None:
        return ["Smoke test: not sent, because the job does not serve the gateway yet."]
    back = f" To go back: {data.replaces.rollback}." if data.replaces is not None else ""
    if not smoke.passed:
        return [f"SMOKE TEST FAILED: the gateway did not answer with the script's reply: {smoke.reply}{back}"]
    return [
        f"Smoke test: HTTP {smoke.status}. The reply follows; judge it against what the script should answer:{back}",
        fenced(smoke.reply),
    ]


TOOLS = (
    ToolSpec(
        deploy_cloud_function_script,
        "Deploy a script from source as a job (checks it first; spends credits)",
        CREATE,
        needs=(COMPUTING_READ, COMPUTING_WRITE, STORAGE_EXECUTE, STORAGE_READ),
    ),
)
