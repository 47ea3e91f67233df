"""The per-function gateway (apillon-api.md §10, §11): `POST /gateway/<function_uuid>/<any path>` calls the job.

Path-style stands in for `https://<function_uuid>.<gateway host>/<any path>`. There is no Apillon auth. The
request becomes the API Gateway-style JSON payload (`runner.gateway_payload`), which goes to the process running
the active job's script (fetched by its CID from the emulated storage): one isolated Node.js process per serving
job, as on an Acurast processor (`runner.ScriptPool`). The first reply is the 200 body as sent (text/plain).
Failures are `{"message": ...}` with the gateway's status; no reply in time is API Gateway's 504, and so is a
script that ends without replying (answered at once instead of after the limit). The function → job resolution is
cached for five minutes (`EmulatorState.gateway_cache`), so a deleted active job keeps serving until the entry
expires.

Processes live beside the state, never in it: `ScriptPool` on the app (`script_pool(app)`). Before each request,
the processes of jobs that no longer serve, or whose function's variables changed, are stopped; the next call
starts the job's process again, with the new variables.
"""

import hashlib
import logging
from datetime import timedelta
from typing import NoReturn

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from apillon_mcp.emulator.coercion import js_string
from apillon_mcp.emulator.records import CachedJob, Job, JobStatus, RecordStatus
from apillon_mcp.emulator.routing import HTTP_METHODS
from apillon_mcp.emulator.state import GATEWAY_CACHE_SECONDS, EmulatorState
from apillon_mcp.runner import GATEWAY_CLIENT_KEY, Launch, NodeUnavailable, Reply, ScriptPool, gateway_payload

logger = logging.getLogger(__name__)

TIMEOUT_MESSAGE = "Endpoint request timed out"


class GatewayError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


class GatewayRoutes:
    def __init__(self, state: EmulatorState, scripts: ScriptPool) -> None:
        self._state = state
        self._scripts = scripts

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/gateway/{function_uuid}", self.invoke, methods=HTTP_METHODS),
            Route("/gateway/{function_uuid}/{rest:path}", self.invoke, methods=HTTP_METHODS),
        ]

    async def invoke(self, request: Request) -> Response:
        if request.method != "POST":
            return JSONResponse({"message": "Invalid request"}, status_code=400)
        try:
            job = resolve_job(self._state, request.path_params["function_uuid"])
            payload = gateway_payload(
                body=await request.body(),
                path=f"/{request.path_params.get('rest', '')}",
                query=request.query_params.multi_items(),
                # ASGI servers hand header names over in lower case
                headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw],
            )
            reply = await self._run(job, payload)
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
        config = self._state.gateway
        launch = Launch(
            script=script,
            env=script_env(self._state.functions[job.function_uuid].variables),
            job_id=job.job_id,
            sender=GATEWAY_CLIENT_KEY,
            recipient=_processor_key(job),
            memory_mb=config.memory_mb,
        )
        try:
            result = await self._scripts.call(
                job.job_uuid, launch, payload, timeout=config.timeout_seconds, node_command=config.node_command
            )
        except NodeUnavailable as missing:
            _fail(500, str(missing))
        if not isinstance(result, Reply):
            _fail(504, TIMEOUT_MESSAGE)
        return result.body


def resolve_job(state: EmulatorState, function_uuid: str) -> Job:
    """The job serving the function: a cached resolution while it lasts (even of a deleted job), else a fresh one."""
    cached = _cached_job(state, function_uuid)
    if cached is not None:
        return cached
    job = _active_job(state, function_uuid)
    state.gateway_cache[function_uuid] = CachedJob(job, state.clock.now() + timedelta(seconds=GATEWAY_CACHE_SECONDS))
    return job


def _cached_job(state: EmulatorState, function_uuid: str) -> Job | None:
    state.functions.get(function_uuid)  # settles first, so a match due by now has already replaced the cache entry
    cached = state.gateway_cache.get(function_uuid)
    return cached.job if cached is not None and state.clock.now() < cached.expires else None


def _active_job(state: EmulatorState, function_uuid: str) -> Job:
    """The function's active job if the gateway may call it, else the gateway's error; no side effects."""
    function = state.functions.get(function_uuid)
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
    return job


def still_serves(state: EmulatorState, job_uuid: str, env: dict[str, str]) -> bool:
    """Whether the gateway would call this job now, with these variables (the function may have new ones)."""
    job = state.jobs.get(job_uuid)
    function = None if job is None else state.functions.get(job.function_uuid)
    if job is None or function is None or script_env(function.variables) != env:
        return False
    serving = _cached_job(state, job.function_uuid)
    if serving is None:
        try:
            serving = _active_job(state, job.function_uuid)
        except GatewayError:
            return False
    return serving.job_uuid == job_uuid


async def stop_retired_scripts(state: EmulatorState, scripts: ScriptPool) -> None:
    """Stop the process of every job that no longer serves or whose function's variables changed."""
    for running in scripts.running():
        if not still_serves(state, running.key, dict(running.launch.env)):
            logger.debug("cloud function script of %s stopped: its job no longer serves as it was", running.key)
            await scripts.stop(running.key)


class RetireScripts:
    """ASGI middleware: before each request, stop the processes of jobs that no longer serve as they were."""

    def __init__(self, app: ASGIApp, state: EmulatorState, scripts: ScriptPool) -> None:
        self._app = app
        self._state = state
        self._scripts = scripts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._scripts.running():
            await stop_retired_scripts(self._state, self._scripts)
        await self._app(scope, receive, send)


def script_pool(app: Starlette) -> ScriptPool:
    """The processes running `app`'s scripts, which its owner closes when the sandbox stops."""
    pool = getattr(app.state, "scripts", None)
    if not isinstance(pool, ScriptPool):
        raise TypeError("not an emulator app: it has no script pool")
    return pool


def script_env(variables: list[dict[str, object]] | None) -> dict[str, str]:
    """`_STD_.env` from the stored variables; a repeated key keeps its last value, non-strings print as in JS."""
    return {js_string(entry.get("key")) or "": js_string(entry.get("value")) or "" for entry in variables or []}


def _processor_key(job: Job) -> str:
    """Stand-in public key of the processor running `job`: the `recipient` of what the gateway sends."""
    return "03" + hashlib.sha256(job.job_uuid.encode()).hexdigest()


def _fail(status: int, message: str) -> NoReturn:
    raise GatewayError(status, message)
