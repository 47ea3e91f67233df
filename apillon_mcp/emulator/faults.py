"""Injected faults for the next matching API requests (for error-path tests and demos).

Kinds:
- `error` (the default): answer `status` and `body` instead of handling the request; nothing changes.
- `reset`: handle the request (it takes effect), then drop the connection after the response headers, so the
  client never reads the answer.
- `truncate`: handle the request, then send only the first half of the answer's body.
- `slow`: handle the request, then hold the real answer back `delay_seconds` (past a client's read timeout).
"""

from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from typing import Literal

from apillon_mcp.emulator.coercion import is_finite_number, is_int

FaultKind = Literal["error", "reset", "truncate", "slow"]
KINDS: tuple[FaultKind, ...] = ("error", "reset", "truncate", "slow")
_FIELDS = frozenset({"kind", "method", "path", "status", "body", "delay_seconds", "times"})


class ConnectionDropped(Exception):
    """Raised by the app to cut the connection mid-response; a server closes the socket, an in-process client
    transport should turn it into its own network error."""


@dataclass
class Fault:
    """Apply `kind` to the next `times` requests matching `method` (None: any) and `path`.

    `path` is an exact URL path or an fnmatch pattern such as `/cloud-functions/*`; the query string is not part
    of the match. For `error`: `body` None means the emulator's default type-E error body; a string is sent as
    text/html, anything else as JSON. The answer is held back `delay_seconds` of real time.
    """

    path: str
    method: str | None = None
    status: int = 500
    body: object = None
    delay_seconds: float = 0
    times: int = 1
    kind: FaultKind = "error"

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return path == self.path or fnmatchcase(path, self.path)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def parse_fault(body: object) -> Fault:
    """A `Fault` from a control request body; ValueError with a readable message when the body is wrong."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    if unknown := sorted(set(body) - _FIELDS):
        raise ValueError(f"unknown fields {unknown}; allowed: {sorted(_FIELDS)}")
    path, method, kind = body.get("path"), body.get("method"), body.get("kind", "error")
    if kind not in KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(KINDS)}")
    status, delay, times = body.get("status", 500), body.get("delay_seconds", 0), body.get("times", 1)
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError("'path' is required: a URL path or fnmatch pattern starting with '/'")
    if method is not None and (not isinstance(method, str) or not method):
        raise ValueError("'method' must be an HTTP method name")
    if not is_int(status) or not 100 <= status <= 599:
        raise ValueError("'status' must be an HTTP status code (100-599)")
    if not is_finite_number(delay) or delay < 0:
        raise ValueError("'delay_seconds' must be a number >= 0")
    if not is_int(times) or times < 1:
        raise ValueError("'times' must be an integer >= 1")
    return Fault(
        path=path, method=method, status=status, body=body.get("body"), delay_seconds=delay, times=times, kind=kind
    )
