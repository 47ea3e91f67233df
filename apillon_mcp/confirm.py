"""The guard in front of destructive tools.

A destructive call runs only after explicit consent, obtained one of two ways:

1. The client supports form elicitation: the user is asked, through a resolver so that it works on both
   protocol eras, with the effect spelled out from live data. Accept runs the action; anything else does not.
2. Otherwise the first call changes nothing and answers `Confirmation required: <effect>` with a
   `confirmation_token`. The token is an HMAC bound to the tool, its exact arguments and the facts the
   effect was described from; it expires after five minutes and is accepted once. It needs no shared
   state between replicas that share the key: the fact binding makes a replayed token fail once the
   action changed those facts, and each process also remembers the tokens it has accepted.

Consent is to a description, so it holds only while the description does: before acting, the effect is
described again from live data, and when one of its facts changed (a job that now serves the gateway, say)
nothing is done and the answer says exactly what changed. Every failure on this path refuses the action.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import struct
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, ClientCapabilities, TextContent
from mcp.types.version import is_version_at_least
from pydantic import BaseModel, Field, StrictBool

from apillon_mcp.config import MIN_CONFIRMATION_KEY_BYTES

TOKEN_TTL_SECONDS = 300
HEARTBEAT_SECONDS = 15.0
_IN_BAND_ELICITATION = "2026-07-28"
_TOKEN_PREFIX = "ct2."
_HEAD = struct.Struct(">BI8s8sB")  # version, expiry (unix s), nonce, call tag, number of facts
_FACT_TAG_BYTES = 4
_MAC_BYTES = 16
_VERSION = 2
MAX_FACTS = 64


@dataclass(frozen=True)
class Fact:
    """One thing the user's consent rests on, in words: a job, and what deleting it would stop."""

    subject: str
    """What it is about, e.g. `job "v1" uuid=...`."""
    value: str
    """Its state as far as the effect goes, e.g. "serves the gateway"; a change here is a material change."""


@dataclass(frozen=True)
class Effect:
    """What a destructive call would do, described from live data."""

    description: str
    """Sentences for the user: what changes, what stops working, what cannot be undone."""
    facts: tuple[Fact, ...]
    """What the description rests on; consent holds while these hold."""


def changed_facts(before: Sequence[Fact], now: Effect) -> str:
    """What changed between two descriptions, in words; empty when nothing material did."""
    if [fact.subject for fact in before] != [fact.subject for fact in now.facts]:
        return _other_subjects(now)
    return "; ".join(
        f"{new.subject} was {old.value}, now {new.value}"
        for old, new in zip(before, now.facts, strict=True)
        if old.value != new.value
    )


class ConfirmForm(BaseModel):
    """The elicitation form: one explicit checkbox. Strict, so that only a JSON `true` counts, not "yes" or 1."""

    confirm: StrictBool = Field(default=False, description="Check to go ahead. This cannot be undone.")


class NotAsked:
    """A resolver's answer when the client cannot be asked: the token path applies."""


NOT_ASKED = NotAsked()


class TokenRefused(Exception):
    """The confirmation token does not authorise this call; the message says why."""


def _other_subjects(effect: Effect) -> str:
    return "what it acts on is not the same any more: " + "; ".join(f"{f.subject}: {f.value}" for f in effect.facts)


@dataclass(frozen=True)
class Claim:
    fact_tags: tuple[bytes, ...]


class ConfirmationGuard:
    """Issues and redeems confirmation tokens."""

    def __init__(self, key: bytes, *, clock: Callable[[], float] = time.time, ttl: int = TOKEN_TTL_SECONDS) -> None:
        if len(key) < MIN_CONFIRMATION_KEY_BYTES:
            raise ValueError(f"the confirmation key must be at least {MIN_CONFIRMATION_KEY_BYTES} bytes")
        self._key = key
        self._clock = clock
        self._ttl = ttl
        self._used: dict[bytes, int] = {}

    def issue(self, tool: str, arguments: Mapping[str, Any], effect: Effect) -> str:
        """A token for exactly this call; `arguments` may include who calls (the API key), to bind it too."""
        if len(effect.facts) > MAX_FACTS:
            raise ValueError(f"an effect rests on at most {MAX_FACTS} facts")
        expiry = int(self._clock()) + self._ttl
        head = _HEAD.pack(_VERSION, expiry, secrets.token_bytes(8), self._call_tag(tool, arguments), len(effect.facts))
        blob = head + b"".join(self._fact_tag(fact) for fact in effect.facts)
        return _TOKEN_PREFIX + base64.urlsafe_b64encode(blob + self._mac(blob)).decode().rstrip("=")

    def redeem(self, tool: str, arguments: Mapping[str, Any], token: str) -> Claim:
        """Check the token and use it up. The caller still compares the claim with the live facts (`changes`)."""
        blob = self._authentic_blob(token)
        version, expiry, nonce, call_tag, count = _HEAD.unpack(blob[: _HEAD.size])
        if version != _VERSION or len(blob) != _HEAD.size + count * _FACT_TAG_BYTES:
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
        return Claim(tuple(blob[i : i + _FACT_TAG_BYTES] for i in range(_HEAD.size, len(blob), _FACT_TAG_BYTES)))

    @property
    def remembered(self) -> int:
        """How many used tokens it remembers (to refuse them again): those not yet expired, so never more than one
        five-minute lifetime's worth."""
        return len(self._used)

    def changes(self, claim: Claim, effect: Effect) -> str:
        """What changed, in words, between the facts the token was issued for and `effect`; empty if nothing."""
        if len(claim.fact_tags) != len(effect.facts):
            return _other_subjects(effect)
        return "; ".join(
            f"{fact.subject} is now {fact.value}"
            for tag, fact in zip(claim.fact_tags, effect.facts, strict=True)
            if not hmac.compare_digest(tag, self._fact_tag(fact))
        )

    def _authentic_blob(self, token: str) -> bytes:
        malformed = TokenRefused(
            "it is not a token this server issued: it was altered or cut short, or this server restarted since it "
            "issued the token (tokens do not outlive the server unless APILLON_MCP_CONFIRMATION_KEY is set)"
        )
        if not token.startswith(_TOKEN_PREFIX):
            raise malformed
        encoded = token.removeprefix(_TOKEN_PREFIX)
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            raise malformed from None
        # Unused bits of the last character would let two spellings decode alike: accept only the canonical one.
        if len(raw) < _HEAD.size + _MAC_BYTES or base64.urlsafe_b64encode(raw).decode().rstrip("=") != encoded:
            raise malformed
        blob, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
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

    def _fact_tag(self, fact: Fact) -> bytes:
        material = json.dumps([fact.subject, fact.value], ensure_ascii=False).encode()
        return hmac.digest(self._key, b"fact\0" + material, hashlib.sha256)[:_FACT_TAG_BYTES]


def can_elicit(capabilities: ClientCapabilities | None) -> bool:
    """Whether the client declared form elicitation (a bare `elicitation: {}` counts as form support)."""
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


@dataclass(frozen=True)
class Answered:
    """The outcome of an elicitation the resolver made itself, and the effect the user was shown; None, with the
    reason, when there was none."""

    outcome: ElicitationResult[ConfirmForm] | None
    shown: Effect | None = None
    failure: str = ""


async def ask_user(
    ctx: Context[Any, Any],
    describe: Callable[[], Awaitable[Effect]],
    *,
    timeout: float,
    heartbeat: float,
) -> Elicit[ConfirmForm] | NotAsked | Answered:
    """The body of a consent resolver: a form elicitation when the client can show one.

    From protocol 2026-07-28 on, the question travels in the result and the client answers with a retry, so nothing
    waits here. On older connections the question is a request to the client, answered mid-call: it is asked here,
    for at most `timeout` seconds, with a progress heartbeat so that the client does not time the call out.
    """
    if not can_elicit(ctx.client_capabilities):
        return NOT_ASKED
    effect = await describe()
    message = f"{effect.description}\n\nGo ahead?"
    if ctx.protocol_version is not None and is_version_at_least(ctx.protocol_version, _IN_BAND_ELICITATION):
        return Elicit(message, ConfirmForm)
    with anyio.move_on_after(timeout):
        async with anyio.create_task_group() as beats:
            beats.start_soon(_keep_alive, ctx, heartbeat)
            try:
                outcome = await ctx.elicit(message, ConfirmForm)
            except (MCPError, ValueError) as error:
                return Answered(None, failure=f"the client could not show the confirmation ({error})")
            finally:
                beats.cancel_scope.cancel()
        return Answered(outcome, shown=effect)
    return Answered(None, failure=f"the user did not answer the confirmation within {timeout:.0f} s")


async def _keep_alive(ctx: Context[Any, Any], every: float) -> None:
    beat = 0
    while True:
        await anyio.sleep(every)
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
    shown: Effect | None = None
    if isinstance(answer, AcceptedElicitation) and isinstance(answer.data, Answered):
        if answer.data.outcome is None:
            return _refused(answer.data.failure)
        shown = answer.data.shown
        answer = answer.data.outcome
    if isinstance(answer, AcceptedElicitation):
        if isinstance(answer.data, NotAsked):
            return await _token_refusal(guard, tool, arguments, token, describe)
        if isinstance(answer.data, ConfirmForm) and answer.data.confirm:
            return await _still_as_shown(shown, describe)
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
    changed = guard.changes(claim, effect)
    if not changed:
        return None
    return _confirmation_required(
        effect,
        guard.issue(tool, arguments, effect),
        tool,
        preface=f"The situation changed since that token was issued: {changed}. This is the new effect:",
    )


async def _still_as_shown(shown: Effect | None, describe: Callable[[], Awaitable[Effect]]) -> CallToolResult | None:
    """After a form answered mid-call: None when the effect is still the one the user accepted.

    The user may take minutes over the form; a job can match meanwhile. (From protocol 2026-07-28 on, the form
    is answered between two rounds of the call, and the SDK asks again by itself when the question changed.)
    """
    if shown is None:
        return None
    changed = changed_facts(shown.facts, await describe())
    if not changed:
        return None
    return _error(
        f"Not done: the situation changed while the confirmation was open: {changed}. Nothing was changed. Call "
        "the tool again with the same arguments to see the new effect and ask the user again."
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
