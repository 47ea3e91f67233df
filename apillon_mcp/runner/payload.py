"""The request as a script receives it: the JSON text Apillon's gateway builds from a POST (apillon-api.md §10)."""

from __future__ import annotations

import json
import re
from typing import NoReturn

# API Gateway's own headers; case-sensitive, so the lowercase `x-…` headers a client sends pass through.
_BLOCKED_HEADER = re.compile(r"^(X-|CloudFront-|Via)")


def gateway_payload(
    *, body: bytes | None, path: str, query: list[tuple[str, str]], headers: list[tuple[str, str]]
) -> str:
    """`{body, headers, path, queryStringParameters, multiValueQueryStringParameters, pathParameters}` as JSON text.

    `path` is the request path after the function's host ("/" or "/a/b"); `query` and `headers` are in request
    order, and a repeated name keeps its last value in the single-value maps. The body is parsed as JSON (NaN and
    Infinity are not JSON), else kept as text; empty or absent is null.
    """
    kept = {name: value for name, value in headers if not _BLOCKED_HEADER.match(name)}
    multi_query: dict[str, list[str]] = {}
    for key, value in query:
        multi_query.setdefault(key, []).append(value)
    proxy = path.removeprefix("/")
    payload = {
        "body": _parse_body(body.decode("utf-8", errors="replace")) if body else None,
        "headers": kept,
        "path": path,
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {"proxy": proxy} if proxy else None,
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _parse_body(text: str) -> object:
    """`JSON.parse`, falling back to the raw text."""
    try:
        return json.loads(text, parse_constant=_refuse)
    except ValueError:
        return text


def _refuse(constant: str) -> NoReturn:
    raise ValueError(constant)
