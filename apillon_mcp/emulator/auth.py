"""Basic-auth parsing, the role guard and the record access check, with their exact errors (apillon-api.md §2)."""

import base64

from apillon_mcp.emulator.errors import EmulatedError
from apillon_mcp.emulator.records import ApiKey, Role, Service

FORBIDDEN = 40300000

_URL_SAFE = str.maketrans("-_", "+/")
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def parse_basic_credentials(header: str | None) -> tuple[str, str]:
    """The (key, secret) pair from an Authorization header, or the middleware's 400 errors."""
    if header is None or "Basic " not in header:
        raise EmulatedError.api(400, 40000003, "Missing Authorization header")
    # The middleware takes the second space-separated token wherever "Basic " appeared, and splits on every ':'.
    parts = _decode_lenient(header.split(" ")[1]).split(":")
    key, secret = parts[0], parts[1] if len(parts) > 1 else ""
    if not key or not secret:
        raise EmulatedError.api(400, 40000004, "Malformed Authorization header")
    return key, secret


def require_role(api_key: ApiKey, role: Role, *services: Service) -> None:
    """The role guard: the role must be granted on one of `services` (all routes but a few name exactly one)."""
    if not any((role, service) in api_key.roles for service in services):
        raise EmulatedError.api(403, FORBIDDEN, f"Insufficient permissions - missing KEY_{role.name} permission")


def check_access(owner: str, caller: str, modify: bool = False) -> None:
    """A record of another project is a 403 raised in the microservice (no `status` key)."""
    if owner != caller:
        verb = "modify" if modify else "access"
        raise EmulatedError.service(403, FORBIDDEN, f"Insufficient permissions to {verb} this record")


def _decode_lenient(encoded: str) -> str:
    """Decode the way Node's `Buffer.from(x, "base64").toString("ascii")` does: never fail, skip junk."""
    text = "".join(char for char in encoded.translate(_URL_SAFE).split("=", 1)[0] if char in _ALPHABET)
    if len(text) % 4 == 1:
        text = text[:-1]
    raw = base64.b64decode(text + "=" * (-len(text) % 4))
    return bytes(byte & 0x7F for byte in raw).decode("ascii")
