"""Request bodies read within bounds and parsed as JavaScript's `JSON.parse` would, so no body can crash the emulator.

Python's parser accepts `NaN` and `Infinity`, which `JSON.parse` refuses: they are refused here too. Beyond the
grammar, a body may nest arrays and objects `MAX_DEPTH` levels deep and hold numbers only within a double's range
(what JavaScript can hold). `read_limited` stops reading a body at a size limit.
"""

import json
import math
import re

from starlette.requests import Request

MAX_DEPTH = 64
# A string, whose content is skipped, or a constant JavaScript does not know: where `JSON.parse` stops.
_CONSTANT_OUTSIDE_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|-?(Infinity)|(NaN)')


class JsonRefused(ValueError):
    """A body that is not JSON the emulator accepts; the message says why in `JSON.parse`'s or plain words."""


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit} bytes")
        self.limit = limit


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, or `BodyTooLarge` as soon as its declared or received size passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(text: str) -> object:
    """`JSON.parse(text)` within the bounds above, or `JsonRefused`."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_bounded_float, parse_int=_bounded_int)
    except json.JSONDecodeError as error:
        raise JsonRefused(syntax_message(text, error.pos)) from error
    except _UnknownConstant:
        raise JsonRefused(_constant_message(text)) from None
    except RecursionError:
        raise JsonRefused(_too_deep()) from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise JsonRefused(_too_deep())
    return value


def syntax_message(text: str, position: int) -> str:
    """What `JSON.parse` (Node 18) says about a syntax error at `position`."""
    if position >= len(text):
        return "Unexpected end of JSON input"
    return f"Unexpected token {text[position]} in JSON at position {position}"


class _UnknownConstant(Exception):
    pass


def _refuse_constant(name: str) -> object:
    raise _UnknownConstant(name)


def _constant_message(text: str) -> str:
    for match in _CONSTANT_OUTSIDE_STRINGS.finditer(text):
        start = match.start(1) if match.group(1) else match.start(2)
        if start >= 0:
            return syntax_message(text, start)
    return "Unexpected token in JSON"


def _bounded_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise JsonRefused(_out_of_range(literal))
    return value


def _bounded_int(literal: str) -> int:
    # float() first: it maps any length of digits to inf at once, where int() would refuse past 4300 digits.
    if math.isinf(float(literal)):
        raise JsonRefused(_out_of_range(literal))
    return int(literal)


def _out_of_range(literal: str) -> str:
    shown = literal if len(literal) <= 24 else f"{literal[:20]}… ({len(literal)} characters)"
    return f"the number {shown} is beyond what a JavaScript number can hold (about ±1.8e308)"


def _too_deep() -> str:
    return f"the JSON nests arrays and objects more than {MAX_DEPTH} levels deep"


def _depth_exceeds(value: object, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels; a loop, not recursion, whatever the depth."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
