"""The S3 side of an upload (apillon-api.md §12 step 2): presigned PUT URLs and the PUT that stores the bytes.

A URL is `<base>/s3/<bucketUuid>/<sessionUuid>/<path><fileName>?X-Amz-Algorithm=…&X-Amz-Date=…&X-Amz-Expires=900
&X-Amz-SignedHeaders=host&X-Amz-Signature=<hmac>`, on the base URL the upload request came in on. The signature
covers the method, the object and the validity window, so only a PUT to the issued URL within 900 s (emulator
clock) succeeds. Errors are S3's XML bodies, not Apillon's.

A PUT stores at most `MAX_OBJECT_BYTES`: the emulator keeps every file in its state, where real S3 takes 5 GiB in
one PUT. A larger one gets S3's own `EntityTooLarge` answer, which gives both sizes, and stores nothing.
"""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode
from uuid import uuid4
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from apillon_mcp.emulator.records import FileUpload
from apillon_mcp.emulator.request_bodies import BodyTooLarge, read_limited
from apillon_mcp.emulator.routing import HTTP_METHODS
from apillon_mcp.emulator.state import EmulatorState

EXPIRES_SECONDS = 900
MAX_OBJECT_BYTES = 16 * 1024 * 1024
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_PRESIGNED_PARAMETERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your key and signing method."
)
_TWO_AUTH_MECHANISMS = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter "
    "or the Authorization header should be specified"
)


def presigned_put_url(base_url: str, signing_key: bytes, upload: FileUpload, issued: datetime) -> str:
    object_path = f"{upload.bucket_uuid}/{upload.session_uuid}/{upload.s3_key}"
    amz_date = issued.astimezone(UTC).strftime(_AMZ_DATE)
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(EXPIRES_SECONDS),
        "X-Amz-SignedHeaders": "host",
        "X-Amz-Signature": _signature(signing_key, "PUT", object_path, amz_date, str(EXPIRES_SECONDS)),
    }
    return f"{base_url}/s3/{quote(object_path)}?{urlencode(query)}"


class S3Routes:
    """The presigned URLs' endpoint; it knows nothing of Apillon's Basic auth."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def routes(self) -> list[BaseRoute]:
        return [Route("/s3/{object_path:path}", self.put_object, methods=HTTP_METHODS)]

    async def put_object(self, request: Request) -> Response:
        params = request.query_params
        # A presigned URL already authenticates; S3 refuses a second mechanism (e.g. leaked Apillon credentials).
        if "authorization" in request.headers and any(name in params for name in _PRESIGNED_PARAMETERS):
            return _s3_error(400, "InvalidArgument", _TWO_AUTH_MECHANISMS, [("ArgumentName", "Authorization")])
        object_path = request.path_params["object_path"]
        amz_date, expires = params.get("X-Amz-Date", ""), params.get("X-Amz-Expires", "")
        expected = _signature(self._state.storage.signing_key, request.method, object_path, amz_date, expires)
        if not hmac.compare_digest(params.get("X-Amz-Signature", ""), expected):
            return _s3_error(403, "SignatureDoesNotMatch", _SIGNATURE_MISMATCH)
        now = self._state.clock.now()
        deadline = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC) + timedelta(seconds=int(expires))
        if now > deadline:
            details = [("X-Amz-Expires", expires), ("Expires", _s3_time(deadline)), ("ServerTime", _s3_time(now))]
            return _s3_error(403, "AccessDenied", "Request has expired", details)
        bucket_uuid, session_uuid, s3_key = object_path.split("/", 2)
        if self._state.storage.upload_at(bucket_uuid, session_uuid, s3_key) is None:
            return _s3_error(403, "AccessDenied", "Access Denied")  # signed for an upload this state no longer has
        try:
            content = await read_limited(request, MAX_OBJECT_BYTES)
        except BodyTooLarge:
            return _too_large(request.headers.get("content-length"))
        if self._state.storage.put_object(bucket_uuid, session_uuid, s3_key, content) is None:
            return _s3_error(403, "AccessDenied", "Access Denied")  # gone (a reset) while the bytes came in
        etag = hashlib.md5(content, usedforsecurity=False).hexdigest()
        return Response(b"", headers={"ETag": f'"{etag}"'})


def _too_large(declared: str | None) -> Response:
    """S3's answer to an object over the limit; the proposed size is the declared one when the client sent it."""
    proposed = [("ProposedSize", declared)] if declared is not None and declared.isdigit() else []
    return _s3_error(
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
        [*proposed, ("MaxSizeAllowed", str(MAX_OBJECT_BYTES))],
    )


def _signature(key: bytes, method: str, object_path: str, amz_date: str, expires: str) -> str:
    return hmac.new(key, f"{method}\n{object_path}\n{amz_date}\n{expires}".encode(), hashlib.sha256).hexdigest()


def _s3_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _s3_error(status: int, code: str, message: str, details: list[tuple[str, str]] | None = None) -> Response:
    fields = [("Code", code), ("Message", message), *(details or []), ("RequestId", uuid4().hex[:16].upper())]
    body = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields)
    return Response(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{body}</Error>',
        status_code=status,
        media_type="application/xml",
    )
