"""Consent for a destructive tool, wired once: what the call asks consent for, asked by the tool's resolver and
checked by the tool before it acts (see `confirm` for the protocol)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Elicit, ElicitationResult
from mcp.types import CallToolResult

from apillon_mcp.confirm import Answered, ConfirmForm, Effect, NotAsked, ask_user, consent_refusal
from apillon_mcp.context import ToolContext, apillon, app_state


@dataclass(frozen=True)
class ConsentRequest:
    """One destructive call, as the user consents to it."""

    tool: str
    arguments: Mapping[str, Any]
    """The arguments the consent is bound to, as the tool acts on them (parsed, canonical)."""
    describe: Callable[[], Awaitable[Effect]]
    """The effect, described from live data."""

    async def ask(self, ctx: ToolContext) -> Elicit[ConfirmForm] | NotAsked | Answered:
        """The tool's resolver: a form when the client can show one, else the token path."""
        state = app_state(ctx)
        return await ask_user(ctx, self.describe, timeout=state.elicitation_timeout, heartbeat=state.heartbeat)

    async def refusal(
        self, ctx: ToolContext, answer: ElicitationResult[Any], token: str | None
    ) -> CallToolResult | None:
        """None when the call may go ahead; otherwise the error result to return, with nothing changed.

        A token is bound to the caller's API key too, so that with per-request credentials one caller's token
        cannot serve another.
        """
        return await consent_refusal(
            answer,
            guard=app_state(ctx).guard,
            tool=self.tool,
            arguments={**self.arguments, "key": apillon(ctx).key_id},
            token=token,
            describe=self.describe,
        )
