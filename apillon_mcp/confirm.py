"""The guard in front of destructive tools.

A destructive call runs only after explicit consent, obtained one of two ways:

1. The client supports form elicitation: the user is asked, through a resolver so that it works on both
   protocol eras, with the effect spelled out from live data. Accept runs the action; anything else does not.
2. Otherwise the first call changes nothing and answers `Confirmation required: <effect>` with a
   `confirmation_token`. The token is an HMAC bound to the tool, its exact arguments and the live state the
   effect was described from; it expires after five minutes and is accepted once. It needs no shared
   state between replicas that share the key: the state binding makes a replayed token fail once the
   action changed that state, and each process also remembers the tokens it has accepted.

Every failure on this path refuses the action.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import struct
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent
from mcp.types.version import is_version_at_least
from pydantic import BaseModel, Field, StrictBool

TOKEN_TTL_SECONDS = 300
_HEARTBEAT_SECONDS = 15
_IN_BAND_ELICITATION = "2026-07-28"
_TOKEN_PREFIX = "ct1."
_LAYOUT = struct.Struct(">BI8s8s8s")  # version, expiry (unix s), nonce, call tag, state tag
_MAC_BYTES = 16
_VERSION = 1


@dataclass(frozen=True)
class Effect:
    """What a destructive call would do, described from live data."""

    description: str
    """Sentences for the user: what changes, what stops working, what cannot be undone."""
    state: str
    """A fingerprint of the live state the description was made from."""


class ConfirmForm(BaseModel):
    """The elicitation form: one explicit checkbox. Strict, so that only a JSON `true` counts, not "yes" or 1."""

    confirm: StrictBool = Field(default=False, description="Check to go ahead. This cannot be undone.")


class NotAsked:
    """A resolver's answer when the client cannot be asked: the token path applies."""


NOT_ASKED = NotAsked()


class TokenRefused(Exception):
    """The confirmation token does not authorise this call; the message says why."""


@dataclass(frozen=True)
class Claim:
    state_tag: bytes


class ConfirmationGuard:
    """Issues and redeems confirmation tokens."""

    def __init__(self, key: bytes, *, clock: Callable[[], float] = time.time, ttl: int = TOKEN_TTL_SECONDS) -> None:
        if len(key) < 16:
            raise ValueError("the confirmation key must be at least 16 bytes")
        self._key = key
        self._clock = clock
        self._ttl = ttl
        self._used: dict[bytes, int] = {}

    def issue(self, tool: str, arguments: Mapping[str, Any], effect: Effect) -> str:
        """A token for exactly this call; `arguments` may include who calls (the API key), to bind it too."""
        expiry = int(self._clock()) + self._ttl
        blob = _LAYOUT.pack(
            _VERSION, expiry, secrets.token_bytes(8), self._call_tag(tool, arguments), self._state_tag(effect.state)
        )
        return _TOKEN_PREFIX + base64.urlsafe_b64encode(blob + self._mac(blob)).decode().rstrip("=")

    def redeem(self, tool: str, arguments: Mapping[str, Any], token: str) -> Claim:
        """Check the token and use it up. The caller still compares `Claim.state_tag` with the live state."""
        blob = self._authentic_blob(token)
        version, expiry, nonce, call_tag, state_tag = _LAYOUT.unpack(blob)
        if version != _VERSION:
            raise TokenRefused("it is from an incompatible version of this server")
        if not hmac.compare_digest(call_tag, self._call_tag(tool, arguments)):
            raise TokenRefused(
                f"it was issued for another call: a different tool or different arguments than this {tool}"
            )
        now = int(self._clock())
        if expiry <= now:
            raise TokenRefused("it has expired (tokens are valid for 5 minutes)")
        self._forget_expired(now)
        if nonce in self._used:
            raise TokenRefused("it was already used (each token is accepted once)")
        self._used[nonce] = expiry
        return Claim(state_tag=state_tag)

    def matches(self, claim: Claim, effect: Effect) -> bool:
        return hmac.compare_digest(claim.state_tag, self._state_tag(effect.state))

    def _authentic_blob(self, token: str) -> bytes:
        malformed = TokenRefused("it is not a token this server issued (altered, truncated or from another server)")
        if not token.startswith(_TOKEN_PREFIX):
            raise malformed
        encoded = token.removeprefix(_TOKEN_PREFIX)
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            raise malformed from None
        if len(raw) != _LAYOUT.size + _MAC_BYTES:
            raise malformed
        blob, mac = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
        if not hmac.compare_digest(mac, self._mac(blob)):
            raise malformed
        return blob

    def _forget_expired(self, now: int) -> None:
        for nonce in [n for n, expiry in self._used.items() if expiry <= now]:
            del self._used[nonce]

    def _mac(self, blob: bytes) -> bytes:
        return hmac.digest(self._key, b"token\0" + blob, hashlib.sha256)[:_MAC_BYTES]

    def _call_tag(self, tool: str, arguments: Mapping[str, Any]) -> bytes:
        canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return hmac.digest(self._key, b"call\0" + tool.encode() + b"\0" + canonical.encode(), hashlib.sha256)[:8]

    def _state_tag(self, state: str) -> bytes:
        return hmac.digest(self._key, b"state\0" + state.encode(), hashlib.sha256)[:8]


def can_elicit(ctx: Context[Any, Any]) -> bool:
    """Whether the client declared form elicitation (a bare `elicitation: {}` counts as form support)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


@dataclass(frozen=True)
class Answered:
    """The outcome of an elicitation the resolver made itself; None, with the reason, when there was none."""

    outcome: ElicitationResult[ConfirmForm] | None
    failure: str = ""


async def ask_user(
    ctx: Context[Any, Any], describe: Callable[[], Awaitable[Effect]], *, timeout: float
) -> Elicit[ConfirmForm] | NotAsked | Answered:
    """The body of a consent resolver: a form elicitation when the client can show one.

    From protocol 2026-07-28 on, the question travels in the result and the client answers with a retry, so nothing
    waits here. On older connections the question is a request to the client, answered mid-call: it is asked here,
    for at most `timeout` seconds, with a progress heartbeat so that the client does not time the call out.
    """
    if not can_elicit(ctx):
        return NOT_ASKED
    effect = await describe()
    message = f"{effect.description}\n\nGo ahead?"
    if ctx.protocol_version is not None and is_version_at_least(ctx.protocol_version, _IN_BAND_ELICITATION):
        return Elicit(message, ConfirmForm)
    with anyio.move_on_after(timeout):
        async with anyio.create_task_group() as heartbeat:
            heartbeat.start_soon(_keep_alive, ctx)
            try:
                outcome = await ctx.elicit(message, ConfirmForm)
            except (MCPError, ValueError) as error:
                return Answered(None, f"the client could not show the confirmation ({error})")
            finally:
                heartbeat.cancel_scope.cancel()
        return Answered(outcome)
    return Answered(None, f"the user did not answer the confirmation within {timeout:.0f} s")


async def _keep_alive(ctx: Context[Any, Any]) -> None:
    beat = 0
    while True:
        await anyio.sleep(_HEARTBEAT_SECONDS)
        beat += 1
        await ctx.report_progress(beat, None, "Waiting for the user to confirm.")


async def consent_refusal(
    answer: ElicitationResult[Any],
    *,
    guard: ConfirmationGuard,
    tool: str,
    arguments: Mapping[str, Any],
    token: str | None,
    describe: Callable[[], Awaitable[Effect]],
) -> CallToolResult | None:
    """None when the call may go ahead; otherwise the error result to return, with nothing changed."""
    if isinstance(answer, AcceptedElicitation) and isinstance(answer.data, Answered):
        if answer.data.outcome is None:
            return _refused(answer.data.failure)
        answer = answer.data.outcome
    if isinstance(answer, AcceptedElicitation):
        if isinstance(answer.data, NotAsked):
            return await _token_refusal(guard, tool, arguments, token, describe)
        if isinstance(answer.data, ConfirmForm) and answer.data.confirm:
            return None
        return _refused("the user did not tick the confirmation box")
    return _refused(f"the user {'declined' if answer.action == 'decline' else 'cancelled'} the confirmation")


async def _token_refusal(
    guard: ConfirmationGuard,
    tool: str,
    arguments: Mapping[str, Any],
    token: str | None,
    describe: Callable[[], Awaitable[Effect]],
) -> CallToolResult | None:
    if token is None:
        effect = await describe()
        return _confirmation_required(effect, guard.issue(tool, arguments, effect), tool)
    try:
        claim = guard.redeem(tool, arguments, token)
    except TokenRefused as refused:
        return _error(
            f"Confirmation token refused: {refused}. Nothing was changed. To go ahead, call {tool} again without "
            "confirmation_token to get a new one, and show the user what it says before using it."
        )
    effect = await describe()
    if guard.matches(claim, effect):
        return None
    return _confirmation_required(
        effect, guard.issue(tool, arguments, effect), tool, preface="The situation changed since that token was issued."
    )


def _confirmation_required(effect: Effect, token: str, tool: str, preface: str = "") -> CallToolResult:
    lead = f"{preface} " if preface else ""
    return _error(
        f"Confirmation required: {lead}{effect.description}\n"
        f"Nothing was changed. Show this to the user and ask them to confirm. If they agree, call {tool} again with "
        f'the same arguments and confirmation_token="{token}" (valid for 5 minutes, once).'
    )


def _refused(reason: str) -> CallToolResult:
    return _error(f"Not done: {reason}. Nothing was changed. Do not retry unless the user asks again.")


def _error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
