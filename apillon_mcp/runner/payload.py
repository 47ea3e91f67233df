"""The request as a script receives it: the JSON text Apillon's gateway builds from a POST (apillon-api.md §10)."""

from __future__ import annotations

import json
import math
import re
from typing import NoReturn

MAX_DEPTH = 64
# API Gateway's own headers; case-sensitive, so the lowercase `x-…` headers a client sends pass through.
_BLOCKED_HEADER = re.compile(r"^(X-|CloudFront-|Via)")


def gateway_payload(
    *, body: bytes | None, path: str, query: list[tuple[str, str]], headers: list[tuple[str, str]]
) -> str:
    """`{body, headers, path, queryStringParameters, multiValueQueryStringParameters, pathParameters}` as JSON text.

    `path` is the request path after the function's host ("/" or "/a/b"); `query` and `headers` are in request
    order, and a repeated name keeps its last value in the single-value maps. The body is parsed as JSON (NaN and
    Infinity are not JSON; see `_parse_body` for the bounds), else kept as text; empty or absent is null.
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
    """`JSON.parse` within bounds, else the raw text: as for any body that is not JSON, the script gets the text.

    The bounds keep an odd body from costing the server: numbers a JavaScript number can hold, arrays and objects
    nested at most `MAX_DEPTH` levels (the emulator's own limit for API bodies).
    """
    try:
        value = json.loads(text, parse_constant=_refuse, parse_float=_bounded_number, parse_int=_bounded_number)
    except (ValueError, RecursionError):
        return text
    return text if _nests_deeper(value, MAX_DEPTH) else value


def _refuse(constant: str) -> NoReturn:
    raise ValueError(constant)  # NaN and Infinity: Python's parser takes them, JSON.parse does not


def _bounded_number(literal: str) -> float | int:
    if math.isinf(float(literal)):  # float() takes any number of digits, where int() stops at 4300
        raise ValueError(literal)
    return float(literal) if any(mark in literal for mark in ".eE") else int(literal)


def _nests_deeper(value: object, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (a loop, so any depth is safe)."""
    pending: list[tuple[dict[str, object] | list[object], int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
