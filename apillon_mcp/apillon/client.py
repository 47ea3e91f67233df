"""Async client for the Apillon API: one method per public endpoint, plus presigned uploads and gateway calls."""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.request
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from http.cookiejar import Cookie, CookieJar, CookiePolicy
from typing import Any, TypeVar

import anyio
import httpx2
from pydantic import BaseModel, ValidationError

from apillon_mcp.apillon.errors import (
    MICROSERVICE_VALIDATION_WRAPPER,
    ApillonAPIError,
    ApillonBadResponse,
    ApillonError,
    ApillonUnreachable,
    FieldError,
    error_class_for,
)
from apillon_mcp.apillon.models import (
    CloudFunction,
    GatewayReply,
    Job,
    JobStatus,
    Page,
    ProjectCredit,
    StoredFile,
    UploadSession,
)
from apillon_mcp.apillon.permissions import Probe, ProbeResult, judge
from apillon_mcp.apillon.retry import Attempt, RetryPolicy

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

DEFAULT_API_URL = "https://api.apillon.io"
# The API runs on AWS Lambda with a 30 s limit: a longer read wait gains nothing.
DEFAULT_TIMEOUT = httpx2.Timeout(connect=10.0, read=35.0, write=30.0, pool=10.0)
DEFAULT_RETRY = RetryPolicy()
# A gateway reply is read up to this many bytes; the rest is dropped and the reply marked truncated.
GATEWAY_READ_LIMIT = 1024 * 1024


class _RefuseAllCookies(CookiePolicy):
    """Nothing is stored, nothing is sent: one HTTP client serves every caller (per-request credentials), so a
    cookie one caller's answer set must never ride another caller's request. Apillon authenticates each request
    by its Authorization header and needs none."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: Cookie, request: urllib.request.Request) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: urllib.request.Request) -> bool:
        return False

    def path_return_ok(self, path: str, request: urllib.request.Request) -> bool:
        return False


def _no_cookies() -> CookieJar:
    return CookieJar(policy=_RefuseAllCookies())


def new_http_client(
    *,
    base_url: str,
    api_key: str | None,
    api_secret: str | None,
    user_agent: str,
    timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> httpx2.AsyncClient:
    """The one HTTP client the server keeps for its lifetime: Basic auth (unless each call brings its own),
    User-Agent, explicit timeouts, no cookies."""
    auth = httpx2.BasicAuth(api_key, api_secret) if api_key is not None and api_secret is not None else None
    return httpx2.AsyncClient(
        base_url=base_url,
        auth=auth,
        headers={"User-Agent": user_agent, "Accept": "application/json"},
        cookies=_no_cookies(),
        timeout=timeout,
        transport=transport,
    )


def new_public_client(
    *, user_agent: str, timeout: httpx2.Timeout = DEFAULT_TIMEOUT, transport: httpx2.AsyncBaseTransport | None = None
) -> httpx2.AsyncClient:
    """The client for URLs that must never see Apillon credentials: presigned uploads and function gateways.
    It keeps no cookies either: gateways run their owners' code, and this one client serves every caller."""
    return httpx2.AsyncClient(
        headers={"User-Agent": user_agent}, cookies=_no_cookies(), timeout=timeout, transport=transport
    )


@asynccontextmanager
async def open_client(
    *,
    base_url: str,
    api_key: str | None,
    api_secret: str | None,
    user_agent: str,
    transport: httpx2.AsyncBaseTransport | None = None,
    timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
    retry: RetryPolicy = DEFAULT_RETRY,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> AsyncGenerator[ApillonClient, None]:
    """An `ApillonClient` with its two HTTP clients, closed on exit."""
    async with (
        new_http_client(
            base_url=base_url,
            api_key=api_key,
            api_secret=api_secret,
            user_agent=user_agent,
            timeout=timeout,
            transport=transport,
        ) as api,
        new_public_client(user_agent=user_agent, timeout=timeout, transport=transport) as public,
    ):
        yield ApillonClient(api, public=public, key_id=api_key, retry=retry, sleep=sleep)


Connect = Callable[[], AbstractAsyncContextManager["ApillonClient"]]
"""Opens the Apillon client a server uses for its lifetime (the live API, or the emulator)."""


def uuid_segment(value: str) -> str:
    """A UUID as a path segment; anything else is refused so that no input can reshape the URL."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise ValueError(f"not a UUID: {value!r}") from None


class ApillonClient:
    """The public Cloud Functions endpoints (apillon-api §5), the project credit balance, the storage upload
    flow (§12) and function gateways (§10).

    `http` carries the Apillon credentials; `public` never does, and serves presigned upload URLs and gateways.
    `with_credentials` makes a client for another key over the same connections.
    """

    def __init__(
        self,
        http: httpx2.AsyncClient,
        *,
        public: httpx2.AsyncClient,
        key_id: str | None = None,
        auth: httpx2.Auth | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        jitter: Callable[[], float] = random.random,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._http = http
        self._public = public
        self._auth = auth
        self.key_id = key_id
        """The API key (not the secret) the requests are made with."""
        self._retry = retry
        self._sleep = sleep
        self._jitter = jitter
        self._timer = timer
        """Seconds on a monotonic clock: times gateway calls."""

    def with_credentials(self, api_key: str, api_secret: str) -> ApillonClient:
        return ApillonClient(
            self._http,
            public=self._public,
            key_id=api_key,
            auth=httpx2.BasicAuth(api_key, api_secret),
            retry=self._retry,
            sleep=self._sleep,
            jitter=self._jitter,
            timer=self._timer,
        )

    async def list_cloud_functions(
        self, *, search: str | None = None, page: int = 1, limit: int = 20
    ) -> Page[CloudFunction]:
        params: dict[str, str | int] = {"page": page, "limit": limit}
        if search:
            params["search"] = search
        data = await self._request("GET", "/cloud-functions", params=params)
        return _parse_model(Page[CloudFunction], data)

    async def get_cloud_function(
        self,
        function_uuid: str,
        *,
        jobs_page: int = 1,
        jobs_limit: int = 20,
        job_status: JobStatus | None = None,
    ) -> CloudFunction:
        """The function with one page of its jobs (deleted jobs are hidden unless `job_status` is DELETED)."""
        params: dict[str, str | int] = {"page": jobs_page, "limit": jobs_limit}
        if job_status is not None:
            params["jobStatus"] = int(job_status)
            if job_status is JobStatus.DELETED:
                params["status"] = 9  # deleted jobs also carry record status 9
        data = await self._request("GET", f"/cloud-functions/{uuid_segment(function_uuid)}", params=params)
        return _parse_model(CloudFunction, data)

    async def create_cloud_function(self, name: str, description: str | None = None) -> CloudFunction:
        body: dict[str, str] = {"name": name}
        if description is not None:
            body["description"] = description
        data = await self._request("POST", "/cloud-functions", json=body)
        return _parse_model(CloudFunction, data)

    async def create_job(self, function_uuid: str, *, name: str, script_cid: str, slots: int = 1) -> Job:
        """Deploy a script as a new job. Spends credits."""
        body = {"name": name, "scriptCid": script_cid, "slots": slots}
        data = await self._request("POST", f"/cloud-functions/{uuid_segment(function_uuid)}/jobs", json=body)
        return _parse_model(Job, data)

    async def set_environment(self, function_uuid: str, variables: Mapping[str, str]) -> CloudFunction:
        """Replace all of the function's environment variables."""
        body = {"variables": [{"key": key, "value": value} for key, value in variables.items()]}
        data = await self._request("POST", f"/cloud-functions/{uuid_segment(function_uuid)}/environment", json=body)
        return _parse_model(CloudFunction, data)

    async def delete_job(self, job_uuid: str) -> Job:
        data = await self._request("DELETE", f"/cloud-functions/jobs/{uuid_segment(job_uuid)}")
        return _parse_model(Job, data)

    async def get_credit_balance(self) -> int:
        data = await self._request("GET", "/project/credit")
        return _parse_model(ProjectCredit, data).balance

    async def start_upload(
        self, bucket_uuid: str, *, session_uuid: str, file_name: str, content_type: str
    ) -> UploadSession:
        """Open (or extend) an upload session on the bucket; the answer holds a presigned PUT URL per file."""
        body = {"sessionUuid": session_uuid, "files": [{"fileName": file_name, "contentType": content_type}]}
        data = await self._request("POST", f"/storage/buckets/{uuid_segment(bucket_uuid)}/upload", json=body)
        return _parse_model(UploadSession, data)

    async def put_upload(self, url: str, content: bytes, *, content_type: str) -> None:
        """PUT the bytes to a presigned URL (storage's own signature; no Apillon credentials)."""
        method = "PUT"
        try:
            response = await self._public.put(url, content=content, headers={"Content-Type": content_type})
        except httpx2.TransportError as exc:
            raise _unreachable(method, "the presigned upload URL", exc) from exc
        if not response.is_success:
            snippet = " ".join(response.text[:200].split())
            raise ApillonBadResponse(
                f"the presigned upload URL refused the file with HTTP {response.status_code}: {snippet!r}",
                status=response.status_code,
            )

    async def end_upload(self, bucket_uuid: str, session_uuid: str) -> None:
        """Close the session: Apillon then moves its files to IPFS."""
        path = f"/storage/buckets/{uuid_segment(bucket_uuid)}/upload/{uuid_segment(session_uuid)}/end"
        await self._request("POST", path, json={})

    async def list_session_files(self, bucket_uuid: str, session_uuid: str) -> list[StoredFile]:
        params: dict[str, str | int] = {"sessionUuid": uuid_segment(session_uuid), "limit": 200}
        data = await self._request("GET", f"/storage/buckets/{uuid_segment(bucket_uuid)}/files", params=params)
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise ApillonBadResponse("the file listing has no items", status=None)
        return [_parse_model(StoredFile, item) for item in data["items"]]

    async def call_gateway(
        self, gateway_url: str, path: str, *, body: Any, headers: Mapping[str, str] | None = None
    ) -> GatewayReply:
        """POST a JSON body to a function's gateway URL (unauthenticated by design) and read its raw reply."""
        url = gateway_url.rstrip("/") + path
        started = self._timer()
        try:
            async with self._public.stream("POST", url, json=body, headers=dict(headers or {})) as response:
                chunks: list[bytes] = []
                size = 0
                truncated = False
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > GATEWAY_READ_LIMIT:
                        truncated = True
                        break
        except httpx2.TransportError as exc:
            raise _unreachable("POST", "the gateway URL", exc) from exc
        elapsed_ms = (self._timer() - started) * 1000
        raw = b"".join(chunks)[:GATEWAY_READ_LIMIT]
        return GatewayReply(
            status=response.status_code,
            text=raw.decode("utf-8", errors="replace"),
            truncated=truncated,
            elapsed_ms=elapsed_ms,
        )

    async def probe(self, probe: Probe) -> ProbeResult:
        """Send a permission probe (see `permissions`); it cannot change anything."""
        try:
            await self._request(probe.method, probe.path, params=probe.params, json=probe.json)
        except ApillonError as outcome:
            return judge(probe, outcome)
        return judge(probe, None)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> Any:
        """The `data` of Apillon's answer, after the retries `retry` allows (see `apillon.retry`)."""
        waited = 0.0
        number = 0
        while True:
            number += 1
            outcome = await self._send_once(method, path, params=params, json=json)
            delay = self._retry.wait_before_retry(_attempt(number, method, outcome), waited=waited, jitter=self._jitter)
            if delay is None:
                if isinstance(outcome, ApillonUnreachable):
                    raise outcome
                return _data(method, path, outcome)
            if isinstance(outcome, httpx2.Response):
                reason = f"HTTP {outcome.status_code}"
            else:
                reason = type(outcome.__cause__).__name__  # the transport failure, e.g. ConnectError
            logger.info("%s %s: %s, retry %d in %.1f s", method, path, reason, number, delay)
            await self._sleep(delay)
            waited += delay

    async def _send_once(
        self, method: str, path: str, *, params: Mapping[str, str | int] | None, json: Any
    ) -> httpx2.Response | ApillonUnreachable:
        """One try: Apillon's answer, or the failure that stopped it from coming (returned, for the retry policy
        to judge)."""
        try:
            response = await self._http.request(
                method, path, params=params, json=json, auth=self._auth or httpx2.USE_CLIENT_DEFAULT
            )
        except httpx2.TransportError as exc:
            failure = _unreachable(method, path, exc)
            failure.__cause__ = exc
            return failure
        logger.debug("%s %s -> %s", method, path, response.status_code)
        return response


def _attempt(number: int, method: str, outcome: httpx2.Response | ApillonUnreachable) -> Attempt:
    if isinstance(outcome, ApillonUnreachable):
        return Attempt(number, method, status=None, may_have_reached_server=outcome.may_have_reached_server)
    return Attempt(number, method, status=outcome.status_code, retry_after=outcome.headers.get("retry-after"))


def _data(method: str, path: str, response: httpx2.Response) -> Any:
    body = _json_body(response)
    writes = method != "GET"
    if response.is_success:
        if not isinstance(body, dict) or "data" not in body:
            raise ApillonBadResponse(
                f"{method} {path} answered HTTP {response.status_code} without the Apillon JSON envelope",
                status=response.status_code,
                outcome_unknown=writes,
            )
        return body["data"]
    error = _api_error(response, body)
    # A gateway error or an unreadable body in front of a write says nothing about whether Apillon acted.
    if writes and (isinstance(error, ApillonBadResponse) or response.status_code in (502, 503, 504)):
        error.outcome_unknown = True
    raise error


def _unreachable(method: str, path: str, exc: httpx2.TransportError) -> ApillonUnreachable:
    not_sent = isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout)
    kind = "timed out" if isinstance(exc, httpx2.TimeoutException) else "failed"
    failure = ApillonUnreachable(
        f"{method} {path} {kind} before Apillon answered ({type(exc).__name__})",
        may_have_reached_server=not not_sent,
    )
    failure.outcome_unknown = failure.may_have_reached_server and method != "GET"
    return failure


def _json_body(response: httpx2.Response) -> Any:
    """The decoded JSON body, or None when the body is not JSON (a proxy's HTML page, a cut-off body)."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _api_error(response: httpx2.Response, body: Any) -> ApillonAPIError | ApillonBadResponse:
    status = response.status_code
    if not isinstance(body, dict):
        snippet = " ".join(response.text[:120].split())
        return ApillonBadResponse(f"HTTP {status} with a body that is not Apillon JSON: {snippet!r}", status=status)
    field_errors = tuple(_field_errors(body.get("errors")))
    code = body.get("code") if isinstance(body.get("code"), int) else None
    if field_errors and (code is None or code == MICROSERVICE_VALIDATION_WRAPPER):
        code = field_errors[0].code
    message = body.get("message")
    if not isinstance(message, str) or not message:
        message = "; ".join(f"{e.property}: {e.message}" for e in field_errors) or f"HTTP {status}"
    path = body.get("path") if isinstance(body.get("path"), str) else None
    return error_class_for(status, code)(
        status=status, code=code, message=message, field_errors=field_errors, path=path
    )


def _field_errors(raw: Any) -> list[FieldError]:
    if not isinstance(raw, list):
        return []
    errors = []
    for item in raw:
        if isinstance(item, dict):
            code = item.get("code")
            errors.append(
                FieldError(
                    property=str(item.get("property", "")),
                    code=code if isinstance(code, int) else None,
                    message=str(item.get("message", "")),
                )
            )
    return errors


def _parse_model(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) or "data" for error in exc.errors()})
        raise ApillonBadResponse(
            f"Apillon answered with data of an unexpected shape (fields: {', '.join(fields)})", status=None
        ) from None
