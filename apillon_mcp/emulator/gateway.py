"""The per-function gateway (apillon-api.md §10, §11): `POST /gateway/<function_uuid>/<any path>` runs the script.

Path-style stands in for `https://<function_uuid>.<gateway host>/<any path>`. There is no Apillon auth. The
request becomes the API Gateway-style JSON payload, which goes hex-encoded to the active job's script (fetched by
its CID from the emulated storage and run in Node.js); the first reply is the 200 body as sent (text/plain).
Failures are `{"message": ...}` with the gateway's status. A script that exits without replying gets the timeout
message at once instead of after the time limit. The function → job resolution is cached for five minutes
(`EmulatorState.gateway_cache`), so a deleted active job keeps serving until the entry expires.
"""

import hashlib
import json
import re
from datetime import timedelta
from typing import NoReturn

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from apillon_mcp.emulator.api import HTTP_METHODS, request_target
from apillon_mcp.emulator.coercion import js_string
from apillon_mcp.emulator.records import CachedJob, Job, JobStatus, RecordStatus
from apillon_mcp.emulator.request_bodies import parse_json
from apillon_mcp.emulator.script_runner import NodeNotFound, ScriptCall, run_script
from apillon_mcp.emulator.state import GATEWAY_CACHE_SECONDS, EmulatorState

TIMEOUT_MESSAGE = "The Acurast websocket request timed out."
NODE_MISSING_MESSAGE = "Node.js was not found on PATH: the emulator needs it to run cloud function scripts."
_BLOCKED_HEADER = re.compile(r"^(X-|CloudFront-|Via)")
# Stand-in public key of the gateway's websocket client: the `sender` a script must reply to.
GATEWAY_CLIENT_KEY = "02" + hashlib.sha256(b"apillon-emulator gateway client").hexdigest()


class GatewayError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


class GatewayRoutes:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/gateway/{function_uuid}", self.invoke, methods=HTTP_METHODS),
            Route("/gateway/{function_uuid}/{rest:path}", self.invoke, methods=HTTP_METHODS),
        ]

    async def invoke(self, request: Request) -> Response:
        self._state.requests.append((request.method, request_target(request)))
        if request.method != "POST":
            return JSONResponse({"message": "Invalid request"}, status_code=400)
        try:
            job = resolve_job(self._state, request.path_params["function_uuid"])
            reply = await self._run(job, await script_payload(request, request.path_params.get("rest", "")))
        except GatewayError as error:
            return JSONResponse({"message": error.message}, status_code=error.status)
        return Response(reply, headers={"Access-Control-Allow-Origin": "*"}, media_type="text/plain; charset=utf-8")

    async def _run(self, job: Job, payload: str) -> bytes:
        script = self._state.file_content_by_cid(job.script_cid)
        if script is None:
            _fail(
                500,
                f"The bytes of script CID {job.script_cid} are not in the emulator's storage: "
                "upload the script through the storage API first.",
            )
        call = ScriptCall(
            script=script,
            env=script_env(self._state.functions[job.function_uuid].variables),
            payload_hex=payload.encode().hex(),
            sender=GATEWAY_CLIENT_KEY,
            recipient=_processor_key(job),
            job_id=job.job_id,
        )
        try:
            reply = await run_script(self._state.gateway, call)
        except NodeNotFound:
            _fail(500, NODE_MISSING_MESSAGE)
        if reply is None:
            _fail(500, TIMEOUT_MESSAGE)
        return reply


def resolve_job(state: EmulatorState, function_uuid: str) -> Job:
    """The job serving the function: a cached resolution while it lasts (even of a deleted job), else a fresh one."""
    functions = state.functions  # settles first, so a match due by now has already replaced the cache entry
    now = state.clock.now()
    cached = state.gateway_cache.get(function_uuid)
    if cached is not None and now < cached.expires:
        return cached.job
    function = functions.get(function_uuid)
    if function is None or function.status == RecordStatus.DELETED:
        _fail(404, "CLOUD_FUNCTION_NOT_FOUND")
    if function.active_job_id is None:
        _fail(500, "JOB_NOT_DEPLOYED")
    job = next((job for job in state.jobs.values() if job.id == function.active_job_id), None)
    if job is None or job.status == RecordStatus.DELETED:
        _fail(404, "JOB_NOT_FOUND")
    if job.job_status != JobStatus.MATCHED:
        _fail(500, "JOB_NOT_DEPLOYED")
    if job.job_id is None:
        _fail(500, "JOB_ID_IS_MISSING")
    state.gateway_cache[function_uuid] = CachedJob(job, now + timedelta(seconds=GATEWAY_CACHE_SECONDS))
    return job


async def script_payload(request: Request, rest: str) -> str:
    """The JSON text the script receives: the request as API Gateway's proxy event describes it."""
    raw = await request.body()
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:  # ASGI servers hand header names over in lower case
        name = raw_name.decode("latin-1")
        if not _BLOCKED_HEADER.match(name):
            headers[name] = raw_value.decode("latin-1")
    query = request.query_params.multi_items()
    multi_query: dict[str, list[str]] = {}
    for key, value in query:
        multi_query.setdefault(key, []).append(value)
    payload = {
        "body": _parse_body(raw.decode("utf-8", errors="replace")) if raw else None,
        "headers": headers,
        "path": f"/{rest}",
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {"proxy": rest} if rest else None,
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def script_env(variables: list[dict[str, object]] | None) -> dict[str, str]:
    """`_STD_.env` from the stored variables; a repeated key keeps its last value, non-strings print as in JS."""
    return {js_string(entry.get("key")) or "": js_string(entry.get("value")) or "" for entry in variables or []}


def _processor_key(job: Job) -> str:
    """Stand-in public key of the processor running `job`: the `recipient` of what the gateway sends."""
    return "03" + hashlib.sha256(job.job_uuid.encode()).hexdigest()


def _parse_body(text: str) -> object:
    """`JSON.parse`, falling back to the raw text; so does a body past the emulator's bounds (`request_bodies`)."""
    try:
        return parse_json(text)
    except ValueError:
        return text


def _fail(status: int, message: str) -> NoReturn:
    raise GatewayError(status, message)
