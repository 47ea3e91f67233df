"""A confirmation form's reply is accepted once by each server process, as a confirmation token is.

On protocol 2026-07-28 the user's answer to a form comes back in a new `tools/call` that carries the form's sealed
`requestState`. Sent again, the same reply would confirm the same action again: this middleware remembers each
sealed state a call has brought, for as long as the SDK would accept it, and refuses it a second time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent

_REJECTED_BY_THE_SDK = {"reason": "invalid_request_state"}


class OneUsePerReply:
    """Server middleware; it must run outside the SDK's request-state boundary, where each reply's state is still
    sealed and so unique (the plain state is the same for every form asked about the same call)."""

    def __init__(self, *, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._seen: dict[str, float] = {}
        """Each sealed state received, with when it may be forgotten (the SDK no longer accepts it by then)."""

    @property
    def remembered(self) -> int:
        """How many replies it remembers: those received within the last `ttl` seconds."""
        return len(self._seen)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        sealed = params.get("requestState") if ctx.method == "tools/call" else None
        if not isinstance(sealed, str):
            return await call_next(ctx)
        now = self._clock()
        for state in [state for state, until in self._seen.items() if until <= now]:
            del self._seen[state]
        if sealed in self._seen:
            return _already_used(str(params.get("name", "the tool")))
        # Claimed before the call runs, so that two copies sent at once cannot both get through.
        self._seen[sealed] = now + self._ttl
        try:
            return await call_next(ctx)
        except MCPError as error:
            if error.data == _REJECTED_BY_THE_SDK:
                self._seen.pop(sealed, None)  # not a state this server sealed: nothing to remember
            raise


def _already_used(tool: str) -> CallToolResult:
    text = (
        f"Not done: this reply to a confirmation form for {tool} was already received, and each reply is accepted "
        "once. The action it confirmed may already have run: check its effect before asking again. To do it again, "
        f"call {tool} anew so that the user is asked again."
    )
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
