"""The project's credit balance: what deploying jobs costs."""

from __future__ import annotations

from typing import Annotated

from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from apillon_mcp.context import ToolContext, apillon
from apillon_mcp.tools.common import READ, plural, result
from apillon_mcp.tools.spec import ToolSpec

# Apillon's listed price of one job (product COMPUTING_JOB_CREATE); the live price may differ.
JOB_PRICE_CREDITS = 100


class CreditBalance(BaseModel):
    balance: int
    jobs_affordable: int = Field(description=f"Jobs the balance pays for at {JOB_PRICE_CREDITS} credits each.")


async def get_credit_balance(ctx: ToolContext) -> Annotated[CallToolResult, CreditBalance]:
    """Show the project's credit balance. Each new job costs credits; everything else here is free."""
    balance = await apillon(ctx).get_credit_balance()
    data = CreditBalance(balance=balance, jobs_affordable=max(0, balance // JOB_PRICE_CREDITS))
    jobs = plural(data.jobs_affordable, "new job")
    summary = (
        f"Credit balance: {balance} credits, enough for {jobs} at {JOB_PRICE_CREDITS} credits each (Apillon's "
        "listed price). Creating functions, setting variables, deleting jobs and calling gateways are free."
    )
    return result(summary, data)


TOOLS = (ToolSpec(get_credit_balance, "Get the project's credit balance", READ, needs=()),)
