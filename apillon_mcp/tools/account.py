"""The project's credit balance, and this server's own spending cap: what deploying jobs costs."""

from __future__ import annotations

from typing import Annotated

from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from apillon_mcp.context import ToolContext, apillon, app_state
from apillon_mcp.tools.annotations import READ
from apillon_mcp.tools.credits import JOB_PRICE_CREDITS
from apillon_mcp.tools.spec import ToolSpec
from apillon_mcp.tools.text import plural
from apillon_mcp.tools.views import result


class SpendingCap(BaseModel):
    limit: int = Field(description="Most credits this server process may spend on jobs (APILLON_MCP_SPENDING_CAP).")
    spent: int = Field(description="Credits it spent since it started.")
    remaining: int


class CreditBalance(BaseModel):
    balance: int
    jobs_affordable: int = Field(
        description=f"Jobs the balance pays for at {JOB_PRICE_CREDITS} credits each, within the spending cap."
    )
    spending_cap: SpendingCap | None = Field(description="This server's own cap; null when none is set.")
    sandbox: bool = Field(description="The offline sandbox: play credits.")


async def get_credit_balance(ctx: ToolContext) -> Annotated[CallToolResult, CreditBalance]:
    """Show the project's credit balance (and this server's spending cap, if set). Each new job costs credits;
    everything else here is free."""
    state = app_state(ctx)
    balance = await apillon(ctx).get_credit_balance()
    cap = state.spending.status()
    affordable = max(0, balance // JOB_PRICE_CREDITS)
    if cap is not None:
        affordable = min(affordable, cap.remaining // JOB_PRICE_CREDITS)
    data = CreditBalance(
        balance=balance,
        jobs_affordable=affordable,
        spending_cap=None if cap is None else SpendingCap(limit=cap.limit, spent=cap.spent, remaining=cap.remaining),
        sandbox=state.sandbox is not None,
    )
    lines = [
        f"Credit balance: {balance} credits, enough for {plural(affordable, 'new job')} at {JOB_PRICE_CREDITS} "
        "credits each (Apillon's listed price)."
        + (" These are the offline sandbox's play credits." if state.sandbox is not None else "")
    ]
    if cap is not None:
        lines.append(
            f"This server's spending cap: {cap.limit} credits, {cap.spent} spent since it started, {cap.remaining} "
            "left."
        )
    lines.append("Creating functions, setting variables, deleting jobs and calling gateways are free.")
    return result("\n".join(lines), data)


TOOLS = (ToolSpec(get_credit_balance, "Get the project's credit balance", READ, needs=()),)
