"""How the backend's JavaScript model parsers read loosely typed JSON and query values."""

import json
import math
import re
from typing import TypeGuard

_LEADING_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)")


def js_string(value: object) -> str | None:
    """A string parser: null stays null, numbers print as JavaScript prints them, objects become JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def js_integer(value: object) -> int | None:
    """An integer parser: truncates floats, reads a string's leading number, and anything unreadable is 0."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return math.trunc(value) if math.isfinite(value) else 0
    if isinstance(value, str):
        match = _LEADING_NUMBER.match(value)
        return math.trunc(float(match.group(0))) if match else 0
    return 0


def js_truthy(value: object) -> bool:
    """JavaScript truthiness: empty lists and objects are truthy, `0`, `""` and null are not."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float | str):
        return bool(value)
    return True


def is_int(value: object) -> TypeGuard[int]:
    """A JSON integer (booleans excluded)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite_number(value: object) -> TypeGuard[float]:
    """A finite JSON number (booleans excluded)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def utf16_length(text: str) -> int:
    """`String.length`: characters outside the BMP count twice."""
    return len(text.encode("utf-16-le")) // 2
