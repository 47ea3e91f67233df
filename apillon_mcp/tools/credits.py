"""Paying for a job: whether the project and this server can, and the one call that spends.

Creating a job is the only thing here that costs credits. The balance and the server's own cap are checked
before anything is uploaded or created, so a refused job costs nothing. When Apillon still refuses the job with its
generic 500001, the balance is read again: on the real service too few credits surface exactly that way
(apillon-api.md, Corrections 1), and so does a CID it cannot convert.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcp.server.mcpserver.exceptions import ToolError

from apillon_mcp.apillon import ApillonAPIError, ApillonClient, ApillonError, Job
from apillon_mcp.context import AppState, ToolContext, apillon, app_state
from apillon_mcp.spending import CapReached
from apillon_mcp.tools.errors import apillon_said

CHECK_FOR_NEW_JOB = (
    "Look for a job with this name in get_cloud_function before creating it again: a second job would spend credits "
    "again."
)
# Apillon's listed price of one job (product COMPUTING_JOB_CREATE); the live price may differ.
JOB_PRICE_CREDITS = 100
_UNHANDLED = 500001


@dataclass(frozen=True)
class Paid:
    job: Job
    spent: int | None
    """Balance before minus after, when both could be read."""
    balance: int | None
    """The balance after the job was created."""


async def balance_or_none(client: ApillonClient) -> int | None:
    try:
        return await client.get_credit_balance()
    except ApillonError:
        return None


def too_few_credits(balance: int, state: AppState) -> str:
    how = (
        f"This is the offline sandbox, whose credits are play money: {state.sandbox.top_up}."
        if state.sandbox is not None
        else "Top up the project's credits in the Apillon dashboard."
    )
    return (
        f"too few credits: the project has {balance} and a job costs {JOB_PRICE_CREDITS} (Apillon's listed price). "
        f"{how} Then try again."
    )


async def funding_problem(ctx: ToolContext) -> tuple[str | None, int | None]:
    """(what stops this server from paying for one job, or None; the balance, when it could be read)."""
    state = app_state(ctx)
    try:
        state.spending.check(JOB_PRICE_CREDITS)
    except CapReached as cap:
        return f"{cap}. Raise the cap in the server's configuration or restart the server to reset its count.", None
    balance = await balance_or_none(apillon(ctx))
    if balance is not None and balance < JOB_PRICE_CREDITS:
        return too_few_credits(balance, state), balance
    return None, balance


async def require_funds(ctx: ToolContext) -> int | None:
    """The balance (None if unreadable); a ToolError, with nothing done, when one job cannot be paid for."""
    problem, balance = await funding_problem(ctx)
    if problem is not None:
        raise ToolError(f"Refused before anything was created or charged: {problem}")
    return balance


async def create_paid_job(
    ctx: ToolContext, function_uuid: str, *, name: str, script_cid: str, slots: int, balance_before: int | None
) -> Paid:
    """Create the job within the server's cap; `ApillonError` passes through, except a 500001 explained."""
    state = app_state(ctx)
    client = apillon(ctx)
    try:
        reservation = state.spending.reserve(JOB_PRICE_CREDITS)
    except CapReached as cap:
        raise ToolError(f"Refused before anything was created or charged: {cap}.") from None
    try:
        job = await client.create_job(function_uuid, name=name, script_cid=script_cid, slots=slots)
    except ApillonError as error:
        if not error.outcome_unknown:
            reservation.release()
        if isinstance(error, ApillonAPIError) and error.code == _UNHANDLED:
            raise ToolError(await _refused_job(state, client, error, script_cid)) from error
        raise
    after = await balance_or_none(client)
    state.jobs.remember(job.function_uuid, [job])
    spent = balance_before - after if balance_before is not None and after is not None else None
    return Paid(job=job, spent=spent, balance=after)


async def _refused_job(state: AppState, client: ApillonClient, error: ApillonAPIError, script_cid: str) -> str:
    head = apillon_said(error)
    balance = await balance_or_none(client)
    if balance is not None and balance < JOB_PRICE_CREDITS:
        return f"{head} Nothing was created or charged: {too_few_credits(balance, state)}"
    known = f" The balance is {balance} credits, enough for a job, so" if balance is not None else ""
    return (
        f"{head} Nothing was created or charged.{known} Apillon most likely could not convert script_cid "
        f"{script_cid} to a CIDv0: it needs the dag-pb CID of the uploaded file (Qm... or bafybei...), not a raw "
        "CID (bafkrei...). deploy_cloud_function_script uploads a script and uses the right CID."
    )
