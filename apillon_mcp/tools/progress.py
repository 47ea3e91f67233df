"""Progress notifications of one tool call."""

from __future__ import annotations

from apillon_mcp.context import ToolContext


class ProgressReport:
    """Sends each message as the call's next progress notification: MCP requires the progress value to increase."""

    def __init__(self, ctx: ToolContext) -> None:
        self._ctx = ctx
        self._sent = 0

    async def __call__(self, message: str) -> None:
        self._sent += 1
        await self._ctx.report_progress(self._sent, None, message)
