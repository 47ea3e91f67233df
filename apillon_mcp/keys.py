"""The server's secret keys, all from one: `APILLON_MCP_CONFIRMATION_KEY`, or random bytes drawn at start.

It signs confirmation tokens (see `confirm`), and a key derived from it seals the SDK's `requestState`, in which a
2026-07-28 confirmation form travels between the question and the client's retry that answers it. Replicas that
share the configured key therefore accept each other's tokens and finish each other's forms; a process without
one accepts only its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import RequestStateSecurity
from pydantic import SecretStr

from apillon_mcp.context import CREDENTIAL_HEADERS

# A label per use, so that neither key reveals anything about the other.
_REQUEST_STATE_LABEL = b"apillon-mcp/request-state/v1"


@dataclass(frozen=True)
class ServerKeys:
    confirmation: bytes
    """Signs confirmation tokens."""
    request_state: bytes
    """Seals the SDK's `requestState` (32 bytes, as the SDK's AES-GCM codec requires)."""

    @classmethod
    def from_setting(cls, configured: SecretStr | None) -> ServerKeys:
        secret = configured.get_secret_value().encode() if configured is not None else secrets.token_bytes(32)
        return cls(confirmation=secret, request_state=hmac.digest(secret, _REQUEST_STATE_LABEL, hashlib.sha256))

    def request_state_security(self, *, ttl: float, per_caller: bool) -> RequestStateSecurity:
        """The SDK's sealing of `requestState` under this key: a form must be answered within `ttl` seconds and,
        `per_caller` (per-request credentials), by the caller it was asked of, as a token is bound to its caller."""
        return RequestStateSecurity(keys=[self.request_state], ttl=ttl, bind_principal=_caller if per_caller else None)


def _caller(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """The API key (not the secret) the request names, the one its tools act with."""
    headers = getattr(ctx.request, "headers", None)
    key = headers.get(CREDENTIAL_HEADERS[0]) if headers is not None else None
    return key if isinstance(key, str) else None
